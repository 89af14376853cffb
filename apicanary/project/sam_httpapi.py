"""A SAM template's HTTP APIs as :class:`HttpApiSpec`: ``AWS::Serverless::HttpApi`` resources
and SAM's implicit ``ServerlessHttpApi``.

Routes come from the API's ``DefinitionBody`` (OpenAPI, read by
:mod:`apicanary.project.openapi`; a ``$default`` path item is the ``$default`` route; each
operation's ``x-amazon-apigateway-integration`` gives ``uri``, ``payloadFormatVersion``
(required, as API Gateway requires it) and ``timeoutInMillis``) and from the functions'
``HttpApi`` events: ``Path`` + ``Method`` (``ANY`` when only ``Path``; no ``Path`` and no
``Method`` is the ``$default`` route, as SAM documents), ``ApiId`` (a ``Ref`` to an
``AWS::Serverless::HttpApi``; absent: the implicit API), ``PayloadFormatVersion`` (default
``2.0``) and ``TimeoutInMillis`` (50-30000). An event's integration invokes the function's
``AutoPublishAlias`` when it has one (SAM does the same). ``StageName`` defaults to
``$default``; ``StageVariables`` and ``Globals: HttpApi`` are read. A route defined both in
the definition and by an event keeps the definition's, as for REST APIs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apicanary.arns import function_arn, integration_uri
from apicanary.project.fields import as_int, as_mapping, as_str, child, fail, show
from apicanary.project.intrinsics import Resolver
from apicanary.project.openapi import INTEGRATION_KEY, read_definition
from apicanary.project.props import Props
from apicanary.project.sam_apis import lambda_target, stage_variables
from apicanary.project.sam_template import SamTemplate
from apicanary.project.specs import (
    IMPLICIT_HTTP_API_ID,
    FunctionSpec,
    HttpApiSpec,
    HttpRouteSpec,
    IntegrationSpec,
)

HTTP_API_TYPE: Final = "AWS::Serverless::HttpApi"
DEFAULT_STAGE: Final = "$default"
DEFAULT_ROUTE: Final = "$default"
_METHODS: Final = ("ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
_STAGE: Final = r"\$default|[A-Za-z0-9_-]{1,128}"


def http_api_specs(template: SamTemplate, functions: tuple[FunctionSpec, ...]) -> list[HttpApiSpec]:
    """Every HTTP API of the template (the implicit one last, when an event needs it)."""
    events = _events(template, functions)
    ids = template.ids_of(HTTP_API_TYPE)
    specs = [_api(template, lid, events, functions, implicit=False) for lid in ids]
    if any(api_id == IMPLICIT_HTTP_API_ID for api_id, _ in events):
        if IMPLICIT_HTTP_API_ID in template.resources:
            raise fail(
                f"Resources.{IMPLICIT_HTTP_API_ID}",
                "is the logical id SAM gives the implicit HTTP API; rename this resource",
            )
        specs.append(_api(template, IMPLICIT_HTTP_API_ID, events, functions, implicit=True))
    return specs


def _props(template: SamTemplate, lid: str) -> Props:
    local = {} if lid not in template.resources else template.local_properties(lid)
    return Props(
        template.resolver,
        f"Resources.{lid}.Properties",
        local,
        template.http_api_globals,
        "Globals.HttpApi",
    )


def _api(
    template: SamTemplate,
    lid: str,
    events: list[tuple[str, tuple[str, HttpRouteSpec, str]]],
    functions: tuple[FunctionSpec, ...],
    *,
    implicit: bool,
) -> HttpApiSpec:
    props = _props(template, lid)
    stage = as_str(
        props.get("StageName") or DEFAULT_STAGE,
        props.path("StageName"),
        pattern=_STAGE,
        allowed="'$default' or 1-128 letters, digits, '-' or '_'",
    )
    routes: dict[str, HttpRouteSpec] = {}
    definition: Mapping[str, Any] = {}
    if "DefinitionBody" in props.merged:
        by_name = {f.function_name: f.logical_id for f in functions}
        body_path = props.path("DefinitionBody")
        body = props.merged["DefinitionBody"]
        definition = body if isinstance(body, Mapping) else {}
        for route in definition_http_routes(template.resolver, body, body_path, by_name):
            routes[route.route_key] = route
    if "DefinitionUri" in props.merged:
        raise fail(props.path("DefinitionUri"), "is not read locally: inline it as DefinitionBody")
    from_events: dict[str, str] = {}
    for api_id, (where, route, _) in events:
        if api_id != lid:
            continue
        if route.route_key in from_events:
            raise fail(
                where,
                f"{route.route_key} is already routed by {from_events[route.route_key]} on "
                f"{lid}: each route key may be defined once",
            )
        from_events[route.route_key] = where
        routes.setdefault(route.route_key, route)
    return HttpApiSpec(
        logical_id=lid,
        name=as_str(props.get("Name") or lid, props.path("Name")),
        stage_name=stage,
        variables=stage_variables(props.get("StageVariables") or {}, props.path("StageVariables")),
        routes=tuple(routes.values()),
        implicit=implicit,
        definition=definition,
    )


def _events(
    template: SamTemplate, functions: tuple[FunctionSpec, ...]
) -> list[tuple[str, tuple[str, HttpRouteSpec, str]]]:
    """``(api logical id, (where, route, function logical id))`` of every HttpApi event."""
    found = []
    context = template.context
    for fn in functions:
        props = template.props(fn.logical_id, "Function")
        events_path = props.path("Events")
        events = as_mapping(props.merged.get("Events") or {}, events_path)
        for name, value in events.items():
            where = child(events_path, name)
            event = as_mapping(value, where)
            if event.get("Type") != "HttpApi":
                continue
            raw = event.get("Properties") or {}
            event_path = child(where, "Properties")
            fields = as_mapping(template.resolver.resolve(raw, event_path), event_path)
            api_id = _api_ref(template, fields.get("ApiId"), child(event_path, "ApiId"))
            route_key = _route_key(fields, event_path)
            arn = function_arn(
                fn.function_name,
                fn.auto_publish_alias,
                region=context.region,
                account=context.account_id,
            )
            timeout = None
            if fields.get("TimeoutInMillis") is not None:
                timeout = as_int(
                    fields["TimeoutInMillis"],
                    child(event_path, "TimeoutInMillis"),
                    low=50,
                    high=30_000,
                    unit="milliseconds",
                )
            integration = IntegrationSpec(
                "AWS_PROXY",
                integration_uri(arn, region=context.region),
                fn.logical_id,
                fn.auto_publish_alias,
                timeout,
            )
            version = _payload_version(
                fields.get("PayloadFormatVersion"), child(event_path, "PayloadFormatVersion")
            )
            found.append(
                (api_id, (where, HttpRouteSpec(route_key, integration, version), fn.logical_id))
            )
    return found


def _api_ref(template: SamTemplate, value: Any, path: str) -> str:
    if value is None:
        return IMPLICIT_HTTP_API_ID
    if isinstance(value, str) and template.resources.get(value, {}).get("Type") == HTTP_API_TYPE:
        return value
    raise fail(path, f"{show(value)} must be a Ref to an AWS::Serverless::HttpApi of this template")


def _route_key(fields: Mapping[str, Any], path: str) -> str:
    route_path = fields.get("Path")
    method = fields.get("Method")
    if route_path is None and method is None:
        return DEFAULT_ROUTE
    if route_path is None:
        raise fail(child(path, "Path"), "is required when Method is given")
    text = as_str(route_path, child(path, "Path"), pattern=r"/\S*", allowed="must start with '/'")
    verb = "ANY" if method is None else as_str(method, child(path, "Method")).upper()
    if verb == "X-AMAZON-APIGATEWAY-ANY-METHOD":
        verb = "ANY"
    if verb not in _METHODS:
        raise fail(
            child(path, "Method"),
            f"{show(method)} is not an HTTP method: allowed are {', '.join(_METHODS)}",
        )
    return f"{verb} {text}"


def _payload_version(value: Any, path: str) -> str:
    if value is None:
        return "2.0"
    text = as_str(value, path)
    if text not in ("1.0", "2.0"):
        raise fail(path, f"{show(value)} is not a payload format version: must be 1.0 or 2.0")
    return text


def definition_http_routes(
    resolver: Resolver, body: Any, body_path: str, functions_by_name: Mapping[str, str]
) -> list[HttpRouteSpec]:
    """The routes of an HTTP API's OpenAPI definition ``body`` (found at ``body_path``)."""
    document = dict(as_mapping(body, body_path))
    paths = dict(as_mapping(document.get("paths") or {}, child(body_path, "paths")))
    default_item = paths.pop(DEFAULT_ROUTE, None)
    document["paths"] = paths
    routes: list[HttpRouteSpec] = []
    for op in read_definition(document, body_path).operations:
        if op.integration is None:
            raise fail(op.location, f"has no {INTEGRATION_KEY}: every route needs an integration")
        where = child(op.location, INTEGRATION_KEY)
        key = f"{op.method} {op.path}"
        routes.append(_definition_route(resolver, key, op.integration, where, functions_by_name))
    if default_item is not None:
        item_path = child(child(body_path, "paths"), DEFAULT_ROUTE)
        for key, operation in as_mapping(default_item, item_path).items():
            integration = as_mapping(operation or {}, child(item_path, key)).get(INTEGRATION_KEY)
            if integration is not None:
                where = child(child(item_path, key), INTEGRATION_KEY)
                route = _definition_route(
                    resolver, DEFAULT_ROUTE, as_mapping(integration, where), where,
                    functions_by_name,
                )  # fmt: skip
                routes.append(route)
                break
    return routes


def _definition_route(
    resolver: Resolver,
    route_key: str,
    integration: Mapping[str, Any],
    path: str,
    functions_by_name: Mapping[str, str],
) -> HttpRouteSpec:
    resolved = as_mapping(resolver.resolve(dict(integration), path), path)
    kind = as_str(resolved.get("type", ""), child(path, "type")).upper()
    if kind != "AWS_PROXY":
        raise fail(
            child(path, "type"),
            f"{show(kind.lower())} is not served locally: HTTP API routes must be aws_proxy",
        )
    uri = as_str(resolved.get("uri"), child(path, "uri"))
    function, qualifier = lambda_function(uri, functions_by_name)
    timeout = None
    if resolved.get("timeoutInMillis") is not None:
        timeout = as_int(
            resolved["timeoutInMillis"], child(path, "timeoutInMillis"), low=50, high=30_000,
            unit="milliseconds",
        )  # fmt: skip
    if resolved.get("payloadFormatVersion") is None:
        raise fail(
            child(path, "payloadFormatVersion"),
            "is required for an HTTP API Lambda integration: '1.0' or '2.0'",
        )
    version = _payload_version(
        resolved.get("payloadFormatVersion"), child(path, "payloadFormatVersion")
    )
    return HttpRouteSpec(
        route_key, IntegrationSpec("AWS_PROXY", uri, function, qualifier, timeout), version
    )


def lambda_function(
    uri: str, functions_by_name: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """``(function logical id, qualifier)`` an HTTP API integration URI invokes: an invocation
    URI, or (HTTP APIs accept it too) the function or alias ARN itself."""
    function, qualifier = lambda_target(uri, functions_by_name)
    if function is None and uri.startswith("arn:") and ":function:" in uri:
        name_and_qualifier = uri.split(":function:", 1)[1].split(":")
        function = functions_by_name.get(name_and_qualifier[0])
        qualifier = name_and_qualifier[1] if len(name_and_qualifier) > 1 else None
    return function, qualifier
