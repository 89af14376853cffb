"""The local API Gateway over real HTTP: routing, event shape, failure mapping, stage canaries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import EXAMPLES
from tests.fixtures.canary_project import set_handler_tag, write_project
from tests.support.local import ServerProcess, aws_client, running_server
from tests.support.stats import binomial_two_sided_p


@pytest.fixture
def canary_server(tmp_path: Path) -> Iterator[ServerProcess]:
    template = write_project(tmp_path / "project")
    with running_server(tmp_path / "state", template, seed=11) as server:
        yield server


def _api_id(server: ServerProcess, name: str = "canary-api") -> str:
    return server.api_id(name)


def _host(server: ServerProcess, name: str = "canary-api") -> dict[str, str]:
    """The Host header selecting one of several APIs, as on AWS's per-API domain."""
    return {"Host": f"{_api_id(server, name)}.execute-api.localhost"}


def test_several_apis_need_a_host(canary_server: ServerProcess) -> None:
    response = httpx.get(f"{canary_server.gateway_url}/prod/hello")
    assert response.status_code == 403
    assert "Host: <apiId>.execute-api.localhost" in response.headers["x-apicanary-hint"]
    api_id = _api_id(canary_server)
    by_path = httpx.get(f"{canary_server.gateway_url}/restapis/{api_id}/prod/_user_request_/hi")
    assert by_path.status_code == 200
    assert by_path.json()["event"]["path"] == "/hi"


def test_orders_example_serves_through_the_gateway(tmp_path: Path) -> None:
    with running_server(tmp_path / "state", EXAMPLES / "orders-api" / "template.yaml") as server:
        base = server.gateway_url
        listing = httpx.get(f"{base}/Prod/orders")
        assert listing.status_code == 200
        assert listing.headers["x-app-version"] == "1"
        created = httpx.post(f"{base}/Prod/orders", json={"item": "tea", "quantity": 2})
        assert created.status_code == 201, created.text
        order_id = created.json()["id"]
        assert httpx.get(f"{base}/Prod/orders/{order_id}").json()["item"] == "tea"
        bad = httpx.post(f"{base}/Prod/orders", content=b"{not json")
        assert bad.status_code == 400
        missing = httpx.get(f"{base}/Prod/nothing-here")
        assert missing.status_code == 403
        assert missing.json() == {"message": "Missing Authentication Token"}
        assert missing.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
        assert httpx.get(f"{base}/Nostage/orders").status_code == 403


def test_powertools_app_answers_as_on_aws(tmp_path: Path) -> None:
    with running_server(tmp_path / "state", EXAMPLES / "powertools-api" / "template.yaml") as srv:
        base = f"{srv.gateway_url}/prod"
        listing = httpx.get(f"{base}/items", params={"limit": "2", "tag": "kitchen"})
        assert listing.status_code == 200
        assert listing.json()["total"] == 2 and len(listing.json()["items"]) == 2
        assert listing.headers["x-app-version"] == "1"
        assert httpx.get(f"{base}/items", params={"limit": "0"}).status_code == 400
        created = httpx.post(f"{base}/items", json={"name": "pan", "tags": ["kitchen"]})
        assert created.status_code == 201
        assert created.headers["location"].startswith("/items/")
        item = httpx.get(f"{base}{created.headers['location']}")
        assert item.status_code == 200 and item.json()["name"] == "pan"
        assert httpx.get(f"{base}/items/zzz").status_code == 404


def test_event_shape_through_real_http(canary_server: ServerProcess) -> None:
    response = httpx.get(
        f"{canary_server.gateway_url}/prod/echo/a%20b?x=1&x=2&y=3",
        headers={"X-Custom": "v", **_host(canary_server)},
    )
    assert response.status_code == 200
    event = response.json()["event"]
    assert event["resource"] == "/{proxy+}"
    assert event["path"] == "/echo/a%20b"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"proxy": "echo/a%20b"}
    assert event["queryStringParameters"] == {"x": "2", "y": "3"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["3"]}
    # the gateway's HTTP server lower-cases header names, so AWS's original casing is not kept
    assert event["headers"]["x-custom"] == "v"
    assert event["multiValueHeaders"]["x-custom"] == ["v"]
    assert event["stageVariables"] == {"lambdaAlias": "live", "color": "blue"}
    context = event["requestContext"]
    assert context["stage"] == "prod"
    assert context["path"] == "/prod/echo/a%20b"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["apiId"] == _api_id(canary_server)
    assert context["resourcePath"] == "/{proxy+}"
    assert isinstance(context["requestTimeEpoch"], int)
    assert event["body"] is None and event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/raise", 502, {"message": "Internal server error"}),
        ("/hang", 502, {"message": "Internal server error"}),  # Lambda timeout (1 s) < 29 s
        ("/slow", 504, {"message": "Endpoint request timed out"}),  # integration 300 ms
        ("/malformed", 502, {"message": "Internal server error"}),
        ("/bare", 502, {"message": "Internal server error"}),
        ("/throttled", 500, {"message": "Internal server error"}),
    ],
)
def test_failure_mapping(canary_server: ServerProcess, path: str, status: int, body: Any) -> None:
    api, stage = ("ServerlessRestApi", "Prod") if path == "/throttled" else ("canary-api", "prod")
    response = httpx.get(
        f"{canary_server.gateway_url}/{stage}{path}", headers=_host(canary_server, api), timeout=10
    )
    assert response.status_code == status
    assert response.json() == body


def test_status_and_headers_merge(canary_server: ServerProcess) -> None:
    response = httpx.get(f"{canary_server.gateway_url}/prod/teapot", headers=_host(canary_server))
    assert response.status_code == 418
    assert response.text == "tea"
    assert response.headers["x-a"] == "1"
    assert response.headers["x-b"] == "2, 3"
    # framed like API Gateway's answers: a Content-Length, never chunked
    assert response.headers["content-length"] == "3"
    assert "transfer-encoding" not in response.headers


def _publish_canary_version(server: ServerProcess, project: Path) -> str:
    """Change the code, publish it, and point a `canary` alias at the new version."""
    set_handler_tag(project, "v2")
    lam = aws_client(server, "lambda")
    version = str(lam.publish_version(FunctionName="Fn")["Version"])
    lam.create_alias(FunctionName="Fn", Name="canary", FunctionVersion=version)
    return version


def _versions(server: ServerProcess, count: int) -> list[str]:
    async def run() -> list[str]:
        async with httpx.AsyncClient(base_url=server.gateway_url, headers=_host(server)) as client:
            results: list[str] = []
            for _ in range(count):
                response = await client.get("/prod/hello")
                assert response.status_code == 200
                results.append(response.headers["x-app-version"])
            return results

    return asyncio.run(run())


def test_stage_canary_split_promotion_and_rollback(
    canary_server: ServerProcess, tmp_path: Path
) -> None:
    new_version = _publish_canary_version(canary_server, tmp_path / "project")
    apigw = aws_client(canary_server, "apigateway")
    api_id = _api_id(canary_server)
    apigw.create_deployment(
        restApiId=api_id,
        stageName="prod",
        canarySettings={
            "percentTraffic": 30.0,
            "stageVariableOverrides": {"lambdaAlias": "canary"},
        },
    )
    served = _versions(canary_server, 400)
    canary_count = served.count(new_version)
    assert set(served) == {"1", new_version}
    assert binomial_two_sided_p(canary_count, 400, 0.30) > 0.001

    # the access log flags exactly those requests as canary requests
    time.sleep(0.6)  # the engine flushes the log every 0.25 s
    log = canary_server.state_dir / "logs" / "access.log"
    lines = [orjson.loads(raw) for raw in log.read_bytes().splitlines()]
    hello = [entry for entry in lines if entry["resourcePath"] == "/{proxy+}"]
    assert sum(entry["isCanaryRequest"] for entry in hello[-400:]) == canary_count
    assert {entry["executedVersion"] for entry in hello[-400:] if entry["isCanaryRequest"]} == {
        new_version
    }

    apigw.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0"}],
    )
    assert set(_versions(canary_server, 30)) == {"1"}

    # rollback by removal: production untouched
    apigw.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[{"op": "remove", "path": "/canarySettings"}],
    )
    assert "canarySettings" not in apigw.get_stage(restApiId=api_id, stageName="prod")
    assert set(_versions(canary_server, 30)) == {"1"}

    # canary again, then promotion with the three patch operations
    apigw.create_deployment(
        restApiId=api_id,
        stageName="prod",
        canarySettings={
            "percentTraffic": 100.0,
            "stageVariableOverrides": {"lambdaAlias": "canary"},
        },
    )
    assert set(_versions(canary_server, 20)) == {new_version}
    apigw.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"},
            {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
            {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
        ],
    )
    stage = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert stage["variables"] == {"lambdaAlias": "canary", "color": "blue"}
    assert stage["canarySettings"]["percentTraffic"] == 0.0
    assert set(_versions(canary_server, 20)) == {new_version}


def test_no_failed_request_while_shifting_under_load(
    canary_server: ServerProcess, tmp_path: Path
) -> None:
    new_version = _publish_canary_version(canary_server, tmp_path / "project")
    apigw = aws_client(canary_server, "apigateway")
    lam = aws_client(canary_server, "lambda")
    api_id = _api_id(canary_server)

    async def load(stop: asyncio.Event) -> list[tuple[float, int]]:
        answers: list[tuple[float, int]] = []
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(
            base_url=canary_server.gateway_url, limits=limits, headers=_host(canary_server)
        ) as client:

            async def worker() -> None:
                while not stop.is_set():
                    status = (await client.get("/prod/hello")).status_code
                    answers.append((time.monotonic(), status))

            await asyncio.gather(*(worker() for _ in range(16)))
        return answers

    def shift() -> None:
        # each write is spaced a little so that requests really interleave with every change
        for weight in (0.1, 0.5, 0.9):
            time.sleep(0.05)
            lam.update_alias(
                FunctionName="Fn",
                Name="live",
                RoutingConfig={"AdditionalVersionWeights": {new_version: weight}},
            )
        lam.update_alias(
            FunctionName="Fn",
            Name="live",
            FunctionVersion=new_version,
            RoutingConfig={"AdditionalVersionWeights": {}},
        )
        apigw.create_deployment(
            restApiId=api_id,
            stageName="prod",
            canarySettings={"percentTraffic": 50.0, "stageVariableOverrides": {"color": "red"}},
        )
        for percent in ("10", "60", "100"):
            time.sleep(0.05)
            apigw.update_stage(
                restApiId=api_id,
                stageName="prod",
                patchOperations=[
                    {"op": "replace", "path": "/canarySettings/percentTraffic", "value": percent}
                ],
            )
        apigw.update_stage(
            restApiId=api_id,
            stageName="prod",
            patchOperations=[{"op": "remove", "path": "/canarySettings"}],
        )

    window: list[float] = []

    async def scenario() -> list[tuple[float, int]]:
        stop = asyncio.Event()
        task = asyncio.create_task(load(stop))
        await asyncio.sleep(0.5)
        window.append(time.monotonic())
        await asyncio.to_thread(shift)
        window.append(time.monotonic())
        await asyncio.sleep(0.5)
        stop.set()
        return await task

    answers = asyncio.run(scenario())
    during = [status for at, status in answers if window[0] <= at <= window[1]]
    # the bar proves overlap, not throughput (a loaded 2-core machine varies a lot)
    assert len(during) >= 10, f"only {len(during)} requests completed during the shift"
    statuses = {status for _, status in answers}
    assert statuses == {200}, orjson.dumps(sorted(statuses)).decode()
