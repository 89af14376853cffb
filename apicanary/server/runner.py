"""Run the gateway and the control plane as two uvicorn servers in one event loop.

One process and one loop: the gateway, the control API and the rollout scheduler share the
engine's in-memory state with no locking beyond the loop itself. Signals are handled once
here (SIGINT/SIGTERM stop both servers gracefully, a second SIGINT forces it).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

import uvicorn

from apicanary.errors import BadInputError


@dataclass(frozen=True)
class Listener:
    """One server to run: an ASGI app on host:port."""

    name: str
    app: Any
    host: str
    port: int


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve_all`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_all(
    listeners: list[Listener],
    *,
    on_ready: Callable[[], Awaitable[None] | None] | None = None,
    stop: asyncio.Event | None = None,
    log_level: str = "warning",
    on_stopping: Callable[[], None] | None = None,
) -> None:
    """Serve every listener until a signal arrives or ``stop`` is set; ``on_stopping`` is
    called when stopping begins (long-lived responses, such as Live Tail streams, end then
    instead of holding the graceful shutdown)."""
    servers = [
        _QuietServer(
            uvicorn.Config(
                listener.app,
                host=listener.host,
                port=listener.port,
                log_level=log_level,
                lifespan="off",
                access_log=False,
                server_header=False,
                timeout_graceful_shutdown=5,
            )
        )
        for listener in listeners
    ]
    sockets = [bind_socket(listener) for listener in listeners]
    loop = asyncio.get_running_loop()

    def request_exit() -> None:
        if on_stopping is not None:
            on_stopping()
        for server in servers:
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True

    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, request_exit)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    tasks = [
        asyncio.create_task(server.serve(sockets=[sock]))
        for server, sock in zip(servers, sockets, strict=True)
    ]
    try:
        while not all(server.started for server in servers):
            if any(task.done() for task in tasks):
                for task in tasks:
                    if task.done() and task.exception():
                        raise task.exception()  # type: ignore[misc]
                raise OSError("a server stopped during start-up (is the port in use?)")
            await asyncio.sleep(0.01)
        if on_ready is not None:
            result = on_ready()
            if result is not None:
                await result
        if stop is not None:
            await stop.wait()
            request_exit()
        await asyncio.gather(*tasks)
    finally:
        request_exit()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in installed:
            loop.remove_signal_handler(sig)


def bind_socket(listener: Listener) -> socket.socket:
    """Bind ``listener``'s address now, so a taken port is a clear error, not a dead task."""
    family = socket.AF_INET6 if ":" in listener.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listener.host, listener.port))
    except OSError as exc:
        sock.close()
        raise BadInputError(
            f"cannot listen on {listener.host}:{listener.port} for the {listener.name}: "
            f"{exc.strerror}",
            hint=f"choose another port (--{listener.name}-port) or stop what is using it",
        ) from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock
