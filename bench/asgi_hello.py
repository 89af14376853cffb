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

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_BODY = b'{"message": "hello world"}'
_BURN_BODY = b'{"message": "burnt 1 ms"}'
_JSON = (b"content-type", b"application/json")


def _burn(seconds: float = 0.001) -> int:
    """The work of bench/projects/burn's handler: 1 ms of this thread's CPU."""
    end = time.thread_time() + seconds
    n = 0
    while time.thread_time() < end:
        n += 1
    return n


def _fixed_answer(body: bytes, *, content_length: bool = True, burn: bool = False) -> App:
    """An app answering every HTTP request 200 with ``body`` (JSON), with or without a
    Content-Length header, after 1 ms of CPU when ``burn``. The headers are built once."""
    headers = [_JSON, (b"content-length", str(len(body)).encode())] if content_length else [_JSON]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if burn:
            _burn()
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


app = _fixed_answer(_BODY)
app_chunked = _fixed_answer(_BODY, content_length=False)
#: the 1 ms CPU handler's work, on the event loop (no gateway, no worker process)
app_burn = _fixed_answer(_BURN_BODY, burn=True)
