"""Stages: the stored form, its rendering in the API's ``Stage`` shape, canary construction.

Stored form (a JSON object in SQLite): the ``Stage`` fields, with ``variables`` and
``methodSettings`` always present (possibly empty) and ``canarySettings`` either ``None`` or
a full object whose ``stageVariableOverrides`` is always a map. Rendering drops what AWS
leaves out: empty ``variables``, an absent canary, empty overrides ([Rec] snapshots).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from apicanary.engine.apigateway import errors as err
from apicanary.engine.apigateway import validate as valid
from apicanary.engine.apigateway.patch import new_canary


def new_stage(
    name: str,
    deployment_id: str,
    now: int,
    *,
    description: str | None = None,
    variables: Mapping[str, str] | None = None,
    canary: dict[str, Any] | None = None,
    tracing_enabled: bool | None = None,
    cache_cluster_enabled: bool | None = None,
    cache_cluster_size: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A stage in the stored form; inputs are assumed validated."""
    stage: dict[str, Any] = {
        "stageName": name,
        "deploymentId": deployment_id,
        "variables": dict(variables or {}),
        "canarySettings": canary,
        "methodSettings": {},
        "tracingEnabled": bool(tracing_enabled),
        "cacheClusterEnabled": bool(cache_cluster_enabled),
        "createdDate": now,
        "lastUpdatedDate": now,
    }
    if description is not None:
        stage["description"] = description
    if cache_cluster_size is not None:
        stage["cacheClusterSize"] = cache_cluster_size
    if tags:
        stage["tags"] = dict(tags)
    return stage


def canary_from_input(settings: Mapping[str, Any], deployment_id: str) -> dict[str, Any]:
    """A stored canary from a ``CanarySettings`` / ``DeploymentCanarySettings`` input.

    ``deployment_id`` is used when the input names none (always for CreateDeployment, where
    the new deployment becomes the canary). The caller checks that it exists.
    """
    if not isinstance(settings, Mapping):
        raise err.bad_request("canarySettings must be an object")
    canary = new_canary(str(settings.get("deploymentId") or deployment_id))
    if settings.get("percentTraffic") is not None:
        canary["percentTraffic"] = valid.percent_traffic(settings["percentTraffic"])
    canary["stageVariableOverrides"] = valid.variables(
        settings.get("stageVariableOverrides"), "variable overrides"
    )
    if settings.get("useStageCache") is not None:
        canary["useStageCache"] = valid.boolean(
            settings["useStageCache"], "canarySettings.useStageCache"
        )
    return canary


def render_stage(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Stage`` shape AWS returns for a stored stage."""
    stage = copy.deepcopy(dict(stored))
    if not stage.get("variables"):
        stage.pop("variables", None)
    canary = stage.pop("canarySettings", None)
    if canary is not None:
        if not canary.get("stageVariableOverrides"):
            canary.pop("stageVariableOverrides", None)
        stage["canarySettings"] = canary
    stage["cacheClusterStatus"] = (
        "AVAILABLE" if stage.get("cacheClusterEnabled") else "NOT_AVAILABLE"
    )
    return stage


def referenced_deployments(stored: Mapping[str, Any]) -> set[str]:
    """The deployments this stage (and its canary) point to."""
    ids = {str(stored["deploymentId"])}
    canary = stored.get("canarySettings")
    if canary is not None:
        ids.add(str(canary["deploymentId"]))
    return ids
