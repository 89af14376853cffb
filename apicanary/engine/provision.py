"""Make the local engine match a SAM project (what ``serve`` does at start-up).

Idempotent: running it twice on an unchanged project changes nothing. For each function,
``$LATEST`` follows its code directory; a function with an auto-published alias gets version 1
and the alias on first sight (with the template's initial ``RoutingConfig`` weights when the
versions they name exist, else without them and a warning), and later only has its new version
*published* (shifting traffic to it is a rollout's job, never provisioning's). Each API's routes
are written with PutRestApi (overwrite) from a generated OpenAPI document, and a new deployment
is made for the stage only when that document changed (its hash is kept in the deployment
description). HTTP APIs are provisioned by :mod:`apicanary.engine.provision_http`. Alarms
are put as PutMetricAlarm would.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from apicanary.engine.engine import Engine
from apicanary.engine.functions.model import FunctionConfig
from apicanary.engine.provision_http import provision_http_api
from apicanary.project.specs import ApiSpec, FunctionSpec, Project

_DEPLOYMENT_TAG = "apicanary:"


@dataclass
class FunctionReport:
    name: str
    alias: str | None
    alias_version: str | None
    pending_version: str | None  # published but not yet receiving traffic


@dataclass
class ApiReport:
    logical_id: str
    api_id: str
    name: str
    stage: str
    deployment_id: str
    redeployed: bool
    routes: list[str] = field(default_factory=list)


@dataclass
class ProvisionReport:
    functions: list[FunctionReport] = field(default_factory=list)
    apis: list[ApiReport] = field(default_factory=list)
    http_apis: list[dict[str, Any]] = field(default_factory=list)  # HTTP APIs (v2)
    alarms: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "functions": [vars(f) for f in self.functions],
            "apis": [vars(a) for a in self.apis],
            "httpApis": list(self.http_apis),
            "alarms": list(self.alarms),
            "warnings": list(self.warnings),
        }


def provision(engine: Engine, project: Project) -> ProvisionReport:
    """Bring ``engine`` in line with ``project``; returns what it found and did."""
    report = ProvisionReport()
    lambdas = engine.lambdas
    for spec in project.functions:
        lambdas.ensure_source_function(
            spec.function_name, spec.code_dir, function_config(spec), spec.reserved_concurrency
        )
    # creates and updates take a while to apply; publish once they have, as a client would
    lambdas.wait_settled(*(spec.function_name for spec in project.functions))
    for spec in project.functions:
        report.functions.append(_provision_function(engine, spec, report.warnings))
    for api in project.apis:
        report.apis.append(_provision_api(engine, api))
    for http_api in project.http_apis:
        report.http_apis.append(provision_http_api(engine.http_apis, http_api))
    for alarm in project.alarms:
        engine.alarms.put_metric_alarm(dict(alarm.put_metric_alarm))
        report.alarms.append(alarm.alarm_name)
    return report


def function_config(spec: FunctionSpec) -> FunctionConfig:
    return FunctionConfig(
        runtime=spec.runtime,
        handler=spec.handler,
        timeout=spec.timeout,
        memory_size=spec.memory_size,
        environment=dict(spec.environment),
        description=spec.description,
        logging=dict(spec.logging_config),
    )


def _provision_function(engine: Engine, spec: FunctionSpec, warnings: list[str]) -> FunctionReport:
    lambdas = engine.lambdas
    name = spec.function_name
    alias_name = spec.auto_publish_alias
    if alias_name is None:
        return FunctionReport(name, None, None, None)
    alias = lambdas.view.functions[name].aliases.get(alias_name)
    published = lambdas.publish_version(name, {})["Version"]
    if alias is None:
        fields: dict[str, Any] = {"Name": alias_name, "FunctionVersion": published}
        weights = dict(spec.alias_weights)
        missing = sorted(set(weights) - set(lambdas.view.functions[name].versions))
        if missing or published in weights:
            why = (
                f"version {', '.join(missing)} does not exist locally"
                if missing
                else f"it weights version {published}, the alias's own"
            )
            warnings.append(
                f"{name}:{alias_name} starts at version {published} without its "
                f"RoutingConfig: {why}"
            )
        elif weights:
            fields["RoutingConfig"] = {"AdditionalVersionWeights": weights}
        lambdas.create_alias(name, fields)
        return FunctionReport(name, alias_name, published, None)
    serving = alias.function_version
    pending = None if published in (serving, *alias.weights) else published
    return FunctionReport(name, alias_name, serving, pending)


def openapi_document(api: ApiSpec) -> dict[str, Any]:
    """The OpenAPI 3 document describing ``api``'s routes (for PutRestApi)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in api.routes:
        operation = (
            "x-amazon-apigateway-any-method" if route.method == "ANY" else route.method.lower()
        )
        integration: dict[str, Any] = {"type": route.integration.type.lower()}
        if route.integration.uri is not None:
            integration["uri"] = route.integration.uri
            integration["httpMethod"] = "POST"
        if route.integration.timeout_in_millis is not None:
            integration["timeoutInMillis"] = route.integration.timeout_in_millis
        paths.setdefault(route.path, {})[operation] = {
            "x-amazon-apigateway-integration": integration,
            "responses": {},
        }
    document: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": {"title": api.name, "version": "1.0"},
        "paths": paths,
    }
    if api.binary_media_types:
        document["x-amazon-apigateway-binary-media-types"] = list(api.binary_media_types)
    return document


def _provision_api(engine: Engine, api: ApiSpec) -> ApiReport:
    gateway = engine.apigateway
    existing = [a for a in gateway.get_rest_apis(limit=500)["item"] if a["name"] == api.name]
    api_id = existing[0]["id"] if existing else gateway.create_rest_api({"name": api.name})["id"]
    body = orjson.dumps(openapi_document(api), option=orjson.OPT_SORT_KEYS)
    digest = _DEPLOYMENT_TAG + hashlib.sha256(body).hexdigest()[:16]
    stages = {s["stageName"]: s for s in gateway.get_stages(api_id)["item"]}
    stage = stages.get(api.stage_name)
    current = None
    if stage is not None:
        current = gateway.get_deployment(api_id, stage["deploymentId"]).get("description")
    redeployed = False
    if current != digest:
        gateway.put_rest_api(api_id, body, mode="overwrite")
        fields: dict[str, Any] = {"stageName": api.stage_name, "description": digest}
        if stage is None:
            fields["variables"] = dict(api.variables)
        elif stage.get("canarySettings"):
            # a canary is live on this stage: AWS refuses a non-canary deployment; leave it
            fields = {}
        if fields:
            gateway.create_deployment(api_id, fields)
            redeployed = True
    stage = gateway.get_stage(api_id, api.stage_name)
    if api.access_log is not None and stage.get("accessLogSettings") != {
        "destinationArn": api.access_log[0],
        "format": api.access_log[1],
    }:
        stage = gateway.update_stage(
            api_id,
            api.stage_name,
            [
                {
                    "op": "replace",
                    "path": "/accessLogSettings/destinationArn",
                    "value": api.access_log[0],
                },
                {"op": "replace", "path": "/accessLogSettings/format", "value": api.access_log[1]},
            ],
        )
    return ApiReport(
        logical_id=api.logical_id,
        api_id=api_id,
        name=api.name,
        stage=api.stage_name,
        deployment_id=stage["deploymentId"],
        redeployed=redeployed,
        routes=[f"{r.method} /{api.stage_name}{r.path}" for r in api.routes],
    )
