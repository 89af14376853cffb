"""The gateway's HTTP/1.1 server: a raw asyncio protocol over httptools (the hot path).

Why not ASGI: under uvicorn, the ASGI layer (scope dicts, receive/send coroutines, message
dicts, a task per request) cost more per request than the whole gateway decision. This
protocol reads a request straight into a :class:`GatewayRequest` (method, raw path, headers as
lower-cased latin-1 text pairs, query string, body, client address), hands it to
:meth:`Gateway.dispatch` and writes the reply with one ``transport.write``.

HTTP behaviour (what uvicorn did before, kept):

* keep-alive for HTTP/1.1 (``Connection: close`` honoured; HTTP/1.0 closes after the answer),
  idle connections closed after :data:`KEEP_ALIVE_S` (checked by one sweep a second for all
  connections, not a timer per request);
* pipelining: requests of one connection are answered in order, one in the gateway at a time;
* request bodies by ``Content-Length`` or chunked; ``Expect: 100-continue`` is answered
  ``100 Continue`` once the answers to earlier pipelined requests are out;
* bodies above API Gateway's 10 MB payload quota are answered 413 ``Request Too Long`` and
  the connection closed: right away for ``Expect: 100-continue`` (no body is sent), else
  after the body was read and dropped (up to 40 MB), so that a client still sending reads
  the answer rather than a reset;
* headers above :data:`MAX_HEADER_BYTES` in all are answered 431, a request httptools cannot
  parse 400, both closing the connection;
* answers carry ``date`` and ``content-length`` (never chunked, as API Gateway answers);
  HEAD answers carry no body.

Over 400 lines because the parser callbacks, the in-order answering and the flow control
share one connection's state; they are one protocol object.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import deque
from email.utils import formatdate
from http import HTTPStatus
from typing import Protocol

import httptools

from apicanary.engine.gateway.messages import GatewayReply, GatewayRequest

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
"""Generous (API Gateway's own quota is 10 KB of request line and headers): the limit only
guards the server's memory; the local gateway does not emulate AWS's quota."""
KEEP_ALIVE_S = 5.0
_SWEEP_S = 1.0
_DISCARD_LIMIT = 4 * MAX_BODY_BYTES
MAX_PIPELINED = 64
"""Requests one connection may have waiting; beyond it the server stops reading from it."""

_JSON = ((b"content-type", b"application/json"),)
_TOO_LARGE = GatewayReply(413, _JSON, b'{"message":"Request Too Long"}')
_BAD_REQUEST = GatewayReply(400, _JSON, b'{"message":"Bad Request"}')
_HEADERS_TOO_LARGE = GatewayReply(431, _JSON, b'{"message":"Request Header Fields Too Large"}')
_INTERNAL_ERROR = GatewayReply(500, _JSON, b'{"message":"Internal server error"}')
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

log = logging.getLogger(__name__)


def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")


_STATUS_LINES = {status: _status_line(status) for status in range(100, 600)}


class _Date:
    """The ``date`` header line, encoded once per second."""

    second = -1
    line = b""

    @classmethod
    def now(cls) -> bytes:
        second = int(time.time())
        if second != cls.second:
            cls.second = second
            cls.line = b"date: " + formatdate(second, usegmt=True).encode() + b"\r\n"
        return cls.line


class _Pending:
    """A request read off the wire and waiting for its turn (or a fixed answer for it)."""

    __slots__ = ("head", "keep_alive", "reply", "request")

    def __init__(
        self,
        request: GatewayRequest | None,
        reply: GatewayReply | None,
        keep_alive: bool,
        head: bool,
    ) -> None:
        self.request = request
        self.reply = reply
        self.keep_alive = keep_alive
        self.head = head


class Dispatcher(Protocol):
    """What the server needs of the gateway (:meth:`Gateway.dispatch`)."""

    def dispatch(self, request: GatewayRequest) -> asyncio.Future[GatewayReply]: ...


class GatewayServer:
    """Serves ``gateway`` on sockets; tracks connections for idle closing and a graceful stop."""

    def __init__(self, gateway: Dispatcher, *, keep_alive_s: float = KEEP_ALIVE_S) -> None:
        self.gateway = gateway
        self.keep_alive_s = keep_alive_s
        self.connections: set[GatewayProtocol] = set()
        self._servers: list[asyncio.Server] = []
        self._sweeper: asyncio.TimerHandle | None = None

    def add(self, connection: GatewayProtocol) -> None:
        self.connections.add(connection)
        if self._sweeper is None:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(_SWEEP_S, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close connections idle for ``keep_alive_s``; again in a second while any."""
        self._sweeper = None
        since = loop.time() - self.keep_alive_s
        for connection in list(self.connections):
            connection.close_if_idle(since)
        if self.connections:
            self._sweeper = loop.call_later(_SWEEP_S, self._sweep, loop)

    async def start(self, sock: socket.socket) -> None:
        """Start accepting on the bound, listening ``sock``."""
        loop = asyncio.get_running_loop()
        self._servers.append(await loop.create_server(lambda: GatewayProtocol(self), sock=sock))

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop accepting; let answers in flight finish for up to ``grace_s``; close all."""
        for server in self._servers:
            server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in list(self.connections):
            connection.close_when_idle()
        deadline = time.monotonic() + grace_s
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for connection in list(self.connections):
            connection.abort()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()


class GatewayProtocol(asyncio.Protocol):
    """One client connection; see the module docstring for the HTTP behaviour."""

    def __init__(self, server: GatewayServer) -> None:
        self._server = server
        self._gateway = server.gateway
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._client = "127.0.0.1"
        self._queue: deque[_Pending] = deque()
        self._busy = False  # a request of this connection is in the gateway
        self._closing = False  # close once what is queued is answered
        self._read_paused = False
        self._write_paused = False
        self.idle_since: float | None = None  # loop time the connection went idle
        # the message being read
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._header_bytes = 0
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._rejected: GatewayReply | None = None
        self._expect_continue = False
        self._continue_owed = False
        self._length: int | None = None

    # -- connection -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self._client = str(peer[0])
        self._server.add(self)
        self.idle_since = self._loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._transport = None
        self._queue.clear()

    def data_received(self, data: bytes) -> None:
        self.idle_since = None
        if self._closing:
            return  # an error answer is on its way; the rest of the stream is ignored
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # no protocol switch here: the request itself is answered, then the connection
            # closed
            self._closing = True
            if not self._busy:
                self._next()
        except httptools.HttpParserError:
            self._closing = True
            self._enqueue(_Pending(None, self._rejected or _BAD_REQUEST, False, False))

    def pause_writing(self) -> None:
        self._write_paused = True
        self._pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        if len(self._queue) < MAX_PIPELINED:
            self._resume_reading()

    def close_when_idle(self) -> None:
        """For a graceful stop: close now if nothing is pending, else after the answers."""
        self._closing = True
        if not self._busy and not self._queue and self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # -- httptools callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._header_bytes = 0
        self._body = []
        self._body_bytes = 0
        self._rejected = None
        self._expect_continue = False
        self._continue_owed = False
        self._length = None

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._header_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > MAX_HEADER_BYTES:
            self._rejected = _HEADERS_TOO_LARGE
            raise httptools.HttpParserError("header fields too large")
        lowered = name.lower()
        if lowered == b"content-length":
            try:
                self._length = int(value)
            except ValueError:
                self._length = None  # httptools refuses the message itself
        elif lowered == b"expect" and value.lower() == b"100-continue":
            self._expect_continue = True
        self._headers.append((lowered.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        length = self._length
        if length is not None and length > MAX_BODY_BYTES:
            self._rejected = _TOO_LARGE
            if self._expect_continue or length > _DISCARD_LIMIT:
                # refuse before the body is sent: answer 413 and close
                raise httptools.HttpParserCallbackError("body too large")
        elif self._expect_continue:
            # the client waits for this before it sends the body; owed until the answers to
            # earlier pipelined requests are out, so that the wire stays in order
            self._continue_owed = True
            if not self._busy and not self._queue:
                self._send_continue()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._rejected is None:
            if self._body_bytes <= MAX_BODY_BYTES:
                self._body.append(body)
                return
            self._rejected = _TOO_LARGE
            self._body = []
        # an over-large body is read and dropped, so that the client, still sending, reads
        # the 413 rather than a reset connection; up to a point
        if self._body_bytes > _DISCARD_LIMIT:
            raise httptools.HttpParserCallbackError("body too large")

    def on_message_complete(self) -> None:
        if self._rejected is not None:
            self._enqueue(_Pending(None, self._rejected, False, False))
            self._closing = True
            return
        parser = self._parser
        method = parser.get_method().decode("ascii")
        url = self._url
        if url[:1] == b"/" and b"#" not in url:
            path, _, query = url.partition(b"?")
        else:
            parsed = httptools.parse_url(url)
            path, query = parsed.path or b"/", parsed.query or b""
        headers = self._headers
        host = None
        for name, value in headers:
            if name == "host":
                host = value
                break
        body = self._body
        request = GatewayRequest(
            method=method,
            path=path.decode("latin-1"),
            query_string=query.decode("latin-1"),
            headers=headers,
            body=body[0] if len(body) == 1 else b"".join(body),
            source_ip=self._client,
            host=host,
        )
        keep_alive = parser.get_http_version() != "1.0" and parser.should_keep_alive()
        pending = _Pending(request, None, keep_alive, method == "HEAD")
        self._enqueue(pending)

    # -- answering ------------------------------------------------------------------------

    def _enqueue(self, pending: _Pending) -> None:
        self._queue.append(pending)
        if len(self._queue) >= MAX_PIPELINED:
            self._pause_reading()
        if not self._busy:
            self._next()

    def _next(self) -> None:
        """Start the oldest queued request, or answer it at once if it needs no invocation."""
        queue = self._queue
        while queue and not self._busy and self._transport is not None:
            pending = queue[0]
            if pending.reply is not None:
                queue.popleft()
                self._write(pending.reply, pending.keep_alive, pending.head)
                continue
            assert pending.request is not None
            try:
                answer = self._gateway.dispatch(pending.request)
            except Exception:  # a bug in the gateway must not kill the connection silently
                log.exception("the gateway failed on %s", pending.request.path)
                queue.popleft()
                self._write(_INTERNAL_ERROR, pending.keep_alive, pending.head)
                continue
            if answer.done():
                queue.popleft()
                self._write(answer.result(), pending.keep_alive, pending.head)
                continue
            self._busy = True
            answer.add_done_callback(self._on_answer)
        if not self._busy and not queue:
            if self._continue_owed:
                self._send_continue()
            if self._closing and self._transport is not None:
                self._transport.close()
            else:
                self.idle_since = self._loop.time()
        if len(queue) < MAX_PIPELINED and not self._write_paused:
            self._resume_reading()

    def _send_continue(self) -> None:
        self._continue_owed = False
        if self._transport is not None:
            self._transport.write(_CONTINUE)

    def _on_answer(self, answer: asyncio.Future[GatewayReply]) -> None:
        self._busy = False
        if not self._queue:
            return  # the connection was lost meanwhile
        pending = self._queue.popleft()
        self._write(answer.result(), pending.keep_alive, pending.head)
        self._next()

    def _write(self, reply: GatewayReply, keep_alive: bool, head: bool) -> None:
        transport = self._transport
        if transport is None:
            return
        body = reply.body
        parts = [_STATUS_LINES.get(reply.status) or _status_line(reply.status), _Date.now()]
        for name, value in reply.headers:
            parts += (name, b": ", value, b"\r\n")
        parts.append(b"content-length: %d\r\n" % len(body))
        if not keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        if body and not head:
            parts.append(body)
        transport.write(b"".join(parts))
        if not keep_alive:
            self._closing = True
            self._queue.clear()
            transport.close()

    # -- flow control ---------------------------------------------------------------------

    def _pause_reading(self) -> None:
        if not self._read_paused and self._transport is not None:
            self._read_paused = True
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._read_paused and self._transport is not None and not self._closing:
            self._read_paused = False
            self._transport.resume_reading()

    def close_if_idle(self, since: float) -> None:
        """Close the connection if it has been idle since before ``since`` (loop time)."""
        idle = self.idle_since
        idle_now = idle is not None and idle <= since and not self._busy and not self._queue
        if idle_now and self._transport is not None:
            self._transport.close()
