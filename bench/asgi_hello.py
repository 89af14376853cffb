"""The ceiling for bench/gateway.py: a bare raw-ASGI hello world (no emulation at all).

Served by ``uvicorn bench.asgi_hello:app --workers 1`` (uvloop + httptools), the same server
stack the apicanary gateway runs on. ``app_chunked`` is the same response without a
Content-Length header, so uvicorn frames it with chunked transfer encoding (a diagnostic row).
``app_burn`` spends 1 ms of CPU per request first, like bench/projects/burn's handler.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

_BODY = b'{"message": "hello world"}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"26")]


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})


_HEADERS_NO_LENGTH = [(b"content-type", b"application/json")]


async def app_chunked(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS_NO_LENGTH})
    await send({"type": "http.response.body", "body": _BODY})


_BURN_BODY = b'{"message": "burnt 1 ms"}'
_BURN_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"25")]


def _burn(seconds: float = 0.001) -> int:
    """The work of bench/projects/burn's handler: 1 ms of this thread's CPU."""
    end = time.thread_time() + seconds
    n = 0
    while time.thread_time() < end:
        n += 1
    return n


async def app_burn(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    """The 1 ms CPU handler's work, on the event loop (no gateway, no worker process)."""
    if scope["type"] != "http":
        return
    _burn()
    await send({"type": "http.response.start", "status": 200, "headers": _BURN_HEADERS})
    await send({"type": "http.response.body", "body": _BURN_BODY})
