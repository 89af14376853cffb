"""The bundled example projects load into the specs the demo and the engine rely on."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apicanary.project.loader import load_project
from apicanary.project.specs import DeploymentPreferenceSpec, IntegrationSpec
from tests.conftest import EXAMPLES

INVOKE = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:123456789012:function:{}:live/invocations"
)


def test_orders_api_template() -> None:
    project = load_project(EXAMPLES / "orders-api" / "template.yaml")
    (fn,) = project.functions
    assert fn.logical_id == fn.function_name == "OrdersFunction"
    assert fn.code_dir == EXAMPLES / "orders-api" / "src"
    assert (fn.handler, fn.runtime, fn.timeout, fn.memory_size) == (
        "app.handler",
        "python3.11",
        3,
        128,
    )
    assert fn.auto_publish_alias == "live"
    assert fn.deployment_preference == DeploymentPreferenceSpec(
        "Canary10Percent5Minutes", alarms=("OrdersErrorsAlarm",)
    )
    assert {(e.method, e.path) for e in fn.api_events} == {
        ("GET", "/orders"),
        ("GET", "/orders/{id}"),
        ("POST", "/orders"),
        ("GET", "/health"),
    }
    (api,) = project.apis
    assert (api.logical_id, api.stage_name, api.implicit) == ("ServerlessRestApi", "Prod", True)
    integration = IntegrationSpec(
        "AWS_PROXY", INVOKE.format("OrdersFunction"), "OrdersFunction", "live"
    )
    assert {(r.method, r.path) for r in api.routes} == {(e.method, e.path) for e in fn.api_events}
    assert all(r.integration == integration for r in api.routes)
    (alarm,) = project.alarms
    assert alarm.alarm_name == "OrdersErrorsAlarm"
    spec = alarm.put_metric_alarm
    assert (spec["Namespace"], spec["MetricName"], spec["Statistic"]) == (
        "AWS/Lambda",
        "Errors",
        "Sum",
    )
    assert {"Name": "Resource", "Value": "OrdersFunction:live"} in spec["Dimensions"]
    assert not any(d["Name"] == "ExecutedVersion" for d in spec["Dimensions"])
    assert (spec["Period"], spec["EvaluationPeriods"], spec["DatapointsToAlarm"]) == (60, 1, 1)
    assert (spec["Threshold"], spec["ComparisonOperator"], spec["TreatMissingData"]) == (
        1.0,
        "GreaterThanOrEqualToThreshold",
        "notBreaching",
    )


def test_powertools_api_template() -> None:
    project = load_project(EXAMPLES / "powertools-api")
    (fn,) = project.functions
    assert (fn.logical_id, fn.handler, fn.auto_publish_alias) == (
        "ItemsFunction",
        "app.lambda_handler",
        "live",
    )
    assert fn.environment == {"POWERTOOLS_SERVICE_NAME": "items-api", "MAX_PAGE_SIZE": "50"}
    (api,) = project.apis
    assert (api.logical_id, api.name, api.stage_name) == ("ItemsApi", "items-api", "prod")
    assert api.variables == {"lambdaAlias": "live"}
    assert {(r.method, r.path) for r in api.routes} == {
        ("GET", "/items"),
        ("POST", "/items"),
        ("GET", "/items/{item_id}"),
        ("DELETE", "/items/{item_id}"),
        ("GET", "/hello/{name}"),
    }
    assert {r.integration.function for r in api.routes} == {"ItemsFunction"}
    assert (
        load_project(EXAMPLES / "powertools-api", parameter_overrides={"StageName": "dev"})
        .apis[0]
        .stage_name
        == "dev"
    )


def _load_handler(example: str, name: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    path = EXAMPLES / example / "src" / "app.py"
    spec = importlib.util.spec_from_file_location(f"example_{example.replace('-', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] = getattr(module, name)
    return handler


def _event(method: str, path: str, resource: str, body: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"stage": "Prod", "resourcePath": resource, "httpMethod": method},
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
        **extra,
    }


CONTEXT = types.SimpleNamespace(
    function_version="7",
    function_name="f",
    aws_request_id="r",
    invoked_function_arn="arn",
    memory_limit_in_mb=128,
)


def test_orders_handler() -> None:
    handler = _load_handler("orders-api", "handler")
    health = handler(_event("GET", "/health", "/health"), CONTEXT)
    assert health["statusCode"] == 200
    assert health["headers"] == {"Content-Type": "application/json", "x-app-version": "7"}
    listing = json.loads(handler(_event("GET", "/orders", "/orders"), CONTEXT)["body"])
    assert len(listing["orders"]) >= 3
    created = handler(_event("POST", "/orders", "/orders", {"item": "tea", "quantity": 2}), CONTEXT)
    assert created["statusCode"] == 201
    order = json.loads(created["body"])
    fetched = handler(
        _event("GET", f"/orders/{order['id']}", "/orders/{id}", pathParameters={"id": order["id"]}),
        CONTEXT,
    )
    assert json.loads(fetched["body"]) == order
    missing = handler(
        _event("GET", "/orders/x", "/orders/{id}", pathParameters={"id": "x"}), CONTEXT
    )
    assert missing["statusCode"] == 404
    for bad in ("{nope", {"item": "", "quantity": 0}, [1], {"item": "a", "quantity": 1, "x": 1}):
        response = handler(_event("POST", "/orders", "/orders", bad), CONTEXT)
        assert response["statusCode"] == 400
        assert "message" in json.loads(response["body"])
    assert handler(_event("DELETE", "/orders", "/orders"), CONTEXT)["statusCode"] == 405
    no_context = handler(_event("GET", "/health", "/health"), None)
    assert no_context["headers"]["x-app-version"] == "$LATEST"


def test_powertools_handler() -> None:
    pytest.importorskip("aws_lambda_powertools")
    handler = _load_handler("powertools-api", "lambda_handler")
    listing = handler(
        _event(
            "GET",
            "/items",
            "/items",
            queryStringParameters={"limit": "1"},
            multiValueQueryStringParameters={"limit": ["1"]},
        ),
        CONTEXT,
    )
    assert listing["statusCode"] == 200
    assert len(json.loads(listing["body"])["items"]) == 1
    assert listing["multiValueHeaders"]["x-app-version"] == ["7"]
    created = handler(
        _event("POST", "/items", "/items", {"name": "pen", "tags": ["desk"]}), CONTEXT
    )
    assert created["statusCode"] == 201
    item = json.loads(created["body"])
    assert created["multiValueHeaders"]["Location"] == [f"/items/{item['id']}"]
    assert handler(_event("POST", "/items", "/items", "{bad"), CONTEXT)["statusCode"] == 400
    got = handler(_event("GET", f"/items/{item['id']}", "/items/{item_id}"), CONTEXT)
    assert json.loads(got["body"]) == item
    gone = handler(_event("DELETE", f"/items/{item['id']}", "/items/{item_id}"), CONTEXT)
    assert gone["statusCode"] == 204
    missing = handler(_event("GET", f"/items/{item['id']}", "/items/{item_id}"), CONTEXT)
    assert missing["statusCode"] == 404
    assert missing["multiValueHeaders"]["x-app-version"] == ["7"]
    hello = handler(
        _event("GET", "/hello/ana", "/hello/{name}", stageVariables={"lambdaAlias": "live"}),
        CONTEXT,
    )
    assert json.loads(hello["body"]) == {"message": "Hello, ana!", "alias": "live", "stage": "Prod"}


def test_examples_are_plain_projects() -> None:
    for example in ("orders-api", "powertools-api"):
        root = EXAMPLES / example
        assert sorted(
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ) == ["src/app.py", "template.yaml"]
    orders_source = (EXAMPLES / "orders-api" / "src" / "app.py").read_text()
    imports = {
        line.split()[1].split(".")[0]
        for line in orders_source.splitlines()
        if line.startswith(("import ", "from "))
    }
    assert imports <= set(sys.stdlib_module_names) | {"__future__"}


def test_example_dirs_exist() -> None:
    assert Path(EXAMPLES / "orders-api" / "template.yaml").is_file()
