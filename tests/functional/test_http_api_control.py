"""HTTP APIs (apigatewayv2) created with boto3 and the AWS CLI on a real ``apicanary serve``,
then serving traffic on the data port; HTTP API error answers and metric names.

botocore parses every control-plane answer against AWS's model, so a wrong shape, status or
date format fails here. The rules asserted are the ones docs/aws-semantics.md ("HTTP APIs")
records.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from apicanary.platform.aws.doctor import DoctorTarget, check_http_api
from tests.support.lambda_zips import handler_zip
from tests.support.local import ServerProcess, aws_client, running_server

HANDLER = """
import json, time
path = event.get("rawPath") or event.get("path") or ""
if path.endswith("/boom"):
    raise RuntimeError("boom")
if path.endswith("/slow"):
    time.sleep(1.0)
if path.endswith("/bare"):
    return {"echo": event.get("version", "1.0")}
answer = {"statusCode": 201, "headers": {"x-route": event.get("routeKey", "")},
          "body": json.dumps(event)}
if event.get("version") == "2.0":
    answer["cookies"] = ["a=1", "b=2"]
return answer
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("httpapi-state")) as running:
        lam = aws_client(running, "lambda")
        lam.create_function(
            FunctionName="items",
            Runtime="python3.11",
            Role="arn:aws:iam::000000000000:role/x",
            Handler="app.handler",
            Code={"ZipFile": handler_zip(HANDLER)},
            Timeout=5,
            Publish=True,
        )
        waiter_deadline = time.monotonic() + 20
        while lam.get_function(FunctionName="items")["Configuration"]["State"] != "Active":
            assert time.monotonic() < waiter_deadline, "function never became Active"
            time.sleep(0.1)
        lam.create_alias(FunctionName="items", Name="live", FunctionVersion="1")
        yield running


@pytest.fixture(scope="module")
def v2(server: ServerProcess) -> Any:
    return aws_client(server, "apigatewayv2")


def _arn(server: ServerProcess, qualifier: str = "live") -> str:
    return f"arn:aws:lambda:us-east-1:000000000000:function:items:{qualifier}"


def _get(server: ServerProcess, api_id: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Host": f"{api_id}.execute-api.localhost", **kwargs.pop("headers", {})}
    return httpx.get(server.gateway_url + path, headers=headers, timeout=30, **kwargs)


def _error(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_boto3_builds_an_api_that_serves_payload_2(server: ServerProcess, v2: Any) -> None:
    api = v2.create_api(Name="shop", ProtocolType="HTTP")
    api_id = api["ApiId"]
    integration = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=_arn(server),
        PayloadFormatVersion="2.0",
    )
    target = f"integrations/{integration['IntegrationId']}"
    v2.create_route(ApiId=api_id, RouteKey="GET /items/{id}", Target=target)
    v2.create_route(ApiId=api_id, RouteKey="ANY /{proxy+}", Target=target)
    # a route of its own with a short integration timeout (the handler sleeps 1 s there)
    short = v2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=_arn(server),
        PayloadFormatVersion="2.0", TimeoutInMillis=300,
    )  # fmt: skip
    v2.create_route(
        ApiId=api_id, RouteKey="GET /slow", Target=f"integrations/{short['IntegrationId']}"
    )
    stage = v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    assert stage["AutoDeploy"] is True and stage["DeploymentId"]
    assert v2.get_deployments(ApiId=api_id)["Items"][0]["AutoDeployed"] is True

    answer = _get(
        server, api_id, "/items/42?a=1&a=2", headers={"Cookie": "s=1; t=2", "X-Twice": "x"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["x-route"] == "GET /items/{id}"
    assert answer.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert answer.headers["apigw-requestid"]
    event = answer.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/42"
    assert event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["pathParameters"] == {"id": "42"}
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert isinstance(event["requestContext"]["timeEpoch"], int)
    assert "multiValueHeaders" not in event

    greedy = _get(server, api_id, "/other/deep/path")
    assert greedy.headers["x-route"] == "ANY /{proxy+}"
    bare = _get(server, api_id, "/bare")
    assert bare.status_code == 200
    assert bare.headers["content-type"] == "application/json"
    assert bare.json() == {"echo": "2.0"}

    # the HTTP API error answers (docs/aws-semantics.md, "HTTP APIs")
    boom = _get(server, api_id, "/boom")
    assert (boom.status_code, boom.json()) == (500, {"message": "Internal Server Error"})
    slow = _get(server, api_id, "/slow")
    assert (slow.status_code, slow.json()) == (503, {"message": "Service Unavailable"})
    v2.delete_route(ApiId=api_id, RouteId=_route_id(v2, api_id, "ANY /{proxy+}"))
    missing = _get(server, api_id, "/nowhere")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})

    # metrics under HTTP API names and dimensions (ApiId, ApiId+Stage), not REST's
    cloudwatch = aws_client(server, "cloudwatch")
    names = _metric_names(cloudwatch, api_id)
    assert {"Count", "4xx", "5xx", "Latency", "IntegrationLatency"} <= names
    assert not names & {"4XXError", "5XXError"}
    by_stage = [{"Name": "ApiId", "Value": api_id}, {"Name": "Stage", "Value": "$default"}]
    assert _sum(cloudwatch, "5xx", by_stage, 2.0) == 2.0  # the function error and the timeout
    assert _sum(cloudwatch, "4xx", [{"Name": "ApiId", "Value": api_id}], 1.0) == 1.0


def _route_id(v2: Any, api_id: str, key: str) -> str:
    return next(r["RouteId"] for r in v2.get_routes(ApiId=api_id)["Items"] if r["RouteKey"] == key)


def _metric_names(cloudwatch: Any, api_id: str) -> set[str]:
    deadline = time.monotonic() + 15
    names: set[str] = set()
    while time.monotonic() < deadline:
        listed = cloudwatch.list_metrics(
            Namespace="AWS/ApiGateway", Dimensions=[{"Name": "ApiId", "Value": api_id}]
        )["Metrics"]
        names = {m["MetricName"] for m in listed}
        if len(names) >= 5:
            return names
        time.sleep(0.2)
    return names


def _sum(cloudwatch: Any, name: str, dimensions: list[dict[str, str]], expected: float) -> float:
    """The metric's sum over the last minutes, read until it is ``expected`` (the engine
    ingests metrics a few times a second) or 15 s passed; the last value read."""
    deadline = time.monotonic() + 15
    while True:
        now = time.time()
        stats = cloudwatch.get_metric_statistics(
            Namespace="AWS/ApiGateway", MetricName=name, Dimensions=dimensions,
            StartTime=now - 600, EndTime=now + 60, Period=3600, Statistics=["Sum"],
        )["Datapoints"]  # fmt: skip
        total = float(sum(p["Sum"] for p in stats))
        if total == expected or time.monotonic() > deadline:
            return total
        time.sleep(0.2)


def test_quick_create_payload_1_and_named_stage(server: ServerProcess, v2: Any) -> None:
    quick = v2.create_api(Name="quick", ProtocolType="HTTP", Target=_arn(server))
    stages = v2.get_stages(ApiId=quick["ApiId"])["Items"]
    assert [s["StageName"] for s in stages] == ["$default"]
    assert _get(server, quick["ApiId"], "/any/thing").status_code == 201

    api_id = v2.create_api(Name="v1", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=_arn(server, "1"),
        PayloadFormatVersion="1.0",
    )  # fmt: skip
    v2.create_route(
        ApiId=api_id, RouteKey="$default", Target=f"integrations/{integration['IntegrationId']}"
    )
    deployment = v2.create_deployment(ApiId=api_id)
    v2.create_stage(
        ApiId=api_id, StageName="beta", DeploymentId=deployment["DeploymentId"],
        StageVariables={"color": "blue"},
    )  # fmt: skip
    answer = _get(server, api_id, "/beta/x")
    assert answer.status_code == 201, answer.text
    event = answer.json()
    assert event["version"] == "1.0" and event["httpMethod"] == "GET"
    assert event["stageVariables"] == {"color": "blue"}
    assert _get(server, api_id, "/x").status_code == 404  # no $default stage
    # several HTTP APIs and no REST API: without a Host header, none is chosen
    unselected = httpx.get(server.gateway_url + "/items/1", timeout=30)
    assert unselected.status_code == 404 and api_id in unselected.headers["x-apicanary-hint"]
    assert v2.update_stage(ApiId=api_id, StageName="beta", StageVariables={"color": "red"})[
        "StageVariables"
    ] == {"color": "red"}


def test_control_errors_are_aws_codes(server: ServerProcess, v2: Any) -> None:
    assert _error(v2.get_api, ApiId="nope") == ("NotFoundException", 404)
    assert _error(
        v2.create_api,
        Name="ws",
        ProtocolType="WEBSOCKET",
        RouteSelectionExpression="$request.body.a",
    ) == ("BadRequestException", 400)
    api_id = v2.create_api(Name="errs", ProtocolType="HTTP")["ApiId"]
    assert _error(v2.create_route, ApiId=api_id, RouteKey="FETCH /x") == (
        "BadRequestException",
        400,
    )
    v2.create_route(ApiId=api_id, RouteKey="GET /x")
    assert _error(v2.create_route, ApiId=api_id, RouteKey="GET /x") == ("ConflictException", 409)
    assert _error(
        v2.create_integration, ApiId=api_id, IntegrationType="AWS_PROXY",
        IntegrationUri=_arn(server), PayloadFormatVersion="2.0", TimeoutInMillis=30001,
    ) == ("BadRequestException", 400)  # fmt: skip
    assert _error(v2.get_stage, ApiId=api_id, StageName="nope") == ("NotFoundException", 404)
    v2.create_stage(ApiId=api_id, StageName="s1")
    assert _error(v2.create_stage, ApiId=api_id, StageName="s1") == ("ConflictException", 409)
    v2.delete_api(ApiId=api_id)
    assert _error(v2.get_api, ApiId=api_id) == ("NotFoundException", 404)


def test_import_and_reimport_from_openapi(server: ServerProcess, v2: Any) -> None:
    document = {
        "openapi": "3.0.1",
        "info": {"title": "imported", "version": "1"},
        "paths": {
            "/hello": {
                "get": {
                    "x-amazon-apigateway-integration": {
                        "type": "aws_proxy",
                        "uri": _arn(server),
                        "payloadFormatVersion": "2.0",
                    }
                }
            }
        },
    }
    api = v2.import_api(Body=json.dumps(document))
    assert api["Name"] == "imported"
    routes = v2.get_routes(ApiId=api["ApiId"])["Items"]
    assert [r["RouteKey"] for r in routes] == ["GET /hello"]
    v2.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    assert _get(server, api["ApiId"], "/hello").headers["x-route"] == "GET /hello"
    document["paths"] = {"/bye": document["paths"]["/hello"]}
    v2.reimport_api(ApiId=api["ApiId"], Body=json.dumps(document))
    assert _get(server, api["ApiId"], "/bye").status_code == 201
    assert _get(server, api["ApiId"], "/hello").status_code == 404
    assert _error(v2.import_api, Body="{}") == ("BadRequestException", 400)
    del document["paths"]["/bye"]["get"]["x-amazon-apigateway-integration"]["payloadFormatVersion"]
    # required for a Lambda integration of an HTTP API
    assert _error(v2.import_api, Body=json.dumps(document)) == ("BadRequestException", 400)


def test_aws_cli_creates_an_api_that_serves(server: ServerProcess, tmp_path: Path) -> None:
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }  # fmt: skip

    def cli(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [aws, "apigatewayv2", *args, "--endpoint-url", server.control_url, "--output", "json"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    created = cli(
        "create-api", "--name", "cli-api", "--protocol-type", "HTTP", "--target", _arn(server)
    )
    assert created["ProtocolType"] == "HTTP"
    listed = cli("get-apis")
    assert created["ApiId"] in {a["ApiId"] for a in listed["Items"]}
    assert _get(server, created["ApiId"], "/from/cli").status_code == 201


def test_doctor_flags_an_http_api_on_the_unqualified_function(
    server: ServerProcess, v2: Any
) -> None:
    target = DoctorTarget("items", "live")
    factory = lambda service: aws_client(server, service)  # noqa: E731
    before = {f.check for f in check_http_api(factory, target) if f.level == "error"}
    unqualified = "arn:aws:lambda:us-east-1:000000000000:function:items"
    api = v2.create_api(Name="pitfall", ProtocolType="HTTP", Target=unqualified)
    findings = check_http_api(factory, target)
    (http,) = [f for f in findings if f.check == "http-integration"]
    assert (
        http.level == "error" and f"pitfall ({_integration_id(v2, api['ApiId'])})" in http.message
    )
    assert "http-integration" not in before
    # the engine emulates no provisioned concurrency: nothing to flag, and no failed call
    assert not [f for f in findings if f.check == "provisioned-concurrency"]
    v2.delete_api(ApiId=api["ApiId"])


def _integration_id(v2: Any, api_id: str) -> str:
    return str(v2.get_integrations(ApiId=api_id)["Items"][0]["IntegrationId"])
