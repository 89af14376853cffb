"""Run ``apicanary serve`` as a child process and wait until it is ready.

Used by the demo (which drives a real server, as a user would) and by the tests. The child
prints its JSON ready message (``--output json``) once both ports listen; it is stopped with
SIGTERM, which stops its workers too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apicanary.errors import PlatformError


def free_port() -> int:
    """A free TCP port on loopback (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """A running ``apicanary serve``: its URLs, its ready message, and the process."""

    process: subprocess.Popen[str]
    gateway_url: str
    control_url: str
    info: dict[str, Any]
    state_dir: Path
    stderr_path: Path | None = None

    def stderr(self) -> str:
        """What the server wrote to stderr so far (tracebacks, warnings)."""
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(errors="replace")

    def api_id(self, name: str) -> str:
        """The id of the provisioned API named (or with logical id) ``name``."""
        for api in self.info["provisioned"]["apis"]:
            if name in (api["name"], api["logical_id"]):
                return str(api["api_id"])
        raise KeyError(name)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.stderr_path is not None:
            self.stderr_path.unlink(missing_ok=True)
        return self.process.returncode


def serve_command(
    state_dir: Path,
    template: Path | None,
    gateway_port: int,
    control_port: int,
    seed: int | None = None,
    extra_args: Sequence[str] = (),
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
    return [*command, *extra_args]


def spawn_server(
    state_dir: Path,
    template: Path | None = None,
    *,
    seed: int | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 60.0,
    extra_args: Sequence[str] = (),
) -> ServerProcess:
    """Start ``apicanary serve`` (with ``extra_args``) on two free ports; return once it is
    ready."""
    gateway_port, control_port = free_port(), free_port()
    # stderr goes to a file, never an unread pipe: a pipe that fills (64 KB of tracebacks)
    # would block the server's event loop on its next write
    fd, name = tempfile.mkstemp(prefix="apicanary-serve-", suffix=".stderr")
    stderr_path = Path(name)
    with os.fdopen(fd, "w") as stderr_file:
        process = subprocess.Popen(
            serve_command(state_dir, template, gateway_port, control_port, seed, extra_args),
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
            env={**os.environ, **(extra_env or {})},
        )
    try:
        info = read_ready(process, timeout, stderr_path)
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        raise
    return ServerProcess(
        process,
        f"http://127.0.0.1:{gateway_port}",
        f"http://127.0.0.1:{control_port}",
        info,
        state_dir,
        stderr_path,
    )


def read_ready(
    process: subprocess.Popen[str], timeout: float, stderr_path: Path | None = None
) -> dict[str, Any]:
    """The JSON ready message a ``serve --output json`` child prints on its stdout."""
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
    stderr = ""
    if stderr_path is not None and stderr_path.exists():
        stderr = stderr_path.read_text(errors="replace")
    raise PlatformError(
        f"apicanary serve did not become ready (exit {process.poll()}): {text.strip()} "
        f"{stderr.strip()}"
    )
