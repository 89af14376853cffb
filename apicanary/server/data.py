"""The gateway's ASGI app: the hot path, so raw ASGI and no framework.

It reads the request (method, raw path, headers as latin-1 text pairs, query string, body,
client address) into a :class:`GatewayRequest`, asks :class:`Gateway` for the reply, and
writes it. Bodies above API Gateway's 10 MB payload quota are refused with 413 before they
are read whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from apicanary.engine.gateway.gateway import Gateway
from apicanary.engine.gateway.messages import GatewayRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 10 * 1024 * 1024
_TOO_LARGE = b'{"message":"Request Too Long"}'


class GatewayApp:
    """ASGI application serving ``gateway``."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY_BYTES:
                await _send(send, 413, ((b"content-type", b"application/json"),), _TOO_LARGE)
                return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        host = None
        for name, value in headers:
            if name == "host":
                host = value
                break
        client = scope.get("client")
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        path = path.partition("?")[0]
        request = GatewayRequest(
            method=scope["method"],
            path=path,
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=bytes(body),
            source_ip=client[0] if client else "127.0.0.1",
            host=host,
        )
        reply = await self.gateway.handle(request)
        await _send(send, reply.status, reply.headers, reply.body)


async def _send(
    send: Send, status: int, headers: tuple[tuple[bytes, bytes], ...], body: bytes
) -> None:
    # Content-Length, as API Gateway sends it (never chunked): the parser already dropped any
    # framing header the function returned, so this is the only one
    framed = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": framed})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
