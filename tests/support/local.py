"""Start the real local engine as ``apicanary serve`` in a child process, on free ports.

A separate process, as users run it: the server and the test's client do not share a GIL,
and a test sees exactly what a user would (the ready message, the exit code, the ports).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apicanary.server.process import ServerProcess, spawn_server

__all__ = ["ServerProcess", "running_server"]


@contextmanager
def running_server(
    state_dir: Path,
    template: Path | None = None,
    *,
    seed: int | None = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[ServerProcess]:
    """A started ``apicanary serve``; stopped with SIGTERM (workers included) on exit."""
    server = spawn_server(state_dir, template, seed=seed, extra_env=extra_env)
    try:
        yield server
    finally:
        server.stop()
