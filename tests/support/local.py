"""Start the real local engine as ``apicanary serve`` in a child process, on free ports.

A separate process, as users run it: the server and the test's client do not share a GIL,
and a test sees exactly what a user would (the ready message, the exit code, the ports).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.servers import free_port


@dataclass
class ServerProcess:
    """A running ``apicanary serve``: its URLs, its ready message, and the process."""

    process: subprocess.Popen[str]
    gateway_url: str
    control_url: str
    info: dict[str, Any]
    state_dir: Path

    def api_id(self, name: str) -> str:
        for api in self.info["provisioned"]["apis"]:
            if name in (api["name"], api["logical_id"]):
                return str(api["api_id"])
        raise KeyError(name)


def serve_command(
    state_dir: Path, template: Path | None, gateway_port: int, control_port: int, seed: int | None
) -> list[str]:
    command = [
        sys.executable, "-m", "apicanary", "serve", "--output", "json",
        "--state-dir", str(state_dir), "--port", str(gateway_port),
        "--control-port", str(control_port),
    ]  # fmt: skip
    if template is not None:
        command += ["--template", str(template)]
    if seed is not None:
        command += ["--seed", str(seed)]
    return command


def read_ready(process: subprocess.Popen[str], timeout: float = 60.0) -> dict[str, Any]:
    """Read the JSON ready message ``serve --output json`` prints when both ports listen."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        text += line
        try:
            parsed: dict[str, Any] = json.loads(text)
            return parsed
        except json.JSONDecodeError:
            continue
    stderr = process.stderr.read() if process.stderr else ""
    raise RuntimeError(f"serve did not become ready (exit {process.poll()}): {text}{stderr}")


@contextmanager
def running_server(
    state_dir: Path,
    template: Path | None = None,
    *,
    seed: int | None = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[ServerProcess]:
    """A started ``apicanary serve``; stopped with SIGTERM (workers included) on exit."""
    gateway_port, control_port = free_port(), free_port()
    env = {**os.environ, **(extra_env or {})}
    process = subprocess.Popen(
        serve_command(state_dir, template, gateway_port, control_port, seed),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        info = read_ready(process)
        yield ServerProcess(
            process,
            f"http://127.0.0.1:{gateway_port}",
            f"http://127.0.0.1:{control_port}",
            info,
            state_dir,
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
