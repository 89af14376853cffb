"""A CloudFormation template's HTTP APIs (``AWS::ApiGatewayV2::*``) as :class:`HttpApiSpec`.

Read: ``Api`` (``ProtocolType: HTTP``; ``Name``; ``Body`` an inline OpenAPI definition;
``Target`` (+ ``RouteKey``), AWS's quick create: a ``$default`` route to that Lambda with
payload 2.0 and an auto-deployed ``$default`` stage), ``Integration`` (``ApiId``,
``IntegrationType``, ``IntegrationUri``, ``PayloadFormatVersion``, ``TimeoutInMillis``),
``Route`` (``ApiId``, ``RouteKey``, ``Target: integrations/<Ref Integration>``) and ``Stage``
(``ApiId``, ``StageName``, ``StageVariables``). ``Deployment`` is read and needs nothing: the
engine's stages auto-deploy. Each stage becomes one spec with the API's logical id (as REST
APIs do); an API with no stage is served nowhere, as on AWS, and listed in the warnings.
``WEBSOCKET`` APIs are listed among the warnings too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from apicanary.project.cfn_template import CfnTemplate
from apicanary.project.fields import as_int, as_str, fail, show
from apicanary.project.sam_apis import stage_variables
from apicanary.project.sam_httpapi import definition_http_routes, lambda_function
from apicanary.project.specs import FunctionSpec, HttpApiSpec, HttpRouteSpec, IntegrationSpec

V2_API: Final = "AWS::ApiGatewayV2::Api"
V2_ROUTE: Final = "AWS::ApiGatewayV2::Route"
V2_INTEGRATION: Final = "AWS::ApiGatewayV2::Integration"
V2_STAGE: Final = "AWS::ApiGatewayV2::Stage"
V2_DEPLOYMENT: Final = "AWS::ApiGatewayV2::Deployment"
V2_READ_TYPES: Final = frozenset({V2_API, V2_ROUTE, V2_INTEGRATION, V2_STAGE, V2_DEPLOYMENT})


def http_apis(
    template: CfnTemplate, functions: list[FunctionSpec], warnings: list[str]
) -> list[HttpApiSpec]:
    """Every HTTP API of ``template`` with a stage, one spec per stage."""
    by_name = {f.function_name: f.logical_id for f in functions}
    integrations = {
        lid: _integration(template, lid, by_name) for lid in template.ids_of(V2_INTEGRATION)
    }
    specs: list[HttpApiSpec] = []
    for lid in template.ids_of(V2_API):
        props = template.props(lid)
        protocol = props.get("ProtocolType")
        if protocol != "HTTP":
            warnings.append(
                f"Resources.{lid} ({V2_API}): ProtocolType {show(protocol)} is not served "
                "locally (HTTP APIs are)"
            )
            continue
        routes: dict[str, HttpRouteSpec] = {}
        body = props.get("Body")
        if body is not None:
            for route in definition_http_routes(
                template.resolver, body, props.path("Body"), by_name
            ):
                routes[route.route_key] = route
        stages = _stages(template, lid)
        target = props.get("Target")
        if target is not None:
            uri = as_str(target, props.path("Target"))
            function, qualifier = lambda_function(uri, by_name)
            key = as_str(props.get("RouteKey") or "$default", props.path("RouteKey"))
            integration = IntegrationSpec("AWS_PROXY", uri, function, qualifier)
            routes[key] = HttpRouteSpec(key, integration, "2.0")
            stages.setdefault("$default", {})
        for route in _routes(template, lid, integrations):
            routes[route.route_key] = route
        name = as_str(props.get("Name") or lid, props.path("Name"))
        if not stages:
            warnings.append(
                f"Resources.{lid} ({V2_API}): not served (it has no stage: add an "
                f"{V2_STAGE}, e.g. StageName $default with AutoDeploy)"
            )
        definition = body if isinstance(body, Mapping) else {}
        for stage_name, variables in stages.items():
            spec = HttpApiSpec(lid, name, stage_name, variables, tuple(routes.values()))
            specs.append(replace(spec, definition=definition))
    return specs


def _api_of(template: CfnTemplate, lid: str) -> str:
    props = template.props(lid)
    value = props.require("ApiId")
    if not isinstance(value, str) or template.resources.get(value, {}).get("Type") != V2_API:
        raise fail(props.path("ApiId"), f"{show(value)} must be a Ref to an {V2_API}")
    return value


def _integration(
    template: CfnTemplate, lid: str, by_name: Mapping[str, str]
) -> tuple[str, IntegrationSpec, str]:
    props = template.props(lid)
    api = _api_of(template, lid)
    kind = as_str(props.require("IntegrationType"), props.path("IntegrationType")).upper()
    uri = props.get("IntegrationUri")
    uri_text = None if uri is None else as_str(uri, props.path("IntegrationUri"))
    function = qualifier = None
    if kind == "AWS_PROXY" and uri_text is not None:
        function, qualifier = lambda_function(uri_text, by_name)
    timeout = None
    if props.get("TimeoutInMillis") is not None:
        timeout = as_int(
            props.get("TimeoutInMillis"), props.path("TimeoutInMillis"), low=50, high=30_000,
            unit="milliseconds",
        )  # fmt: skip
    version = as_str(props.get("PayloadFormatVersion") or "2.0", props.path("PayloadFormatVersion"))
    if version not in ("1.0", "2.0"):
        raise fail(props.path("PayloadFormatVersion"), f"{show(version)} must be 1.0 or 2.0")
    return api, IntegrationSpec(kind, uri_text, function, qualifier, timeout), version


def _routes(
    template: CfnTemplate, api: str, integrations: Mapping[str, tuple[str, IntegrationSpec, str]]
) -> list[HttpRouteSpec]:
    routes = []
    for lid in template.ids_of(V2_ROUTE):
        if _api_of(template, lid) != api:
            continue
        props = template.props(lid)
        key = as_str(props.require("RouteKey"), props.path("RouteKey"))
        target = props.get("Target")
        if target is None:
            raise fail(props.path("Target"), "is required locally: integrations/<integration>")
        text = as_str(target, props.path("Target"))
        prefix, _, integration_id = text.partition("/")
        found = integrations.get(integration_id)
        if prefix != "integrations" or found is None or found[0] != api:
            raise fail(
                props.path("Target"),
                f"{show(text)} must be 'integrations/' + a Ref to an {V2_INTEGRATION} of {api}",
            )
        routes.append(HttpRouteSpec(key, found[1], found[2]))
    return routes


def _stages(template: CfnTemplate, api: str) -> dict[str, Any]:
    stages: dict[str, Any] = {}
    for lid in template.ids_of(V2_STAGE):
        if _api_of(template, lid) != api:
            continue
        props = template.props(lid)
        name = as_str(props.require("StageName"), props.path("StageName"))
        stages[name] = stage_variables(
            props.get("StageVariables") or {}, props.path("StageVariables")
        )
    return stages
