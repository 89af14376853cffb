"""Bad input on the HTTP API (apigatewayv2) control endpoints: random bodies, ids and queries.

One ``apicanary serve`` with a function ``Fz`` and an HTTP API ``fuzz-http`` owned by the fuzz.
For every request: never a 5xx, and every 4xx names an AWS error code (so boto3 raises a
typed ``ClientError``). The last test demands the known API still serves and the database
passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.test_fuzz_control import (
    FUZZ,
    check,
    drain_stderr,
    fields,
    json_values,
    raw_bodies,
    segment,
)
from tests.support.lambda_zips import handler_zip
from tests.support.local import ServerProcess, running_server

ARN = "arn:aws:lambda:us-east-1:123456789012:function:Fz:fz"
ROUTE_KEYS = st.sampled_from(
    ["$default", "GET /a", "ANY /{proxy+}", "GET /a/{id}", "POST /", "GET /{x}/{y+}", "FETCH /",
     "GET a", "GET /a//b", "GET /{p+}/x", ""]
)  # fmt: skip


@dataclass
class HttpTarget:
    server: ServerProcess
    http: httpx.Client
    api_id: str
    integration_id: str

    def __repr__(self) -> str:
        return f"HttpTarget({self.server.control_url})"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpTarget]:
    root = tmp_path_factory.mktemp("fuzz-http")
    with (
        running_server(root / "state", seed=5) as server,
        httpx.Client(base_url=server.control_url, timeout=10) as http,
    ):

        def client(service: str) -> Any:
            return boto3.client(
                service, endpoint_url=server.control_url, region_name="us-east-1",
                aws_access_key_id="x", aws_secret_access_key="x",
            )  # fmt: skip

        lam, v2 = client("lambda"), client("apigatewayv2")
        lam.create_function(
            FunctionName="Fz", Runtime="python3.11", Role="arn:aws:iam::1:role/f",
            Handler="app.handler", Code={"ZipFile": handler_zip("return {'ok': True}")},
            Publish=True,
        )  # fmt: skip
        lam.create_alias(FunctionName="Fz", Name="fz", FunctionVersion="1")
        api = v2.create_api(Name="fuzz-http", ProtocolType="HTTP", Target=ARN)
        integration = v2.get_integrations(ApiId=api["ApiId"])["Items"][0]["IntegrationId"]
        drain_stderr(server)
        yield HttpTarget(server, http, api["ApiId"], integration)


def send(target: HttpTarget, method: str, path: str, raw: bytes) -> httpx.Response:
    return check(target.http.request(method, path, content=raw))


def _body(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


API_FIELDS = {
    "name": st.text(max_size=140), "protocolType": st.sampled_from(["HTTP", "WEBSOCKET", "x"]),
    "target": st.just(ARN) | st.text(max_size=30), "routeKey": ROUTE_KEYS,
    "description": st.text(max_size=20), "tags": st.dictionaries(st.text(max_size=5), st.text()),
}  # fmt: skip
INTEGRATION_FIELDS = {
    "integrationType": st.sampled_from(["AWS_PROXY", "HTTP_PROXY", "MOCK", "aws_proxy", "X"]),
    "integrationUri": st.just(ARN) | st.text(max_size=40),
    "payloadFormatVersion": st.sampled_from(["1.0", "2.0", "3.0"]),
    "timeoutInMillis": st.integers(min_value=-10, max_value=40_000),
}
STAGE_FIELDS = {
    "stageName": st.sampled_from(["$default", "beta", "b/c", ""]) | st.text(max_size=10),
    "autoDeploy": st.booleans(), "deploymentId": st.text(max_size=8),
    "stageVariables": st.dictionaries(st.text(max_size=70), st.text(max_size=20), max_size=3),
}  # fmt: skip


@given(body=fields(API_FIELDS), raw=st.none() | raw_bodies, update=st.booleans())
@FUZZ
def test_create_and_update_api(
    target: HttpTarget, body: dict[str, Any], raw: bytes | None, update: bool
) -> None:
    content = raw if raw is not None else _body(body)
    if update:
        send(target, "PATCH", f"/v2/apis/{target.api_id}", content)
        return
    created = send(target, "POST", "/v2/apis", content)
    if created.status_code == 201:
        send(target, "DELETE", f"/v2/apis/{created.json()['apiId']}", b"")


@given(
    kind=st.sampled_from(["routes", "integrations", "stages", "deployments"]),
    body=st.data(),
    raw=st.none() | raw_bodies,
)
@FUZZ
def test_create_children(
    target: HttpTarget, kind: str, body: st.DataObject, raw: bytes | None
) -> None:
    options = {
        "routes": {"routeKey": ROUTE_KEYS, "target": st.just(
            f"integrations/{target.integration_id}") | st.text(max_size=20)},
        "integrations": INTEGRATION_FIELDS,
        "stages": STAGE_FIELDS,
        "deployments": {"stageName": st.sampled_from(["$default", "nope"]),
                        "description": json_values},
    }[kind]  # fmt: skip
    content = raw if raw is not None else _body(body.draw(fields(options)))
    send(target, "POST", f"/v2/apis/{target.api_id}/{kind}", content)


@given(
    kind=st.sampled_from(["routes", "integrations", "stages", "deployments"]),
    item=segment(["$default", "x"]),
    method=st.sampled_from(["GET", "PATCH", "DELETE"]),
    body=fields({**INTEGRATION_FIELDS, **STAGE_FIELDS, "routeKey": ROUTE_KEYS}),
    api=segment(["known"]),
)
@FUZZ
def test_items_and_ids(
    target: HttpTarget, kind: str, item: str, method: str, body: dict[str, Any], api: str
) -> None:
    api_id = target.api_id if api == "known" else api
    if item == "%24default" and kind == "stages" and method == "DELETE":
        method = "GET"  # keep the known API's stage
    send(target, method, f"/v2/apis/{api_id}/{kind}/{item}", _body(body))
    send(target, "GET", f"/v2/apis/{api_id}/{kind}", b"")


@given(
    document=st.none() | json_values | st.fixed_dictionaries(
        {"openapi": st.sampled_from(["3.0.1", "2"]), "paths": st.dictionaries(
            st.sampled_from(["/a", "$default", "a", "/{x+}/y", "/b/{id}"]),
            st.dictionaries(st.sampled_from(["get", "x-amazon-apigateway-any-method", "q"]),
                            json_values | st.fixed_dictionaries({
                                "x-amazon-apigateway-integration": fields(
                                    {"type": st.sampled_from(["aws_proxy", "http"]),
                                     "uri": st.just(ARN), "payloadFormatVersion": st.text()})}),
                            max_size=2), max_size=3)}),
    reimport=st.booleans(),
    query=st.dictionaries(
        st.sampled_from(["maxResults", "nextToken", "basepath"]), st.text(max_size=5)
    ),
)  # fmt: skip
@FUZZ
def test_import_reimport_and_paging(
    target: HttpTarget, document: Any, reimport: bool, query: dict[str, str]
) -> None:
    import json

    body = _body({"body": json.dumps(document) if document is not None else None})
    if reimport:
        scratch = send(target, "POST", "/v2/apis", _body({"name": "s", "protocolType": "HTTP"}))
        api_id = scratch.json()["apiId"]
        send(target, "PUT", f"/v2/apis/{api_id}", body)
        send(target, "DELETE", f"/v2/apis/{api_id}", b"")
    else:
        imported = send(target, "PUT", "/v2/apis", body)
        if imported.status_code == 201:
            send(target, "DELETE", f"/v2/apis/{imported.json()['apiId']}", b"")
    check(target.http.get("/v2/apis", params=query))


def test_the_known_api_still_serves(target: HttpTarget) -> None:
    answer = httpx.get(
        f"{target.server.gateway_url}/anything",
        headers={"Host": f"{target.api_id}.execute-api.localhost"},
    )
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    database = target.server.state_dir / "state.sqlite3"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
