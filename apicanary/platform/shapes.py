"""The AWS shapes both backends speak: answers read as platform states, and the UpdateStage
operations of a stage canary.

The AWS backend gets GetAlias / UpdateAlias / GetStage / UpdateStage answers from boto3, the
local backend from the engine's services, which answer in the same shapes; both read them
here into :class:`~apicanary.platform.base.AliasState` and
:class:`~apicanary.platform.base.StageCanaryState`. A stage canary's lifecycle is three kinds
of patch: :func:`canary_patch` (set percent and overrides exactly), :data:`PROMOTION_OPS`
(the canary's deployment and overrides become the stage's) and :data:`REMOVE_CANARY_OPS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apicanary.errors import BadInputError
from apicanary.platform.base import AliasState, StageCanaryState


def http_api_has_no_stage_canary(name_or_id: str, api_id: str) -> BadInputError:
    """The refusal of ``--mode stage|both`` on an HTTP API (both backends raise it)."""
    return BadInputError(
        f"{name_or_id!r} is an HTTP API ({api_id}): HTTP API stages have no canary on AWS "
        "(the apigatewayv2 API has no canary settings; canary releases are REST-only)",
        hint="use alias mode (--mode alias, the default) with the route integrations "
        "invoking the alias",
    )


def alias_state(function: str, data: Mapping[str, Any]) -> AliasState:
    """An :class:`AliasState` from a GetAlias/UpdateAlias answer."""
    weights: Mapping[str, float] = (data.get("RoutingConfig") or {}).get(
        "AdditionalVersionWeights"
    ) or {}
    canary, weight = next(iter(weights.items()), (None, 0.0))
    return AliasState(
        function=function,
        alias=str(data["Name"]),
        primary=str(data["FunctionVersion"]),
        canary=None if canary is None else str(canary),
        weight=float(weight),
        revision_id=str(data.get("RevisionId") or ""),
        description=str(data.get("Description") or ""),
    )


def stage_state(api_id: str, data: Mapping[str, Any]) -> StageCanaryState:
    """A :class:`StageCanaryState` from a GetStage/UpdateStage answer."""
    canary = data.get("canarySettings")
    return StageCanaryState(
        api_id=api_id,
        stage=str(data["stageName"]),
        deployment_id=str(data.get("deploymentId") or ""),
        variables=dict(data.get("variables") or {}),
        canary_percent=None if canary is None else float(canary.get("percentTraffic") or 0.0),
        canary_deployment_id=None if canary is None else canary.get("deploymentId"),
        canary_overrides={} if canary is None else dict(canary.get("stageVariableOverrides") or {}),
    )


def _pointer(key: str) -> str:
    """A JSON-pointer segment (RFC 6901 escaping)."""
    return key.replace("~", "~0").replace("/", "~1")


def _percent_text(percent: float) -> str:
    return repr(float(percent))


def canary_patch(
    current: StageCanaryState, percent: float, overrides: Mapping[str, str]
) -> list[dict[str, str]]:
    """The UpdateStage operations that make an existing canary exactly ``percent`` +
    ``overrides`` (empty when it already is)."""
    ops: list[dict[str, str]] = []
    if current.canary_percent is None or current.canary_percent != float(percent):
        ops.append(
            {
                "op": "replace",
                "path": "/canarySettings/percentTraffic",
                "value": _percent_text(percent),
            }
        )
    base = "/canarySettings/stageVariableOverrides/"
    for key, value in sorted(overrides.items()):
        if current.canary_overrides.get(key) != value:
            ops.append({"op": "replace", "path": base + _pointer(key), "value": value})
    for key in sorted(set(current.canary_overrides) - set(overrides)):
        ops.append({"op": "remove", "path": base + _pointer(key)})
    return ops


PROMOTION_OPS: tuple[dict[str, str], ...] = (
    {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"},
    {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
    {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
)
REMOVE_CANARY_OPS: tuple[dict[str, str], ...] = ({"op": "remove", "path": "/canarySettings"},)
