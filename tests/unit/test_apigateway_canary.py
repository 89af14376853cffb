"""Stage canaries: CreateDeployment/CreateStage/UpdateStage rules of reference §2.4."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apicanary.clock import VirtualClock
from apicanary.engine.apigateway.errors import VALID_STAGE_PATHS
from apicanary.engine.apigateway.service import ApiGatewayService
from apicanary.errors import AwsApiError
from apicanary.store import Store
from tests.support.apigw import Api, error_of, make_api

PROMOTE = [
    {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"},
    {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
    {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
]


@pytest.fixture
def svc() -> ApiGatewayService:
    return ApiGatewayService(Store(":memory:"), VirtualClock())


@pytest.fixture
def api(svc: ApiGatewayService) -> Api:
    return make_api(svc)


def _prod_with_canary(svc: ApiGatewayService, api: Api) -> tuple[str, str]:
    stable = svc.create_deployment(
        api.id, {"stageName": "prod", "variables": {"alias": "live", "only_prod": "x"}}
    )["id"]
    canary = svc.create_deployment(
        api.id,
        {
            "stageName": "prod",
            "canarySettings": {
                "percentTraffic": 10,
                "stageVariableOverrides": {"alias": "canary", "marker": "canary"},
            },
        },
    )["id"]
    return stable, canary


def _patch(svc: ApiGatewayService, api: Api, *ops: dict[str, Any], stage: str = "prod") -> Any:
    return svc.update_stage(api.id, stage, list(ops))


# -- CreateDeployment with canarySettings -----------------------------------------------------


def test_canary_deployment_leaves_production_alone(svc: ApiGatewayService, api: Api) -> None:
    stable, canary = _prod_with_canary(svc, api)
    stage = svc.get_stage(api.id, "prod")
    assert stage["deploymentId"] == stable
    assert stage["variables"] == {"alias": "live", "only_prod": "x"}
    assert stage["canarySettings"] == {
        "deploymentId": canary,
        "percentTraffic": 10.0,
        "stageVariableOverrides": {"alias": "canary", "marker": "canary"},
        "useStageCache": False,
    }


@pytest.mark.parametrize(
    ("stage_name", "shown"), [(None, "null"), ("", "")], ids=["missing", "empty"]
)
def test_canary_deployment_needs_a_stage_name(
    svc: ApiGatewayService, api: Api, stage_name: str | None, shown: str
) -> None:
    fields: dict[str, Any] = {"canarySettings": {"percentTraffic": 50}}
    if stage_name is not None:
        fields["stageName"] = stage_name
    error = error_of(lambda: svc.create_deployment(api.id, fields))
    assert (error.code, error.status) == ("BadRequestException", 400)
    assert error.message == (
        "Invalid deployment content specified.Non null and non empty stageName must be provided "
        f"for canary deployment. Provided value is {shown}"
    )


def test_canary_deployment_needs_an_existing_stage(svc: ApiGatewayService, api: Api) -> None:
    error = error_of(
        lambda: svc.create_deployment(
            api.id, {"stageName": "non-existing", "canarySettings": {"percentTraffic": 5}}
        )
    )
    assert error.message == (
        "Invalid deployment content specified.Stage non-existing must already be created before "
        "making a canary release deployment"
    )
    assert svc.get_deployments(api.id)["item"] == []


def test_plain_deployment_refused_on_a_canary_stage(svc: ApiGatewayService, api: Api) -> None:
    stable, canary = _prod_with_canary(svc, api)
    error = error_of(lambda: svc.create_deployment(api.id, {"stageName": "prod"}))
    assert error.code == "BadRequestException"
    assert error.message == (
        "Invalid deployment content specified.Non canary deployment not supported on stage prod "
        "because Canary is enabled. Provide CanarySettings in deploymentInput."
    )
    assert {d["id"] for d in svc.get_deployments(api.id)["item"]} == {stable, canary}


def test_second_canary_deployment_replaces_the_canary(svc: ApiGatewayService, api: Api) -> None:
    _stable, _first = _prod_with_canary(svc, api)
    second = svc.create_deployment(
        api.id, {"stageName": "prod", "canarySettings": {"percentTraffic": 50}}
    )["id"]
    canary = svc.get_stage(api.id, "prod")["canarySettings"]
    assert canary == {"deploymentId": second, "percentTraffic": 50.0, "useStageCache": False}


# -- CreateStage ---------------------------------------------------------------------------


def test_create_stage_with_canary_and_unknown_canary_deployment(
    svc: ApiGatewayService, api: Api
) -> None:
    deployment = svc.create_deployment(api.id, {})["id"]
    created = svc.create_stage(
        api.id,
        {
            "stageName": "dev",
            "deploymentId": deployment,
            "canarySettings": {"percentTraffic": 40, "stageVariableOverrides": {"v": "c"}},
        },
    )
    assert created["canarySettings"]["deploymentId"] == deployment
    error = error_of(
        lambda: svc.create_stage(
            api.id,
            {
                "stageName": "dev3",
                "deploymentId": deployment,
                "canarySettings": {"deploymentId": "x"},
            },
        )
    )
    assert (error.code, error.message) == ("BadRequestException", "Deployment id does not exist")


# -- UpdateStage canary paths --------------------------------------------------------------------


def test_replace_percent_creates_a_canary_on_the_stage_deployment(
    svc: ApiGatewayService, api: Api
) -> None:
    stable = svc.create_deployment(api.id, {"stageName": "prod"})["id"]
    stage = _patch(
        svc, api, {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "50"}
    )
    assert stage["canarySettings"] == {
        "deploymentId": stable,
        "percentTraffic": 50.0,
        "useStageCache": False,
    }


def test_canary_field_edits(svc: ApiGatewayService, api: Api) -> None:
    _stable, canary = _prod_with_canary(svc, api)
    other = svc.create_deployment(api.id, {})["id"]
    stage = _patch(
        svc,
        api,
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "25.5"},
        {"op": "replace", "path": "/canarySettings/stageVariableOverrides/alias", "value": "v2"},
        {"op": "remove", "path": "/canarySettings/stageVariableOverrides/marker"},
        {"op": "replace", "path": "/canarySettings/useStageCache", "value": "true"},
        {"op": "replace", "path": "/canarySettings/deploymentId", "value": other},
    )
    assert stage["canarySettings"] == {
        "deploymentId": other,
        "percentTraffic": 25.5,
        "stageVariableOverrides": {"alias": "v2"},
        "useStageCache": True,
    }
    assert canary != other


@pytest.mark.parametrize("value", ["-0.1", "100.01", "abc", "nan"])
def test_percent_out_of_range(svc: ApiGatewayService, api: Api, value: str) -> None:
    _prod_with_canary(svc, api)
    error = error_of(
        lambda: _patch(
            svc, api, {"op": "replace", "path": "/canarySettings/percentTraffic", "value": value}
        )
    )
    assert error.code == "BadRequestException"
    assert svc.get_stage(api.id, "prod")["canarySettings"]["percentTraffic"] == 10.0


@pytest.mark.parametrize("value", ["0", "100", "100.0"])
def test_percent_bounds_are_inclusive(svc: ApiGatewayService, api: Api, value: str) -> None:
    _prod_with_canary(svc, api)
    stage = _patch(
        svc, api, {"op": "replace", "path": "/canarySettings/percentTraffic", "value": value}
    )
    assert stage["canarySettings"]["percentTraffic"] == float(value)


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (
            {"op": "add", "path": "/canarySettings/deploymentId", "value": "x"},
            "Invalid add operation with path: /canarySettings/deploymentId",
        ),
        (
            {"op": "add", "path": "/canarySettings/percentTraffic", "value": "5"},
            "Invalid add operation with path: /canarySettings/percentTraffic",
        ),
        (
            {"op": "replace", "path": "/canarySettings", "value": "test"},
            f"Invalid method setting path: /canarySettings. Must be one of: {VALID_STAGE_PATHS}",
        ),
        (
            {"op": "replace", "path": "/canarySettings/badPath", "value": "x"},
            f"Invalid method setting path: /canarySettings/badPath. Must be one of: "
            f"{VALID_STAGE_PATHS}",
        ),
        (
            {"op": "remove", "path": "/canarySettings/stageVariableOverrides"},
            "Cannot remove method setting canarySettings/stageVariableOverrides because there is "
            "no method setting for this method ",
        ),
        (
            {"op": "remove", "path": "/canarySettings/badPath"},
            "Cannot remove method setting canarySettings/badPath because there is no method "
            "setting for this method ",
        ),
        (
            {"op": "replace", "path": "/canarySettings/deploymentId", "value": "deploy"},
            "Deployment id does not exist",
        ),
        (
            {"op": "replace", "path": "/deploymentId", "value": "deploy"},
            "Deployment id does not exist",
        ),
        (
            {"op": "copy", "path": "/canarySettings/stageVariableOverrides", "from": "/variables"},
            "Invalid copy operation with path: /canarySettings/stageVariableOverrides and from "
            "/variables. Valid copy:path are [/deploymentId, /variables] and valid copy:from are "
            "[/canarySettings/deploymentId, /canarySettings/stageVariableOverrides]",
        ),
        (
            {
                "op": "copy",
                "path": "/deploymentId",
                "from": "/canarySettings/stageVariableOverrides",
            },
            "Invalid copy operation with path: /deploymentId and from "
            "/canarySettings/stageVariableOverrides. Valid copy:path are [/deploymentId, "
            "/variables] and valid copy:from are [/canarySettings/deploymentId, "
            "/canarySettings/stageVariableOverrides]",
        ),
    ],
)
def test_update_stage_errors(
    svc: ApiGatewayService, api: Api, op: dict[str, Any], message: str
) -> None:
    _prod_with_canary(svc, api)
    before = svc.get_stage(api.id, "prod")
    error = error_of(lambda: _patch(svc, api, op))
    assert (error.code, error.status, error.message) == ("BadRequestException", 400, message)
    assert svc.get_stage(api.id, "prod") == before


def test_promotion_without_canary(svc: ApiGatewayService, api: Api) -> None:
    svc.create_deployment(api.id, {"stageName": "prod"})
    for op in PROMOTE[1:]:
        error = error_of(lambda op=op: _patch(svc, api, op))  # type: ignore[misc]
        assert error.message == "Promotion not available. Canary does not exist."


def test_update_unknown_stage(svc: ApiGatewayService, api: Api) -> None:
    error = error_of(lambda: _patch(svc, api, *PROMOTE, stage="nope"))
    assert (error.code, error.status, error.message) == (
        "NotFoundException",
        404,
        "Invalid Stage identifier specified",
    )


# -- promotion and rollback ------------------------------------------------------------------


def test_promotion_merges_overrides_and_keeps_the_canary(svc: ApiGatewayService, api: Api) -> None:
    _stable, canary = _prod_with_canary(svc, api)
    stage = _patch(svc, api, *PROMOTE)
    assert stage["deploymentId"] == canary
    assert stage["variables"] == {"alias": "canary", "only_prod": "x", "marker": "canary"}
    assert stage["canarySettings"] == {
        "deploymentId": canary,
        "percentTraffic": 0.0,
        "stageVariableOverrides": {"alias": "canary", "marker": "canary"},
        "useStageCache": False,
    }
    done = _patch(svc, api, {"op": "remove", "path": "/canarySettings"})
    assert "canarySettings" not in done
    assert done["deploymentId"] == canary
    # with the canary gone, plain deployments work again
    svc.create_deployment(api.id, {"stageName": "prod"})


def test_rollback_is_removing_the_canary(svc: ApiGatewayService, api: Api) -> None:
    stable, canary = _prod_with_canary(svc, api)
    stage = _patch(svc, api, {"op": "remove", "path": "/canarySettings"})
    assert "canarySettings" not in stage
    assert stage["deploymentId"] == stable
    assert stage["variables"] == {"alias": "live", "only_prod": "x"}
    svc.delete_deployment(api.id, canary)


def test_promotion_in_one_list_after_creating_the_canary(svc: ApiGatewayService, api: Api) -> None:
    stable = svc.create_deployment(api.id, {"stageName": "prod", "variables": {"a": "1"}})["id"]
    stage = _patch(svc, api, *PROMOTE)
    assert stage["deploymentId"] == stable
    assert stage["variables"] == {"a": "1"}
    assert stage["canarySettings"] == {
        "deploymentId": stable,
        "percentTraffic": 0.0,
        "useStageCache": False,
    }


def test_a_bad_op_later_in_the_list_changes_nothing(svc: ApiGatewayService, api: Api) -> None:
    _prod_with_canary(svc, api)
    before = svc.get_stage(api.id, "prod")
    revision = svc.revision
    error = error_of(
        lambda: _patch(
            svc,
            api,
            {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "90"},
            {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
            {"op": "replace", "path": "/variables/bad-name", "value": "v"},
        )
    )
    assert error.code == "BadRequestException"
    assert svc.get_stage(api.id, "prod") == before
    assert svc.revision == revision


# -- deployments in use ---------------------------------------------------------------------------


def test_delete_deployment_in_use(svc: ApiGatewayService, api: Api) -> None:
    stable, canary = _prod_with_canary(svc, api)
    error = error_of(lambda: svc.delete_deployment(api.id, stable))
    assert error.message == "Active stages pointing to this deployment must be moved or deleted"
    error = error_of(lambda: svc.delete_deployment(api.id, canary))
    assert error.code == "BadRequestException"
    assert "canary" in error.message


_OPS = [
    {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "30"},
    {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "130"},
    {"op": "replace", "path": "/canarySettings/stageVariableOverrides/alias", "value": "c2"},
    {"op": "remove", "path": "/canarySettings/stageVariableOverrides/alias"},
    {"op": "remove", "path": "/canarySettings"},
    {"op": "add", "path": "/canarySettings/useStageCache", "value": "true"},
    {"op": "replace", "path": "/variables/x", "value": "1"},
    {"op": "replace", "path": "/variables/x", "value": "no spaces allowed"},
    *PROMOTE,
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(_OPS), max_size=6))
def test_patch_lists_are_all_or_nothing(
    svc: ApiGatewayService, api: Api, ops: list[dict[str, Any]]
) -> None:
    svc.create_deployment(api.id, {"stageName": "p", "variables": {"alias": "live"}})
    before = svc.get_stage(api.id, "p")
    try:
        after = _patch(svc, api, *ops, stage="p")
    except AwsApiError:
        assert svc.get_stage(api.id, "p") == before
    else:
        assert svc.get_stage(api.id, "p") == after
        canary = after.get("canarySettings")
        assert canary is None or 0.0 <= canary["percentTraffic"] <= 100.0
    finally:
        svc.delete_stage(api.id, "p")
