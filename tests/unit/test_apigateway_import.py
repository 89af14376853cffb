"""ImportRestApi / PutRestApi from OpenAPI 3 and Swagger 2 definitions."""

from __future__ import annotations

import json

import pytest

from apicanary.clock import VirtualClock
from apicanary.engine.apigateway.service import ApiGatewayService
from apicanary.store import Store
from tests.support.apigw import LAMBDA_URI, error_of

OPENAPI_YAML = f"""
openapi: 3.0.1
info:
  title: shop
  description: the shop
paths:
  /items:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: "{LAMBDA_URI}"
        timeoutInMillis: 3000
  /items/{{id}}:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration:
        type: AWS_PROXY
        httpMethod: POST
        uri: "{LAMBDA_URI}"
x-amazon-apigateway-binary-media-types:
  - image/png
""".encode()

SWAGGER_JSON = json.dumps(
    {
        "swagger": "2.0",
        "info": {"title": "other"},
        "basePath": "/v1",
        "paths": {
            "/health": {
                "get": {
                    "x-amazon-apigateway-integration": {
                        "type": "aws_proxy",
                        "httpMethod": "POST",
                        "uri": LAMBDA_URI,
                    }
                }
            }
        },
    }
).encode()


@pytest.fixture
def svc() -> ApiGatewayService:
    return ApiGatewayService(Store(":memory:"), VirtualClock())


def _routes(svc: ApiGatewayService, api_id: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for resource in svc.get_resources(api_id, embed_methods=True)["item"]:
        for verb in resource.get("resourceMethods", {}):
            found.add((resource["path"], verb))
    return found


def test_import_openapi3_yaml(svc: ApiGatewayService) -> None:
    api = svc.import_rest_api(OPENAPI_YAML)
    assert (api["name"], api["description"]) == ("shop", "the shop")
    assert api["binaryMediaTypes"] == ["image/png"]
    assert _routes(svc, api["id"]) == {("/items", "GET"), ("/items/{id}", "ANY")}
    svc.create_deployment(api["id"], {"stageName": "prod"})
    snap = svc.snapshot().apis[api["id"]]
    routes = snap.deployments[snap.stages["prod"].deployment_id].routes
    assert [(r.resource_path, r.integration_type, r.timeout_in_millis) for r in routes] == [
        ("/items", "AWS_PROXY", 3000),
        ("/items/{id}", "AWS_PROXY", 29000),
    ]
    assert snap.binary_media_types == ("image/png",)


def test_put_merge_and_overwrite(svc: ApiGatewayService) -> None:
    api = svc.import_rest_api(OPENAPI_YAML)
    merged = svc.put_rest_api(api["id"], SWAGGER_JSON)
    assert merged["name"] == "shop"
    assert _routes(svc, api["id"]) == {
        ("/items", "GET"),
        ("/items/{id}", "ANY"),
        ("/health", "GET"),
    }
    replaced = svc.put_rest_api(api["id"], SWAGGER_JSON, mode="overwrite")
    assert replaced["name"] == "other"
    assert "binaryMediaTypes" not in replaced
    assert _routes(svc, api["id"]) == {("/health", "GET")}


@pytest.mark.parametrize(
    "body",
    [b"", b"[1, 2]", b"openapi: 3.0.0\ninfo: {title: x}\npaths: {/a b: {}}", b"info: {title: x}"],
)
def test_bad_definitions(svc: ApiGatewayService, body: bytes) -> None:
    assert error_of(lambda: svc.import_rest_api(body)).code == "BadRequestException"
    assert svc.get_rest_apis()["item"] == []


def test_bad_integration_in_definition_imports_nothing(svc: ApiGatewayService) -> None:
    body = OPENAPI_YAML.replace(b"timeoutInMillis: 3000", b"timeoutInMillis: 1")
    assert error_of(lambda: svc.import_rest_api(body)).code == "BadRequestException"
    assert svc.get_rest_apis()["item"] == []


def test_put_rest_api_mode(svc: ApiGatewayService) -> None:
    api = svc.import_rest_api(OPENAPI_YAML)
    error = error_of(lambda: svc.put_rest_api(api["id"], SWAGGER_JSON, mode="replace"))
    assert (
        error.message == 'Enumeration value of OpenAPI import mode must be "overwrite" or "merge"'
    )
