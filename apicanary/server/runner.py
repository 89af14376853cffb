"""Run the gateway and the control plane in one event loop.

One process and one loop: the gateway, the control API and the rollout scheduler share the
engine's in-memory state with no locking beyond the loop itself. The control plane is an ASGI
app under uvicorn; the gateway is a raw protocol server (:class:`RawServer`, see
``server/data.py``). Signals are handled once here (SIGINT/SIGTERM stop every server
gracefully, a second SIGINT forces it).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import uvicorn

from apicanary.errors import BadInputError


@runtime_checkable
class RawServer(Protocol):
    """A server that runs its own protocol on a bound socket instead of an ASGI app."""

    async def start(self, sock: socket.socket) -> None: ...

    async def stop(self, grace_s: float = 5.0) -> None: ...


@dataclass(frozen=True)
class Listener:
    """One server to run: an ASGI app (or a :class:`RawServer`) on host:port."""

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
    sockets = [bind_socket(listener) for listener in listeners]
    raw = [
        (listener.app, sock)
        for listener, sock in zip(listeners, sockets, strict=True)
        if isinstance(listener.app, RawServer)
    ]
    asgi = [
        (listener, sock)
        for listener, sock in zip(listeners, sockets, strict=True)
        if not isinstance(listener.app, RawServer)
    ]
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
                # the client's own X-Forwarded-* must not replace its address: API Gateway
                # reports the connecting address as sourceIp and appends it to them
                proxy_headers=False,
                timeout_graceful_shutdown=5,
            )
        )
        for listener, _ in asgi
    ]
    loop = asyncio.get_running_loop()
    exiting = asyncio.Event()

    def request_exit() -> None:
        exiting.set()
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
        for server, (_, sock) in zip(servers, asgi, strict=True)
    ]
    try:
        for server_, sock in raw:
            await server_.start(sock)
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
        if tasks:
            await asyncio.gather(*tasks)
        else:
            await exiting.wait()
    finally:
        request_exit()
        await asyncio.gather(
            *tasks, *(server_.stop(5.0) for server_, _ in raw), return_exceptions=True
        )
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
