"""Provision a project's HTTP APIs (API Gateway v2) into the local engine (``serve`` start-up).

Idempotent, like :mod:`apicanary.engine.provision` for REST APIs: each API is found by name
(created when missing), its routes are written with ReimportApi from a generated OpenAPI
document only when that document changed (its hash travels in ``info.description``, which
ReimportApi keeps as the API's description), and its stage is created once with
``AutoDeploy`` on and the template's stage variables, so route changes deploy themselves.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from apicanary.engine.apigatewayv2.service import HttpApiService
from apicanary.project.specs import HttpApiSpec

_TAG = "apicanary:"


def http_openapi_document(api: HttpApiSpec) -> dict[str, Any]:
    """The OpenAPI 3 document of ``api``'s routes (``$default`` as a path item, as AWS exports)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in api.routes:
        method, _, path = route.route_key.partition(" ")
        if route.route_key == "$default":
            method, path = "ANY", "$default"
        operation = "x-amazon-apigateway-any-method" if method == "ANY" else method.lower()
        integration: dict[str, Any] = {
            "type": route.integration.type.lower(),
            "uri": route.integration.uri,
            "payloadFormatVersion": route.payload_format_version,
        }
        if route.integration.timeout_in_millis is not None:
            integration["timeoutInMillis"] = route.integration.timeout_in_millis
        paths.setdefault(path, {})[operation] = {"x-amazon-apigateway-integration": integration}
    return {"openapi": "3.0.1", "info": {"title": api.name, "version": "1.0"}, "paths": paths}


def provision_http_api(service: HttpApiService, api: HttpApiSpec) -> dict[str, Any]:
    """Bring one HTTP API in line with ``api``; returns what the report shows."""
    existing = [a for a in service.get_apis()["items"] if a["name"] == api.name]
    if existing:
        api_id = str(existing[0]["apiId"])
    else:
        api_id = str(service.create_api({"name": api.name, "protocolType": "HTTP"})["apiId"])
    document = http_openapi_document(api)
    digest = (
        _TAG + hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    )
    document["info"]["description"] = digest
    current = service.get_api(api_id).get("description")
    stages = {s["stageName"] for s in service.get_stages(api_id)["items"]}
    if api.stage_name not in stages:
        fields: dict[str, Any] = {"stageName": api.stage_name, "autoDeploy": True}
        if api.variables:
            fields["stageVariables"] = dict(api.variables)
        service.create_stage(api_id, fields)
    redeployed = False
    if current != digest and api.routes:
        service.reimport_api(api_id, orjson.dumps(document))
        redeployed = True
    stage = service.get_stage(api_id, api.stage_name)
    prefix = "" if api.stage_name == "$default" else f"/{api.stage_name}"
    return {
        "logical_id": api.logical_id,
        "api_id": api_id,
        "name": api.name,
        "stage": api.stage_name,
        "deployment_id": stage.get("deploymentId"),
        "redeployed": redeployed,
        "routes": [
            r.route_key if r.route_key == "$default" else _prefixed(r.route_key, prefix)
            for r in api.routes
        ],
    }


def _prefixed(route_key: str, prefix: str) -> str:
    method, _, path = route_key.partition(" ")
    return f"{method} {prefix}{path}"
