"""Start the real local engine as ``apicanary serve`` in a child process, on free ports.

A separate process, as users run it: the server and the test's client do not share a GIL,
and a test sees exactly what a user would (the ready message, the exit code, the ports).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from apicanary.server.process import ServerProcess, spawn_server

__all__ = ["ServerProcess", "aws_client", "running_server"]


@contextmanager
def running_server(
    state_dir: Path,
    template: Path | None = None,
    *,
    seed: int | None = 1,
    extra_env: dict[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[ServerProcess]:
    """A started ``apicanary serve`` (``extra_args``: more options); stopped with SIGTERM
    (workers included) on exit."""
    server = spawn_server(
        state_dir, template, seed=seed, extra_env=extra_env, extra_args=extra_args
    )
    try:
        yield server
    finally:
        server.stop()


def aws_client(server: ServerProcess, service: str) -> Any:
    """A boto3 client of ``service`` on the server's AWS-compatible control port."""
    return boto3.client(
        service,
        endpoint_url=server.control_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
