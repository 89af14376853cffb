"""One HTTP API's whole state as a JSON document, and the pure operations on it.

The service loads the document in a transaction, calls one operation here, and stores it
back, so every call is all-or-nothing. Operations take ``new_id`` (an id maker) and ``now``
(an ISO 8601 time, as apigatewayv2 answers dates) instead of drawing them, and return the
answer in the AWS API's JSON shape (camelCase member names of botocore's model).

Layout: ``api`` (the Api shape), ``routes`` / ``integrations`` (by id), ``stages`` (by name),
``deployments`` (by id; ``_routes`` is the frozen route table a deployment serves: the routes
and their integrations as they were when it was made). Stages with ``autoDeploy`` get a new
deployment after every route or integration change, as AWS does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from apicanary.engine.apigatewayv2 import rules
from apicanary.engine.apigatewayv2.rules import DEFAULT_ROUTE, MAX_TIMEOUT_MS

IdMaker = Callable[[int], str]
Doc = dict[str, Any]

_ROUTE_KEYS = ("routeKey", "target", "authorizationType", "apiKeyRequired", "operationName")


def new_document(api: Mapping[str, Any]) -> Doc:
    return {"api": dict(api), "routes": {}, "integrations": {}, "stages": {}, "deployments": {}}


def public(item: Mapping[str, Any]) -> dict[str, Any]:
    """``item`` without the engine's own ``_`` members."""
    return {k: copy.deepcopy(v) for k, v in item.items() if not k.startswith("_")}


# --- routes ----------------------------------------------------------------------------------


def _check_target(doc: Doc, value: Any) -> str:
    target = rules.check_str(value, "target", max_len=128)
    prefix, _, integration_id = target.partition("/")
    if prefix != "integrations" or integration_id not in doc["integrations"]:
        raise rules.bad_request(
            f"Invalid target {target!r}: must be 'integrations/<id>' of an integration of this API"
        )
    return target


def _route_fields(doc: Doc, fields: Mapping[str, Any], route_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "routeKey" in fields or route_id is None:
        key = rules.required_str(fields, "routeKey", max_len=256)
        rules.split_route_key(key)
        for other_id, other in doc["routes"].items():
            if other["routeKey"] == key and other_id != route_id:
                raise rules.conflict(f"Route with key {key!r} already exists for this API")
        out["routeKey"] = key
    if fields.get("target") is not None:
        out["target"] = _check_target(doc, fields["target"])
    if "authorizationType" in fields and fields["authorizationType"] not in (None, "NONE"):
        raise rules.bad_request(
            f"Invalid authorizationType {fields['authorizationType']!r}: the local engine "
            "serves routes without authorizers (NONE)"
        )
    if "operationName" in fields:
        out["operationName"] = rules.check_str(fields["operationName"], "operationName", max_len=64)
    return out


def create_route(doc: Doc, fields: Mapping[str, Any], new_id: IdMaker) -> dict[str, Any]:
    route = {
        "routeId": new_id(7),
        "apiKeyRequired": False,
        "authorizationType": "NONE",
        **_route_fields(doc, fields, None),
    }
    doc["routes"][route["routeId"]] = route
    return public(route)


def update_route(doc: Doc, route_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    route = get_route(doc, route_id)
    route.update(_route_fields(doc, fields, route_id))
    return public(route)


def get_route(doc: Doc, route_id: str) -> dict[str, Any]:
    route: dict[str, Any] | None = doc["routes"].get(route_id)
    if route is None:
        raise rules.not_found(f"Invalid Route identifier specified {route_id}", "Route")
    return route


def delete_route(doc: Doc, route_id: str) -> None:
    get_route(doc, route_id)
    del doc["routes"][route_id]


# --- integrations ---------------------------------------------------------------------------


def create_integration(doc: Doc, fields: Mapping[str, Any], new_id: IdMaker) -> dict[str, Any]:
    checked = rules.check_integration(fields, partial=False)
    integration: dict[str, Any] = {
        "integrationId": new_id(7),
        "connectionType": "INTERNET",
        "timeoutInMillis": MAX_TIMEOUT_MS,
        **checked,
    }
    if integration["integrationType"] == "AWS_PROXY":
        integration.setdefault("integrationMethod", "POST")
    rules.check_lambda_integration(integration)
    doc["integrations"][integration["integrationId"]] = integration
    return public(integration)


def update_integration(doc: Doc, integration_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    integration = get_integration(doc, integration_id)
    updated = {**integration, **rules.check_integration(fields, partial=True)}
    rules.check_lambda_integration(updated)
    integration.update(updated)
    return public(integration)


def get_integration(doc: Doc, integration_id: str) -> dict[str, Any]:
    found: dict[str, Any] | None = doc["integrations"].get(integration_id)
    if found is None:
        raise rules.not_found(
            f"Invalid Integration identifier specified {integration_id}", "Integration"
        )
    return found


def delete_integration(doc: Doc, integration_id: str) -> None:
    get_integration(doc, integration_id)
    users = [
        r["routeKey"]
        for r in doc["routes"].values()
        if r.get("target") == f"integrations/{integration_id}"
    ]
    if users:
        raise rules.conflict(
            f"Integration {integration_id} is the target of route(s) {', '.join(sorted(users))}: "
            "delete them or change their target first"
        )
    del doc["integrations"][integration_id]


# --- deployments and stages -------------------------------------------------------------------


def frozen_routes(doc: Doc) -> list[dict[str, Any]]:
    """The route table a deployment made now would serve (routes with their integrations)."""
    table = []
    for route in sorted(doc["routes"].values(), key=lambda r: r["routeKey"]):
        entry: dict[str, Any] = {"routeKey": route["routeKey"]}
        target = route.get("target") or ""
        integration = doc["integrations"].get(target.partition("/")[2]) if target else None
        if integration is not None:
            entry["integration"] = {
                k: integration.get(k)
                for k in (
                    "integrationType",
                    "integrationUri",
                    "payloadFormatVersion",
                    "timeoutInMillis",
                )
            }
        table.append(entry)
    return table


def create_deployment(
    doc: Doc, fields: Mapping[str, Any], new_id: IdMaker, now: str, *, auto: bool = False
) -> dict[str, Any]:
    """A deployment of the current routes; with ``stageName``, that stage now serves it."""
    if not doc["routes"]:
        raise rules.bad_request("Unable to deploy API because no routes exist in this API")
    stage = None
    if fields.get("stageName") is not None:
        stage = get_stage(doc, str(fields["stageName"]))
    deployment: dict[str, Any] = {
        "deploymentId": new_id(6),
        "autoDeployed": auto,
        "createdDate": now,
        "deploymentStatus": "DEPLOYED",
        "_routes": frozen_routes(doc),
    }
    if "description" in fields:
        deployment["description"] = rules.check_str(fields["description"], "description")
    doc["deployments"][deployment["deploymentId"]] = deployment
    if stage is not None:
        stage["deploymentId"] = deployment["deploymentId"]
        stage["lastUpdatedDate"] = now
    return public(deployment)


def auto_deploy(doc: Doc, new_id: IdMaker, now: str) -> None:
    """Redeploy every ``autoDeploy`` stage whose deployment no longer matches the routes."""
    if not doc["routes"]:
        return
    table = frozen_routes(doc)
    for stage in doc["stages"].values():
        if not stage.get("autoDeploy"):
            continue
        current = doc["deployments"].get(stage.get("deploymentId") or "")
        if current is not None and current["_routes"] == table:
            continue
        made = create_deployment(doc, {"stageName": stage["stageName"]}, new_id, now, auto=True)
        stage["lastDeploymentStatusMessage"] = (
            f"Successfully deployed stage with deployment ID '{made['deploymentId']}'"
        )


def get_deployment(doc: Doc, deployment_id: str) -> dict[str, Any]:
    found: dict[str, Any] | None = doc["deployments"].get(deployment_id)
    if found is None:
        raise rules.not_found(
            f"Invalid Deployment identifier specified {deployment_id}", "Deployment"
        )
    return found


def _stage_fields(doc: Doc, fields: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "autoDeploy" in fields:
        out["autoDeploy"] = rules.check_bool(fields, "autoDeploy")
    if "stageVariables" in fields:
        out["stageVariables"] = rules.check_stage_variables(fields["stageVariables"])
    if fields.get("deploymentId") is not None:
        out["deploymentId"] = get_deployment(doc, str(fields["deploymentId"]))["deploymentId"]
    if "description" in fields:
        out["description"] = rules.check_str(fields["description"], "description")
    for key in ("defaultRouteSettings", "routeSettings", "accessLogSettings", "tags"):
        if key in fields:
            if not isinstance(fields[key], Mapping):
                raise rules.bad_request(f"Invalid input: '{key}' must be an object")
            out[key] = dict(fields[key])
    return out


def create_stage(doc: Doc, fields: Mapping[str, Any], new_id: IdMaker, now: str) -> dict[str, Any]:
    name = rules.check_stage_name(fields.get("stageName"))
    if name in doc["stages"]:
        raise rules.conflict(f"Stage {name} already exists")
    stage = {
        "stageName": name,
        "autoDeploy": False,
        "createdDate": now,
        "lastUpdatedDate": now,
        "stageVariables": {},
        "defaultRouteSettings": {"detailedMetricsEnabled": False},
        "routeSettings": {},
        "tags": {},
        **_stage_fields(doc, fields),
    }
    doc["stages"][name] = stage
    auto_deploy(doc, new_id, now)
    return public(stage)


def update_stage(
    doc: Doc, name: str, fields: Mapping[str, Any], new_id: IdMaker, now: str
) -> dict[str, Any]:
    stage = get_stage(doc, name)
    stage.update(_stage_fields(doc, fields))
    stage["lastUpdatedDate"] = now
    auto_deploy(doc, new_id, now)
    return public(stage)


def get_stage(doc: Doc, name: str) -> dict[str, Any]:
    found: dict[str, Any] | None = doc["stages"].get(name)
    if found is None:
        raise rules.not_found(f"Invalid stage identifier specified {name}", "Stage")
    return found


def delete_stage(doc: Doc, name: str) -> None:
    get_stage(doc, name)
    del doc["stages"][name]


# --- quick create -----------------------------------------------------------------------------


def quick_create(doc: Doc, target: str, route_key: str | None, new_id: IdMaker, now: str) -> None:
    """CreateApi with ``target``: an AWS_PROXY (2.0) integration, a route (``$default`` unless
    ``routeKey`` is given) and an auto-deployed ``$default`` stage, as AWS's quick create."""
    integration = create_integration(
        doc,
        {"integrationType": "AWS_PROXY", "integrationUri": target, "payloadFormatVersion": "2.0"},
        new_id,
    )
    create_route(
        doc,
        {
            "routeKey": route_key or DEFAULT_ROUTE,
            "target": f"integrations/{integration['integrationId']}",
        },
        new_id,
    )
    create_stage(doc, {"stageName": rules.DEFAULT_STAGE, "autoDeploy": True}, new_id, now)
