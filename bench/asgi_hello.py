"""The ceiling for bench/gateway.py: a bare raw-ASGI hello world (no emulation at all).

Served by ``uvicorn bench.asgi_hello:app --workers 1`` (uvloop + httptools), the same server
stack the apicanary gateway runs on. ``app_chunked`` is the same response without a
Content-Length header, so uvicorn frames it with chunked transfer encoding (a diagnostic row).
"""

from __future__ import annotations

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
