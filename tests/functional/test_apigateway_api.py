"""The API Gateway endpoints driven by real boto3 over HTTP (botocore parses every answer
against AWS's model, so a wrong shape, status or timestamp fails here)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from starlette.applications import Starlette

from apicanary.clock import VirtualClock
from apicanary.engine.apigateway.service import ApiGatewayService
from apicanary.errors import AwsApiError
from apicanary.server.apigateway_api import routes
from apicanary.server.awshttp import aws_error_handler
from apicanary.store import Store
from tests.support.apigw import LAMBDA_URI
from tests.support.servers import serve_in_thread

PROMOTE = [
    {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"},
    {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
    {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
]


@pytest.fixture(scope="module")
def service() -> ApiGatewayService:
    return ApiGatewayService(Store(":memory:"), VirtualClock(1_700_000_000.0))


@pytest.fixture(scope="module")
def client(service: ApiGatewayService) -> Iterator[Any]:
    app = Starlette(routes=routes(service), exception_handlers={AwsApiError: aws_error_handler})
    with serve_in_thread(app) as url:
        yield boto3.client(
            "apigateway",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 1}),
        )


@pytest.fixture
def api(client: Any) -> Iterator[dict[str, str]]:
    created = client.create_rest_api(name="shop", binaryMediaTypes=["image/png"])
    proxy = client.create_resource(
        restApiId=created["id"], parentId=created["rootResourceId"], pathPart="{proxy+}"
    )
    client.put_method(
        restApiId=created["id"], resourceId=proxy["id"], httpMethod="ANY", authorizationType="NONE"
    )
    client.put_integration(
        restApiId=created["id"],
        resourceId=proxy["id"],
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=LAMBDA_URI,
    )
    yield {"id": created["id"], "proxy": proxy["id"], "root": created["rootResourceId"]}
    client.delete_rest_api(restApiId=created["id"])


def _error(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_rest_api_resources_methods_and_status_codes(client: Any, api: dict[str, str]) -> None:
    got = client.get_rest_api(restApiId=api["id"])
    assert got["name"] == "shop" and got["binaryMediaTypes"] == ["image/png"]
    assert got["createdDate"] == datetime.datetime.fromtimestamp(1_700_000_000, datetime.UTC)
    assert api["id"] in [a["id"] for a in client.get_rest_apis()["items"]]
    items = client.create_resource(restApiId=api["id"], parentId=api["root"], pathPart="items")
    assert items["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert items["path"] == "/items"
    listed = client.get_resources(restApiId=api["id"], embed=["methods"])["items"]
    by_path = {r["path"]: r for r in listed}
    integration = by_path["/{proxy+}"]["resourceMethods"]["ANY"]["methodIntegration"]
    assert (integration["type"], integration["httpMethod"]) == ("AWS_PROXY", "POST")
    assert (
        client.get_integration(restApiId=api["id"], resourceId=api["proxy"], httpMethod="ANY")[
            "uri"
        ]
        == LAMBDA_URI
    )
    client.put_method(
        restApiId=api["id"], resourceId=items["id"], httpMethod="GET", authorizationType="NONE"
    )
    deleted = client.delete_method(restApiId=api["id"], resourceId=items["id"], httpMethod="GET")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    gone = client.delete_resource(restApiId=api["id"], resourceId=items["id"])
    assert gone["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert _error(client.get_resource, restApiId=api["id"], resourceId=items["id"]) == (
        "NotFoundException",
        "Invalid Resource identifier specified",
        404,
    )


def test_errors_surface_as_client_errors(client: Any, api: dict[str, str]) -> None:
    assert _error(client.get_rest_api, restApiId="nope") == (
        "NotFoundException",
        "Invalid API identifier specified 123456789012:nope",
        404,
    )
    code, message, status = _error(
        client.create_resource, restApiId=api["id"], parentId=api["root"], pathPart="{proxy+}"
    )
    assert (code, status) == ("ConflictException", 409)
    assert message == "Another resource with the same parent already has this name: {proxy+}"
    assert _error(
        client.create_deployment,
        restApiId=api["id"],
        stageName="ghost",
        canarySettings={"percentTraffic": 10},
    ) == (
        "BadRequestException",
        "Invalid deployment content specified.Stage ghost must already be created before making "
        "a canary release deployment",
        400,
    )
    assert _error(
        client.update_stage, restApiId=api["id"], stageName="ghost", patchOperations=[]
    ) == ("NotFoundException", "Invalid Stage identifier specified", 404)


def test_full_canary_lifecycle(
    client: Any, service: ApiGatewayService, api: dict[str, str]
) -> None:
    stable = client.create_deployment(
        restApiId=api["id"], stageName="prod", variables={"alias": "live", "keep": "me"}
    )
    assert stable["ResponseMetadata"]["HTTPStatusCode"] == 201
    canary = client.create_deployment(
        restApiId=api["id"],
        stageName="prod",
        canarySettings={"percentTraffic": 10, "stageVariableOverrides": {"alias": "canary"}},
    )
    stage = client.get_stage(restApiId=api["id"], stageName="prod")
    assert stage["deploymentId"] == stable["id"]
    assert stage["canarySettings"] == {
        "deploymentId": canary["id"],
        "percentTraffic": 10.0,
        "stageVariableOverrides": {"alias": "canary"},
        "useStageCache": False,
    }
    assert isinstance(stage["lastUpdatedDate"], datetime.datetime)
    assert _error(client.create_deployment, restApiId=api["id"], stageName="prod")[0] == (
        "BadRequestException"
    )

    client.update_stage(
        restApiId=api["id"],
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "25.0"}
        ],
    )
    view = service.snapshot().apis[api["id"]].stages["prod"]
    assert view.canary is not None and view.canary.percent_traffic == 25.0

    promoted = client.update_stage(restApiId=api["id"], stageName="prod", patchOperations=PROMOTE)
    assert promoted["deploymentId"] == canary["id"]
    assert promoted["variables"] == {"alias": "canary", "keep": "me"}
    assert promoted["canarySettings"]["percentTraffic"] == 0.0

    finished = client.update_stage(
        restApiId=api["id"],
        stageName="prod",
        patchOperations=[{"op": "remove", "path": "/canarySettings"}],
    )
    assert "canarySettings" not in finished
    client.delete_deployment(restApiId=api["id"], deploymentId=stable["id"])
    listed = client.get_deployments(restApiId=api["id"])["items"]
    assert [d["id"] for d in listed] == [canary["id"]]
    assert client.get_stages(restApiId=api["id"])["item"][0]["stageName"] == "prod"


def test_rollback_by_removal(client: Any, api: dict[str, str]) -> None:
    stable = client.create_deployment(restApiId=api["id"], stageName="prod")
    canary = client.create_deployment(
        restApiId=api["id"], stageName="prod", canarySettings={"percentTraffic": 50}
    )
    assert _error(client.delete_deployment, restApiId=api["id"], deploymentId=stable["id"]) == (
        "BadRequestException",
        "Active stages pointing to this deployment must be moved or deleted",
        400,
    )
    stage = client.update_stage(
        restApiId=api["id"],
        stageName="prod",
        patchOperations=[{"op": "remove", "path": "/canarySettings"}],
    )
    assert stage["deploymentId"] == stable["id"] and "canarySettings" not in stage
    client.delete_deployment(restApiId=api["id"], deploymentId=canary["id"])
    assert (
        client.delete_stage(restApiId=api["id"], stageName="prod")["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 202
    )


def test_update_stage_errors_over_http(client: Any, api: dict[str, str]) -> None:
    client.create_deployment(restApiId=api["id"], stageName="prod")
    assert _error(
        client.update_stage,
        restApiId=api["id"],
        stageName="prod",
        patchOperations=PROMOTE[1:],
    ) == ("BadRequestException", "Promotion not available. Canary does not exist.", 400)
    assert _error(
        client.update_stage,
        restApiId=api["id"],
        stageName="prod",
        patchOperations=[{"op": "add", "path": "/canarySettings/deploymentId", "value": "x"}],
    ) == (
        "BadRequestException",
        "Invalid add operation with path: /canarySettings/deploymentId",
        400,
    )
    client.create_stage(
        restApiId=api["id"],
        stageName="beta",
        deploymentId=client.get_stage(restApiId=api["id"], stageName="prod")["deploymentId"],
        canarySettings={"percentTraffic": 5.5, "useStageCache": True},
    )
    beta = client.get_stage(restApiId=api["id"], stageName="beta")
    assert beta["canarySettings"]["useStageCache"] is True


def test_import_and_put_rest_api(client: Any, service: ApiGatewayService) -> None:
    definition = f"""
openapi: 3.0.1
info: {{title: imported}}
paths:
  /hello:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: "{LAMBDA_URI}"
x-amazon-apigateway-binary-media-types: ["application/octet-stream"]
"""
    imported = client.import_rest_api(body=definition.encode())
    assert imported["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert imported["name"] == "imported"
    assert imported["binaryMediaTypes"] == ["application/octet-stream"]
    paths = {r["path"] for r in client.get_resources(restApiId=imported["id"])["items"]}
    assert paths == {"/", "/hello"}
    overwritten = client.put_rest_api(
        restApiId=imported["id"],
        mode="overwrite",
        body=definition.replace("/hello", "/bye").encode(),
    )
    assert overwritten["name"] == "imported"
    paths = {r["path"] for r in client.get_resources(restApiId=imported["id"])["items"]}
    assert paths == {"/", "/bye"}
    client.create_deployment(restApiId=imported["id"], stageName="v1")
    view = service.snapshot().apis[imported["id"]]
    (route,) = view.deployments[view.stages["v1"].deployment_id].routes
    assert (route.resource_path, route.http_method) == ("/bye", "GET")
    code, _message, status = _error(client.import_rest_api, body=b"not: [an, api")
    assert (code, status) == ("BadRequestException", 400)
    client.delete_rest_api(restApiId=imported["id"])
