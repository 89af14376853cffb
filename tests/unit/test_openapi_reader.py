"""The one OpenAPI reader (project/openapi.py), and its two callers agreeing on what it reads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apicanary.clock import VirtualClock
from apicanary.engine.apigateway.service import ApiGatewayService
from apicanary.errors import TemplateError
from apicanary.project.openapi import load_document, read_definition
from apicanary.store import Store
from tests.support.apigw import LAMBDA_URI, error_of

INTEGRATION = {"type": "aws_proxy", "httpMethod": "POST", "uri": LAMBDA_URI}


def test_paths_operations_and_integrations_in_document_order() -> None:
    document: dict[str, Any] = {
        "paths": {
            "/": None,
            "/items": {
                "summary": "not an operation",
                "parameters": [],
                "GET": {"x-amazon-apigateway-integration": INTEGRATION},
                "post": None,
            },
            "/items/{id}": {"x-amazon-apigateway-any-method": {"responses": {}}},
        }
    }
    definition = read_definition(document, "Body")
    assert definition.paths == ("/", "/items", "/items/{id}")
    assert [(op.path, op.method, op.location) for op in definition.operations] == [
        ("/items", "GET", "Body.paths./items.GET"),
        ("/items", "POST", "Body.paths./items.post"),
        ("/items/{id}", "ANY", "Body.paths./items/{id}.x-amazon-apigateway-any-method"),
    ]
    assert definition.operations[0].integration == INTEGRATION
    assert [op.integration for op in definition.operations[1:]] == [None, None]


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        ({"items": {}}, "paths.items: path \"items\" must start with '/'"),
        ({"/a": "text"}, 'paths./a: "text" is not a mapping'),
        ({"/a": {"get": [1]}}, "paths./a.get: [1] is not a mapping"),
        (
            {"/a": {"get": {"x-amazon-apigateway-integration": "aws_proxy"}}},
            'paths./a.get.x-amazon-apigateway-integration: "aws_proxy" is not a mapping',
        ),
        (["/a"], 'paths: ["/a"] is not a mapping'),
    ],
)
def test_shape_errors_name_the_location(paths: Any, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        read_definition({"paths": paths}, "")
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"  ", "the definition is empty"),
        (b"[1, 2]", "the definition must be an object"),
        (b"info: {title: x}", "the definition must declare 'openapi: 3.x' or 'swagger: 2.0'"),
        (b"openapi: [unclosed", "the definition is not JSON nor YAML"),
    ],
)
def test_load_document_refuses(body: bytes, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        load_document(body)
    assert caught.value.message.startswith(message)


def test_load_document_reads_json_and_yaml() -> None:
    as_json = json.dumps({"swagger": "2.0", "paths": {"/a": {}}}).encode()
    as_yaml = b"openapi: 3.0.1\npaths:\n  /a: {}\n"
    assert read_definition(load_document(as_json), "").paths == ("/a",)
    assert read_definition(load_document(as_yaml), "").paths == ("/a",)


def test_import_rest_api_reports_the_readers_error_as_bad_request() -> None:
    svc = ApiGatewayService(Store(":memory:"), VirtualClock())
    body = json.dumps({"openapi": "3.0.1", "paths": {"/a": {"get": [1]}}}).encode()
    error = error_of(lambda: svc.import_rest_api(body))
    assert error.code == "BadRequestException"
    assert error.message == "Invalid OpenAPI input: paths./a.get: [1] is not a mapping"
    assert svc.get_rest_apis()["item"] == []
