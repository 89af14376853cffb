"""Derived views of stored API Gateway state: resource paths, the frozen route list a
deployment captures, a deployment's ``apiSummary``, and the data plane's snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apicanary.engine.apigateway import errors as err
from apicanary.engine.apigateway.snapshot import (
    ApiSnapshot,
    CanarySnapshot,
    DeploymentSnapshot,
    GatewaySnapshot,
    RouteSnapshot,
    StageSnapshot,
    frozen_map,
)
from apicanary.engine.apigateway.tables import ResourceRow, Tables
from apicanary.engine.apigateway.validate import DEFAULT_TIMEOUT_MS


def resource_paths(resources: Mapping[str, ResourceRow]) -> dict[str, str]:
    """``{resource_id: path}``: ``/`` for the root, ``/a/{b}`` below it."""
    paths: dict[str, str] = {}

    def path_of(resource_id: str) -> str:
        if resource_id not in paths:
            row = resources[resource_id]
            if row.parent_id is None:
                paths[resource_id] = "/"
            else:
                parent = path_of(row.parent_id)
                paths[resource_id] = parent.rstrip("/") + "/" + str(row.path_part)
        return paths[resource_id]

    for resource_id in resources:
        path_of(resource_id)
    return paths


def capture_routes(tables: Tables, api_id: str) -> list[dict[str, Any]]:
    """The routes a new deployment freezes: every method of every resource, with its
    integration. Raises AWS's errors for an API without methods or a method without one."""
    paths = resource_paths(tables.resources(api_id))
    routes: list[dict[str, Any]] = []
    for resource_id, methods in tables.methods(api_id).items():
        for http_method, method in methods.items():
            if "methodIntegration" not in method:
                raise err.bad_request(err.INTEGRATION_NOT_FOUND)
            routes.append(
                {
                    "path": paths[resource_id],
                    "resourceId": resource_id,
                    "httpMethod": http_method,
                    "method": method,
                }
            )
    if not routes:
        raise err.bad_request(err.NO_METHODS)
    return sorted(routes, key=lambda r: (r["path"], r["httpMethod"]))


def api_summary(routes: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{path: {method: {authorizationType, apiKeyRequired}}}`` of a deployment."""
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for route in routes:
        method = route["method"]
        summary.setdefault(route["path"], {})[route["httpMethod"]] = {
            "authorizationType": method.get("authorizationType", "NONE"),
            "apiKeyRequired": bool(method.get("apiKeyRequired", False)),
        }
    return summary


def build_snapshot(tables: Tables, revision: int) -> GatewaySnapshot:
    """The whole gateway view as of ``revision``."""
    apis: dict[str, ApiSnapshot] = {}
    for api in tables.apis():
        api_id = api["id"]
        stages: dict[str, StageSnapshot] = {}
        deployments: dict[str, DeploymentSnapshot] = {}
        for stored in tables.stages(api_id):
            stage = _stage(stored)
            stages[stage.name] = stage
            wanted = [stage.deployment_id] + ([stage.canary.deployment_id] if stage.canary else [])
            for deployment_id in wanted:
                if deployment_id not in deployments:
                    routes = tables.deployment_routes(api_id, deployment_id)
                    settings = tables.deployment_settings(api_id, deployment_id)
                    binary = None if settings is None else settings.get("binaryMediaTypes")
                    deployments[deployment_id] = DeploymentSnapshot(
                        deployment_id,
                        tuple(_route(r) for r in routes),
                        None if binary is None else tuple(binary),
                    )
        apis[api_id] = ApiSnapshot(
            id=api_id,
            name=api["name"],
            binary_media_types=tuple(api.get("binaryMediaTypes") or ()),
            stages=frozen_map(stages),
            deployments=frozen_map(deployments),
            gateway_responses=frozen_map(tables.gateway_responses(api_id)),
        )
    return GatewaySnapshot(revision, frozen_map(apis))


def _stage(stored: Mapping[str, Any]) -> StageSnapshot:
    canary = stored.get("canarySettings")
    return StageSnapshot(
        name=stored["stageName"],
        deployment_id=stored["deploymentId"],
        variables=frozen_map(stored.get("variables")),
        canary=None
        if canary is None
        else CanarySnapshot(
            percent_traffic=float(canary["percentTraffic"]),
            deployment_id=canary["deploymentId"],
            stage_variable_overrides=frozen_map(canary.get("stageVariableOverrides")),
            use_stage_cache=bool(canary.get("useStageCache", False)),
        ),
    )


def _route(route: Mapping[str, Any]) -> RouteSnapshot:
    integration = route["method"]["methodIntegration"]
    return RouteSnapshot(
        resource_path=route["path"],
        resource_id=route["resourceId"],
        http_method=route["httpMethod"],
        integration_type=integration["type"],
        integration_uri=integration.get("uri"),
        integration_http_method=integration.get("httpMethod"),
        timeout_in_millis=int(integration.get("timeoutInMillis", DEFAULT_TIMEOUT_MS)),
    )
