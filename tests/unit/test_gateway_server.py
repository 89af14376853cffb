"""The gateway's HTTP server on a real loopback socket, with a stand-in dispatcher."""

from __future__ import annotations

import asyncio
import socket

from apicanary.engine.gateway.messages import GatewayReply, GatewayRequest
from apicanary.server.data import GatewayServer


class _Echo:
    """Answers at once with the request's path; ``hold`` makes answers wait for a release."""

    def __init__(self) -> None:
        self.hold: asyncio.Future[None] | None = None
        self.seen: list[GatewayRequest] = []

    def dispatch(self, request: GatewayRequest) -> asyncio.Future[GatewayReply]:
        self.seen.append(request)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[GatewayReply] = loop.create_future()
        reply = GatewayReply(200, ((b"content-type", b"text/plain"),), request.path.encode())
        if self.hold is None:
            answer.set_result(reply)
        else:
            self.hold.add_done_callback(lambda _: answer.set_result(reply))
        return answer


async def _serve(server: GatewayServer) -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    await server.start(sock)
    port: int = sock.getsockname()[1]
    return port


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return await reader.readexactly(length)


def test_idle_keep_alive_connections_are_closed_by_the_sweep() -> None:
    async def scenario() -> None:
        server = GatewayServer(_Echo(), keep_alive_s=0.2)
        port = await _serve(server)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n")
        assert await _read_response(reader) == b"/a"
        assert len(server.connections) == 1
        # idle from now on: the next sweeps (one a second) close it
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""
        await asyncio.sleep(0.05)
        assert not server.connections
        writer.close()
        await server.stop(grace_s=1)

    asyncio.run(scenario())


def test_stop_lets_an_answer_in_flight_finish_then_closes() -> None:
    async def scenario() -> None:
        gateway = _Echo()
        gateway.hold = asyncio.get_running_loop().create_future()
        server = GatewayServer(gateway)
        port = await _serve(server)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        while not gateway.seen:
            await asyncio.sleep(0.01)
        stopping = asyncio.ensure_future(server.stop(grace_s=5))
        await asyncio.sleep(0.1)
        assert not stopping.done()  # the answer is still owed
        gateway.hold.set_result(None)
        assert await _read_response(reader) == b"/slow"
        await asyncio.wait_for(stopping, timeout=5)
        assert await reader.read() == b""
        assert gateway.seen[0].query_string == "" and gateway.seen[0].host == "h"
        writer.close()

    asyncio.run(scenario())


class _Broken(_Echo):
    def dispatch(self, request: GatewayRequest) -> asyncio.Future[GatewayReply]:
        if request.path == "/bug":
            raise RuntimeError("a bug in the gateway")
        return super().dispatch(request)


def test_a_gateway_bug_is_a_500_and_the_connection_goes_on() -> None:
    async def scenario() -> None:
        server = GatewayServer(_Broken())
        port = await _serve(server)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /bug HTTP/1.1\r\nHost: h\r\n\r\nGET /ok HTTP/1.1\r\nHost: h\r\n\r\n")
        assert await _read_response(reader) == b'{"message":"Internal server error"}'
        assert await _read_response(reader) == b"/ok"
        writer.close()
        await server.stop(grace_s=1)

    asyncio.run(scenario())
