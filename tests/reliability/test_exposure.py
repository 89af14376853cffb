"""Exposure: loopback by default, no unauthenticated exposure, and the control token.

* a running ``apicanary serve`` listens on 127.0.0.1 only (read from ``/proc/net/tcp*``);
* ``serve --host 0.0.0.0`` without ``APICANARY_CONTROL_TOKEN`` exits 2 and says why;
* :class:`~apicanary.server.auth.ControlAuth` around the control app: 403 +
  ``AccessDeniedException`` without the token, success with ``Authorization: Bearer`` or with
  boto3 signing as ``aws_access_key_id=<token>``; the health check stays open;
* the same through ``apicanary serve`` with the token in its environment.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from apicanary.cli.serve import check_exposure
from apicanary.engine.engine import Engine
from apicanary.errors import BadInputError
from apicanary.server.auth import ControlAuth, presented_credential
from apicanary.server.control import build_control_app
from tests.fixtures.canary_project import write_project
from tests.support.local import running_server
from tests.support.servers import free_port, serve_in_thread

TOKEN = "s3cret-token"
FORBIDDEN = {"message": "Forbidden"}
_LISTEN = "0A"


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on ``port`` (IPv4 and IPv6)."""
    found: set[str] = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, _, port_hex = fields[1].partition(":")
            if fields[3] == _LISTEN and int(port_hex, 16) == port and len(address) == width:
                found.add(_decode_address(address))
    return found


def _decode_address(hex_address: str) -> str:
    """``/proc/net/tcp`` addresses are host-order 32-bit words in hex."""
    raw = bytes.fromhex(hex_address)
    words = [raw[i : i + 4][::-1] for i in range(0, len(raw), 4)]
    data = b"".join(words)
    if len(data) == 4:
        return ".".join(str(b) for b in data)
    return ":".join(data[i : i + 2].hex() for i in range(0, 16, 2))


def test_decode_proc_addresses() -> None:
    assert _decode_address("0100007F") == "127.0.0.1"
    assert _decode_address("00000000") == "0.0.0.0"
    assert (
        _decode_address("00000000000000000000000001000000")
        == "0000:0000:0000:0000:0000:0000:0000:0001"
    )


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
def test_both_ports_bind_to_loopback_by_default(tmp_path: Path) -> None:
    template = write_project(tmp_path / "project")
    with running_server(tmp_path / "state", template) as server:
        for url in (server.gateway_url, server.control_url):
            port = int(url.rsplit(":", 1)[1])
            assert listening_addresses(port) == {"127.0.0.1"}, url


def _without_token() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "APICANARY_CONTROL_TOKEN"}


def test_serve_on_all_interfaces_without_credentials_exits_2(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "apicanary", "serve", "--host", "0.0.0.0",
        "--state-dir", str(tmp_path / "state"),
        "--port", str(free_port()), "--control-port", str(free_port()),
    ]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=30, check=False, env=_without_token()
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "0.0.0.0" in result.stderr
    assert "APICANARY_CONTROL_TOKEN" in result.stderr
    assert not (tmp_path / "state").exists(), "it must refuse before opening any state"


def test_check_exposure_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APICANARY_CONTROL_TOKEN", raising=False)
    for loopback in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_exposure(loopback)
    for exposed in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(BadInputError):
            check_exposure(exposed)
    monkeypatch.setenv("APICANARY_CONTROL_TOKEN", TOKEN)
    check_exposure("0.0.0.0")


def test_presented_credential() -> None:
    sigv4 = (
        "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/lambda/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abcd"
    )
    assert presented_credential(sigv4) == "AKID"
    assert presented_credential("Bearer tok") == "tok"
    assert presented_credential("bearer   tok  ") == "tok"
    assert presented_credential("Bearer ") is None
    assert presented_credential("Basic dXNlcjpwYXNz") is None
    assert presented_credential("AWS4-HMAC-SHA256 SignedHeaders=host") is None
    assert presented_credential("AWS4-HMAC-SHA256 Credential=/x") is None
    assert presented_credential("") is None


def test_disabled_auth_passes_everything() -> None:
    auth = ControlAuth(build_control_app, token=None)  # type: ignore[arg-type]
    assert not auth.enabled
    assert auth.allows("POST", "/2015-03-31/functions", None)
    enabled = ControlAuth(build_control_app, token="")  # type: ignore[arg-type]
    assert not enabled.enabled


@pytest.fixture
def guarded_control(tmp_path: Path) -> Iterator[str]:
    """The control app of a fresh engine behind ``ControlAuth(token=TOKEN)``, served."""
    engine = Engine(tmp_path / "state")
    try:
        with serve_in_thread(ControlAuth(build_control_app(engine), token=TOKEN)) as url:
            yield url
    finally:
        asyncio.run(engine.aclose())


def _client(url: str, service: str, key_id: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key="anything",
    )


def _assert_forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == FORBIDDEN
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"


def test_control_auth_over_http(guarded_control: str) -> None:
    with httpx.Client(base_url=guarded_control, timeout=10) as http:
        assert http.get("/_apicanary/health").status_code == 200
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
            {"Authorization": "AWS4-HMAC-SHA256 Credential=wrong/20240101/us-east-1/lambda"},
        ):
            _assert_forbidden(http.get("/2015-03-31/functions", headers=headers))
        _assert_forbidden(http.post("/_apicanary/health"))  # only GET is open
        _assert_forbidden(http.get("/_apicanary/health/../x"))
        _assert_forbidden(http.post("/restapis", json={"name": "x"}))
        _assert_forbidden(http.get("/nowhere"))
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert http.get("/2015-03-31/functions", headers=bearer).status_code == 200
        created = http.post("/restapis", json={"name": "x"}, headers=bearer)
        assert created.status_code == 201, created.text


def test_control_auth_with_boto3(guarded_control: str) -> None:
    """boto3 signs with SigV4: the access key id is the token, the secret is not checked."""
    assert _client(guarded_control, "lambda", TOKEN).list_functions()["Functions"] == []
    apigw = _client(guarded_control, "apigateway", TOKEN)
    assert apigw.create_rest_api(name="ok")["name"] == "ok"
    for service, call in (("lambda", "list_functions"), ("apigateway", "get_rest_apis")):
        with pytest.raises(ClientError) as caught:
            getattr(_client(guarded_control, service, "not-the-token"), call)()
        error = caught.value.response
        assert error["Error"]["Code"] == "AccessDeniedException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_serve_with_a_token_guards_the_control_port(tmp_path: Path) -> None:
    template = write_project(tmp_path / "project")
    env = {"APICANARY_CONTROL_TOKEN": TOKEN}
    with running_server(tmp_path / "state", template, extra_env=env) as server:
        with httpx.Client(base_url=server.control_url, timeout=10) as http:
            assert http.get("/_apicanary/health").status_code == 200
            _assert_forbidden(http.get("/2015-03-31/functions"))
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            assert http.get("/2015-03-31/functions", headers=bearer).status_code == 200
        assert (
            _client(server.control_url, "lambda", TOKEN).get_alias(FunctionName="Fn", Name="live")[
                "FunctionVersion"
            ]
            == "1"
        )
        with pytest.raises(ClientError):
            _client(server.control_url, "lambda", "x").list_functions()
        # the gateway is the public data plane: it needs no token, like API Gateway
        host = {"Host": f"{server.api_id('canary-api')}.execute-api.localhost"}
        assert httpx.get(f"{server.gateway_url}/prod/hi", headers=host).status_code == 200
