"""The gateway's HTTP/1.1 over raw sockets: pipelining, chunked bodies, 100-continue, limits.

One real ``apicanary serve`` for the module; every test speaks HTTP by hand so that what is
on the wire (order, framing, connection close) is what is asserted.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.canary_project import write_project
from tests.support.local import ServerProcess, running_server

TEN_MB = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("http")
    with running_server(root / "state", write_project(root / "project"), seed=3) as running:
        yield running


def _connect(server: ServerProcess) -> socket.socket:
    host, _, port = server.gateway_url.removeprefix("http://").partition(":")
    sock = socket.create_connection((host, int(port)), timeout=15)
    return sock


def _host(server: ServerProcess) -> str:
    return f"{server.api_id('canary-api')}.execute-api.localhost"


class _Reader:
    """Reads HTTP/1.1 responses (Content-Length framed, as the gateway always answers)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError(f"closed before a response head: {self.buf!r}")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def response(self, *, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        status, headers = self.head()
        length = 0 if head_only else int(headers["content-length"])
        while len(self.buf) < length:
            if not self._fill():
                raise ConnectionError("closed inside a body")
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def closed(self) -> bool:
        """True when the server closed the connection (EOF, or a reset after its answer)."""
        try:
            return not self._fill() and not self.buf
        except ConnectionResetError:
            return True


def _event(body: bytes) -> dict[str, object]:
    event: dict[str, object] = json.loads(body)["event"]
    return event


def test_pipelined_requests_are_answered_in_order_on_one_connection(
    server: ServerProcess,
) -> None:
    host = _host(server)
    requests = (
        f"GET /prod/echo/one?n=1 HTTP/1.1\r\nHost: {host}\r\n\r\n"
        f"GET /nostage HTTP/1.1\r\nHost: {host}\r\n\r\n"  # answered without an invocation
        f"POST /prod/echo/three HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n\r\nhello"
        f"GET /prod/echo/four HTTP/1.1\r\nHost: {host}\r\n\r\n"
    ).encode()
    with _connect(server) as sock:
        sock.sendall(requests)
        reader = _Reader(sock)
        answers = [reader.response() for _ in range(4)]
    assert [status for status, _, _ in answers] == [200, 403, 200, 200]
    assert _event(answers[0][2])["queryStringParameters"] == {"n": "1"}
    assert _event(answers[2][2])["path"] == "/echo/three"
    assert _event(answers[2][2])["body"] == "hello"
    assert _event(answers[3][2])["path"] == "/echo/four"
    assert all(h["content-length"] == str(len(b)) for _, h, b in answers)
    assert all("date" in h and "transfer-encoding" not in h for _, h, _ in answers)


def test_chunked_request_body_reaches_the_function_whole(server: ServerProcess) -> None:
    chunks = [b"abc", b"de" * 3000, b"f"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = (
        f"POST /prod/echo/chunked HTTP/1.1\r\nHost: {_host(server)}\r\n"
        "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
    ).encode()
    with _connect(server) as sock:
        sock.sendall(head)
        sock.sendall(body[:7])  # a chunk split across reads
        sock.sendall(body[7:])
        status, _, answer = _Reader(sock).response()
    assert status == 200
    assert _event(answer)["body"] == b"".join(chunks).decode()


def test_expect_100_continue_is_answered_before_the_body_is_sent(server: ServerProcess) -> None:
    head = (
        f"POST /prod/echo/expect HTTP/1.1\r\nHost: {_host(server)}\r\n"
        "Content-Length: 4\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    with _connect(server) as sock:
        sock.sendall(head)
        reader = _Reader(sock)
        status, _ = reader.head()
        assert status == 100
        sock.sendall(b"ping")
        status, _, answer = reader.response()
    assert status == 200
    assert _event(answer)["body"] == "ping"


def test_a_body_over_10_mb_announced_with_expect_is_refused_unsent(server: ServerProcess) -> None:
    head = (
        f"POST /prod/echo/big HTTP/1.1\r\nHost: {_host(server)}\r\n"
        f"Content-Length: {TEN_MB + 1}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    with _connect(server) as sock:
        sock.sendall(head)
        reader = _Reader(sock)
        status, headers, body = reader.response()
        assert status == 413
        assert json.loads(body) == {"message": "Request Too Long"}
        assert headers["connection"] == "close"
        assert reader.closed()


def test_a_body_over_10_mb_is_answered_413_and_one_at_the_limit_is_served(
    server: ServerProcess,
) -> None:
    url = f"{server.gateway_url}/prod/echo/big"
    headers = {"Host": _host(server), "Content-Type": "text/plain"}
    too_big = httpx.post(url, content=b"x" * (TEN_MB + 1), headers=headers, timeout=60)
    assert too_big.status_code == 413
    assert too_big.json() == {"message": "Request Too Long"}
    # chunked, so that only the bytes read can tell
    too_big_chunked = httpx.post(
        url, content=iter([b"y" * TEN_MB, b"z"]), headers=headers, timeout=60
    )
    assert too_big_chunked.status_code == 413
    ok = httpx.post(url, content=b"x" * 1024, headers=headers, timeout=60)
    assert ok.status_code == 200 and _event(ok.content)["body"] == "x" * 1024


def test_malformed_and_oversized_heads_are_refused_and_closed(server: ServerProcess) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /prod/echo HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        reader = _Reader(sock)
        status, headers, _ = reader.response()
        assert (status, headers["connection"]) == (400, "close")
        assert reader.closed()
    huge = "a" * 70_000
    with _connect(server) as sock:
        sock.sendall(f"GET /prod/echo HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n".encode())
        reader = _Reader(sock)
        status, _, _ = reader.response()
        assert status == 431
        assert reader.closed()


def test_http_1_0_and_connection_close_end_the_connection(server: ServerProcess) -> None:
    for request in (
        f"GET /prod/echo/old HTTP/1.0\r\nHost: {_host(server)}\r\n\r\n",
        f"GET /prod/echo/bye HTTP/1.1\r\nHost: {_host(server)}\r\nConnection: close\r\n\r\n",
    ):
        with _connect(server) as sock:
            sock.sendall(request.encode())
            reader = _Reader(sock)
            status, _, _ = reader.response()
            assert status == 200
            assert reader.closed()


def test_head_answers_carry_the_length_but_no_body(server: ServerProcess) -> None:
    host = _host(server)
    with _connect(server) as sock:
        # HEAD then GET on one connection: a stray body would be read as the next response
        sock.sendall(
            f"HEAD /prod/echo/h HTTP/1.1\r\nHost: {host}\r\n\r\n"
            f"GET /prod/echo/g HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        )
        reader = _Reader(sock)
        status, headers, _ = reader.response(head_only=True)
        assert status == 200 and int(headers["content-length"]) > 0
        status, _, body = reader.response()
    assert status == 200
    assert _event(body)["httpMethod"] == "GET"


def test_keep_alive_serves_many_requests_on_one_connection(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.gateway_url, headers={"Host": _host(server)}) as client:
        ports = set()
        for i in range(20):
            response = client.get(f"/prod/echo/{i}")
            assert response.status_code == 200
            assert _event(response.content)["path"] == f"/echo/{i}"
            stream = response.extensions["network_stream"]
            ports.add(stream.get_extra_info("client_addr")[1])
    assert len(ports) == 1
