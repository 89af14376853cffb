"""ApiGatewayService: APIs, resources, methods, integrations, deployments, stages, snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from apicanary.clock import VirtualClock
from apicanary.engine.apigateway.service import ApiGatewayService
from apicanary.engine.apigateway.snapshot import GatewaySnapshot
from apicanary.store import Store
from tests.support.apigw import FUNCTION, LAMBDA_URI, Api, error_of, make_api


@pytest.fixture
def svc() -> ApiGatewayService:
    return ApiGatewayService(Store(":memory:"), VirtualClock(1_700_000_000.0))


@pytest.fixture
def api(svc: ApiGatewayService) -> Api:
    return make_api(svc)


def _uri(function: str) -> str:
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function}/invocations"


# -- REST APIs -------------------------------------------------------------------------------


def test_create_get_list_delete_rest_api(svc: ApiGatewayService) -> None:
    created = svc.create_rest_api(
        {"name": "shop", "description": "d", "binaryMediaTypes": ["image/png"]}
    )
    assert created["createdDate"] == 1_700_000_000
    assert created["binaryMediaTypes"] == ["image/png"]
    assert svc.get_rest_api(created["id"]) == created
    resources = svc.get_resources(created["id"])["item"]
    assert resources == [{"id": created["rootResourceId"], "path": "/"}]
    assert [a["id"] for a in svc.get_rest_apis()["item"]] == [created["id"]]
    svc.delete_rest_api(created["id"])
    error = error_of(lambda: svc.get_rest_api(created["id"]))
    assert (error.code, error.status) == ("NotFoundException", 404)
    assert error.message == f"Invalid API identifier specified 123456789012:{created['id']}"


def test_list_pagination(svc: ApiGatewayService) -> None:
    for index in range(5):
        svc.create_rest_api({"name": f"api{index}"})
    first = svc.get_rest_apis(limit=2)
    assert len(first["item"]) == 2 and first["position"] == "2"
    rest = svc.get_rest_apis(position=first["position"], limit=10)
    assert len(rest["item"]) == 3 and "position" not in rest


# -- resources -------------------------------------------------------------------------------


def test_resource_tree_and_paths(svc: ApiGatewayService, api: Api) -> None:
    items = svc.create_resource(api.id, api.root_id, "items")
    item = svc.create_resource(api.id, items["id"], "{id}")
    assert item == {
        "id": item["id"],
        "parentId": items["id"],
        "pathPart": "{id}",
        "path": "/items/{id}",
    }
    paths = [r["path"] for r in svc.get_resources(api.id)["item"]]
    assert paths == ["/", "/items", "/items/{id}", "/{proxy+}"]
    embedded = svc.get_resource(api.id, api.proxy_id, embed_methods=True)
    assert embedded["resourceMethods"]["ANY"]["methodIntegration"]["uri"] == LAMBDA_URI
    assert svc.get_resource(api.id, api.proxy_id)["resourceMethods"] == {"ANY": {}}


@pytest.mark.parametrize("part", ["a b", "{id", "id}", "{a+b}", "a/b", "$metadata", "{+}"])
def test_invalid_path_parts(svc: ApiGatewayService, api: Api, part: str) -> None:
    error = error_of(lambda: svc.create_resource(api.id, api.root_id, part))
    assert error.code == "BadRequestException"
    assert error.message.startswith("Resource's path part only allow a-zA-Z0-9._-")


def test_resource_conflicts(svc: ApiGatewayService, api: Api) -> None:
    svc.create_resource(api.id, api.root_id, "items")
    error = error_of(lambda: svc.create_resource(api.id, api.root_id, "items"))
    assert (error.code, error.status) == ("ConflictException", 409)
    assert error.message == "Another resource with the same parent already has this name: items"
    assert error_of(lambda: svc.create_resource(api.id, api.root_id, "{id}")).code == (
        "BadRequestException"
    )
    greedy = error_of(lambda: svc.create_resource(api.id, api.proxy_id, "x"))
    assert "greedy" in greedy.message
    missing = error_of(lambda: svc.create_resource(api.id, "nope", "x"))
    assert (missing.code, missing.message) == (
        "NotFoundException",
        "Invalid Resource identifier specified",
    )


def test_delete_resource_cascades(svc: ApiGatewayService, api: Api) -> None:
    items = svc.create_resource(api.id, api.root_id, "items")
    child = svc.create_resource(api.id, items["id"], "{id}")
    svc.put_method(api.id, child["id"], "GET", {"authorizationType": "NONE"})
    svc.delete_resource(api.id, items["id"])
    assert [r["path"] for r in svc.get_resources(api.id)["item"]] == ["/", "/{proxy+}"]
    assert error_of(lambda: svc.get_resource(api.id, child["id"])).code == "NotFoundException"
    assert error_of(lambda: svc.delete_resource(api.id, api.root_id)).code == "BadRequestException"


# -- methods and integrations ------------------------------------------------------------------


def test_methods(svc: ApiGatewayService, api: Api) -> None:
    method = svc.put_method(api.id, api.root_id, "get", {"authorizationType": "NONE"})
    assert method == {"httpMethod": "GET", "authorizationType": "NONE", "apiKeyRequired": False}
    assert svc.get_method(api.id, api.root_id, "GET") == method
    again = error_of(
        lambda: svc.put_method(api.id, api.root_id, "GET", {"authorizationType": "NONE"})
    )
    assert again.code == "ConflictException"
    bad = error_of(
        lambda: svc.put_method(api.id, api.root_id, "FETCH", {"authorizationType": "NONE"})
    )
    assert bad.code == "BadRequestException"
    auth = error_of(lambda: svc.put_method(api.id, api.root_id, "PUT", {"authorizationType": "X"}))
    assert auth.code == "BadRequestException"
    svc.delete_method(api.id, api.root_id, "GET")
    gone = error_of(lambda: svc.get_method(api.id, api.root_id, "GET"))
    assert (gone.code, gone.message) == ("NotFoundException", "Invalid Method identifier specified")


@pytest.mark.parametrize(
    "function",
    [
        FUNCTION,
        f"{FUNCTION}:7",
        f"{FUNCTION}:live",
        f"{FUNCTION}:${{stageVariables.alias}}",
        "arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}",
    ],
)
def test_lambda_uris_accepted(svc: ApiGatewayService, api: Api, function: str) -> None:
    svc.put_method(api.id, api.root_id, "GET", {"authorizationType": "NONE"})
    integration = svc.put_integration(
        api.id,
        api.root_id,
        "GET",
        {"type": "AWS_PROXY", "httpMethod": "POST", "uri": _uri(function), "timeoutInMillis": 5000},
    )
    assert integration["uri"] == _uri(function)
    assert integration["timeoutInMillis"] == 5000
    assert svc.get_integration(api.id, api.root_id, "GET") == integration


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"type": "AWS_PROXY", "uri": LAMBDA_URI},
            "Enumeration value for HttpMethod must be non-empty",
        ),
        (
            {"type": "AWS_PROXY", "httpMethod": "POST", "uri": "lambda:fn"},
            "Invalid ARN specified in the request",
        ),
        (
            {
                "type": "AWS_PROXY",
                "httpMethod": "POST",
                "uri": "arn:aws:apigateway:us-east-1:s3:path/bucket/key",
            },
            "Integrations of type 'AWS_PROXY' currently only supports Lambda function and "
            "Firehose stream invocations.",
        ),
        ({"type": "WEIRD"}, None),
        (
            {"type": "AWS_PROXY", "httpMethod": "POST", "uri": LAMBDA_URI, "timeoutInMillis": 49},
            None,
        ),
        (
            {
                "type": "AWS_PROXY",
                "httpMethod": "POST",
                "uri": LAMBDA_URI,
                "timeoutInMillis": 29001,
            },
            None,
        ),
        ({"type": "AWS_PROXY", "httpMethod": "POST", "uri": _uri("arn:aws:lambda:x")}, None),
    ],
)
def test_integration_errors(
    svc: ApiGatewayService, api: Api, fields: dict[str, Any], message: str | None
) -> None:
    svc.put_method(api.id, api.root_id, "GET", {"authorizationType": "NONE"})
    error = error_of(lambda: svc.put_integration(api.id, api.root_id, "GET", fields))
    assert error.code == "BadRequestException"
    if message is not None:
        assert error.message == message
    missing = error_of(lambda: svc.get_integration(api.id, api.root_id, "GET"))
    assert (missing.code, missing.message) == (
        "NotFoundException",
        "No integration defined for method",
    )


def test_lambda_integration_with_get_is_stored_as_aws_does(
    svc: ApiGatewayService, api: Api
) -> None:
    """AWS accepts it and fails requests (500); the route carries the method for the gateway."""
    svc.put_integration(
        api.id, api.proxy_id, "ANY", {"type": "AWS_PROXY", "httpMethod": "GET", "uri": LAMBDA_URI}
    )
    svc.create_deployment(api.id, {"stageName": "prod"})
    snap = svc.snapshot().apis[api.id]
    route = snap.deployments[snap.stages["prod"].deployment_id].routes[0]
    assert route.integration_http_method == "GET"


def test_other_integration_types_are_stored(svc: ApiGatewayService, api: Api) -> None:
    svc.put_method(api.id, api.root_id, "GET", {"authorizationType": "NONE"})
    mock = svc.put_integration(api.id, api.root_id, "GET", {"type": "MOCK"})
    assert mock["type"] == "MOCK" and "uri" not in mock


# -- deployments -----------------------------------------------------------------------------


def test_deployment_requires_methods_with_integrations(svc: ApiGatewayService) -> None:
    empty = svc.create_rest_api({"name": "empty"})
    error = error_of(lambda: svc.create_deployment(empty["id"], {}))
    assert error.message == "The REST API doesn't contain any methods"
    svc.put_method(empty["id"], empty["rootResourceId"], "GET", {"authorizationType": "NONE"})
    error = error_of(lambda: svc.create_deployment(empty["id"], {"stageName": "prod"}))
    assert (error.code, error.message) == (
        "BadRequestException",
        "No integration defined for method",
    )
    assert error_of(lambda: svc.get_stage(empty["id"], "prod")).code == "NotFoundException"


def test_deployments_are_immutable_snapshots(svc: ApiGatewayService, api: Api) -> None:
    first = svc.create_deployment(api.id, {"stageName": "prod", "description": "v1"})
    assert first == {"id": first["id"], "description": "v1", "createdDate": 1_700_000_000}
    svc.put_method(api.id, api.root_id, "GET", {"authorizationType": "NONE"})
    svc.put_integration(api.id, api.root_id, "GET", {"type": "MOCK"})
    snap = svc.snapshot().apis[api.id]
    assert [r.resource_path for r in snap.deployments[first["id"]].routes] == ["/{proxy+}"]
    second = svc.create_deployment(api.id, {"stageName": "prod"})
    snap = svc.snapshot().apis[api.id]
    assert snap.stages["prod"].deployment_id == second["id"]
    assert [r.resource_path for r in snap.deployments[second["id"]].routes] == ["/", "/{proxy+}"]
    summary = svc.get_deployment(api.id, first["id"], embed_summary=True)["apiSummary"]
    assert summary == {"/{proxy+}": {"ANY": {"authorizationType": "NONE", "apiKeyRequired": False}}}
    svc.delete_deployment(api.id, first["id"])
    gone = error_of(lambda: svc.get_deployment(api.id, first["id"]))
    assert (gone.code, gone.message) == (
        "NotFoundException",
        "Invalid Deployment identifier specified",
    )


def test_deployment_variables_merge_into_an_existing_stage(
    svc: ApiGatewayService, api: Api
) -> None:
    svc.create_deployment(api.id, {"stageName": "prod", "variables": {"a": "1", "b": "2"}})
    svc.create_deployment(api.id, {"stageName": "prod", "variables": {"b": "3"}})
    assert svc.get_stage(api.id, "prod")["variables"] == {"a": "1", "b": "3"}


# -- stages ------------------------------------------------------------------------------------


def test_stage_crud(svc: ApiGatewayService, api: Api) -> None:
    deployment = svc.create_deployment(api.id, {})["id"]
    stage = svc.create_stage(
        api.id, {"stageName": "dev", "deploymentId": deployment, "description": "dev stage"}
    )
    assert stage == {
        "stageName": "dev",
        "deploymentId": deployment,
        "description": "dev stage",
        "methodSettings": {},
        "tracingEnabled": False,
        "cacheClusterEnabled": False,
        "cacheClusterStatus": "NOT_AVAILABLE",
        "createdDate": 1_700_000_000,
        "lastUpdatedDate": 1_700_000_000,
    }
    dup = error_of(
        lambda: svc.create_stage(api.id, {"stageName": "dev", "deploymentId": deployment})
    )
    assert dup.code == "ConflictException"
    unknown = error_of(lambda: svc.create_stage(api.id, {"stageName": "qa", "deploymentId": "zz"}))
    assert unknown.message == "Deployment id does not exist"
    assert [s["stageName"] for s in svc.get_stages(api.id, deployment)["item"]] == ["dev"]
    assert svc.get_stages(api.id, "other")["item"] == []
    svc.delete_stage(api.id, "dev")
    assert error_of(lambda: svc.delete_stage(api.id, "dev")).message == (
        "Invalid Stage identifier specified"
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"stageName": "bad name"},
        {"stageName": "x" * 129},
        {"stageName": "ok", "variables": {"bad-name": "v"}},
        {"stageName": "ok", "variables": {"n" * 65: "v"}},
        {"stageName": "ok", "variables": {"n": "has space"}},
        {"stageName": "ok", "variables": {"n": "v" * 513}},
        {"stageName": "ok", "variables": {f"v{i}": "x" for i in range(101)}},
    ],
)
def test_stage_validation(svc: ApiGatewayService, api: Api, fields: dict[str, Any]) -> None:
    deployment = svc.create_deployment(api.id, {})["id"]
    error = error_of(lambda: svc.create_stage(api.id, {"deploymentId": deployment, **fields}))
    assert error.code == "BadRequestException"


def test_stage_variable_limits_accept_the_maximum(svc: ApiGatewayService, api: Api) -> None:
    deployment = svc.create_deployment(api.id, {})["id"]
    variables = {f"v{i}": "x" for i in range(99)} | {"n" * 64: "a-Z0._~:/?#&=," * 30}
    stage = svc.create_stage(
        api.id, {"stageName": "s" * 128, "deploymentId": deployment, "variables": variables}
    )
    assert len(stage["variables"]) == 100


def test_stage_limit(svc: ApiGatewayService, api: Api) -> None:
    deployment = svc.create_deployment(api.id, {})["id"]
    for index in range(10):
        svc.create_stage(api.id, {"stageName": f"s{index}", "deploymentId": deployment})
    error = error_of(
        lambda: svc.create_stage(api.id, {"stageName": "s10", "deploymentId": deployment})
    )
    assert error.code == "LimitExceededException"


def test_variable_patches_and_other_stage_paths(svc: ApiGatewayService, api: Api) -> None:
    svc.create_deployment(api.id, {"stageName": "prod", "variables": {"a": "1"}})
    stage = svc.update_stage(
        api.id,
        "prod",
        [
            {"op": "add", "path": "/variables/b", "value": "2"},
            {"op": "replace", "path": "/variables/a", "value": "10"},
            {"op": "remove", "path": "/variables/b"},
            {"op": "replace", "path": "/description", "value": "live"},
            {"op": "replace", "path": "/tracingEnabled", "value": "true"},
            {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"},
        ],
    )
    assert stage["variables"] == {"a": "10"}
    assert stage["description"] == "live"
    assert stage["tracingEnabled"] is True
    assert stage["methodSettings"]["*/*"]["metricsEnabled"] is True
    bad = error_of(
        lambda: svc.update_stage(api.id, "prod", [{"op": "move", "path": "/variables/a"}])
    )
    assert bad.code == "BadRequestException"


# -- snapshot and change notification -------------------------------------------------------------


def test_snapshot_and_listeners(svc: ApiGatewayService, api: Api) -> None:
    seen: list[GatewaySnapshot] = []
    svc.on_change(seen.append)
    before = svc.revision
    stable = svc.create_deployment(api.id, {"stageName": "prod", "variables": {"alias": "live"}})
    canary = svc.create_deployment(
        api.id,
        {
            "stageName": "prod",
            "canarySettings": {"percentTraffic": 5, "stageVariableOverrides": {"alias": "c"}},
        },
    )
    assert svc.revision == before + 2
    assert [s.revision for s in seen] == [before + 1, before + 2]
    snap = seen[-1]
    assert snap is svc.snapshot()
    api_view = snap.apis[api.id]
    assert api_view.name == "shop" and api_view.binary_media_types == ()
    stage = api_view.stages["prod"]
    assert stage.deployment_id == stable["id"]
    assert dict(stage.variables) == {"alias": "live"}
    assert stage.canary is not None
    assert stage.canary.deployment_id == canary["id"]
    assert stage.canary.percent_traffic == 5.0
    assert dict(stage.canary.stage_variable_overrides) == {"alias": "c"}
    assert set(api_view.deployments) == {stable["id"], canary["id"]}
    (route,) = api_view.deployments[canary["id"]].routes
    assert (route.resource_path, route.http_method, route.integration_type) == (
        "/{proxy+}",
        "ANY",
        "AWS_PROXY",
    )
    assert route.integration_uri == LAMBDA_URI
    assert route.timeout_in_millis == 29_000
    with pytest.raises(TypeError):
        stage.variables["alias"] = "x"  # type: ignore[index]
    error_of(lambda: svc.create_deployment(api.id, {"stageName": "prod"}))
    assert len(seen) == 2  # a failed write notifies nobody


def test_a_failing_listener_does_not_undo_the_write(svc: ApiGatewayService) -> None:
    def boom(_snapshot: GatewaySnapshot) -> None:
        raise RuntimeError("listener bug")

    svc.on_change(boom)
    created = svc.create_rest_api({"name": "a"})
    assert svc.get_rest_api(created["id"])["name"] == "a"


def test_state_survives_a_restart(store: Store, tmp_path: Any) -> None:
    first = ApiGatewayService(store, VirtualClock())
    api = make_api(first)
    first.create_deployment(api.id, {"stageName": "prod"})
    revision = first.revision
    reopened = ApiGatewayService(Store(tmp_path / "state"), VirtualClock())
    assert reopened.revision == revision
    assert reopened.snapshot().apis[api.id].stages["prod"].canary is None
