"""A REST API's ``AWS::ApiGateway::Resource`` tree and ``Method`` resources, as routes.

A resource's path is its parent's path plus ``/<PathPart>``; ``ParentId`` is
``!GetAtt <Api>.RootResourceId`` or ``!Ref <Resource>`` of the same API (any intrinsic that
resolves to one of those). A method's ``Integration`` is read as API Gateway's PutIntegration
takes it: ``Type`` (``AWS_PROXY``, ``AWS``, ``HTTP_PROXY``, ``HTTP``, ``MOCK``), ``Uri`` (for a
Lambda integration ``arn:…:apigateway:<region>:lambda:path/2015-03-31/functions/<function
ARN>/invocations``, usually built with ``Fn::Join``/``Fn::Sub``/``Fn::GetAtt``/``Ref``; stage
variables kept for per-request substitution), ``IntegrationHttpMethod`` (``POST`` for Lambda),
``TimeoutInMillis`` (50..29000).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from apicanary.project.cfn_refs import API_RESOURCE, METHOD, root_resource_id
from apicanary.project.cfn_template import CfnTemplate
from apicanary.project.fields import as_int, as_mapping, as_str, child, fail, show
from apicanary.project.props import Props
from apicanary.project.sam_apis import INTEGRATION_TYPES, lambda_target
from apicanary.project.specs import IntegrationSpec, RouteSpec

HTTP_METHODS: Final = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "ANY")
_PATH_PART = re.compile(r"[A-Za-z0-9._:-]+|\{[A-Za-z0-9._-]+\+?\}")


def method_routes(
    template: CfnTemplate, api: str, functions_by_name: Mapping[str, str]
) -> list[RouteSpec]:
    """The routes the ``Method`` resources of REST API ``api`` declare, in template order."""
    paths = _resource_paths(template, api)
    routes = []
    for lid in template.ids_of(METHOD):
        props = template.props(lid)
        if props.require("RestApiId") != api:
            continue
        resource_path = props.path("ResourceId")
        resource = as_str(props.require("ResourceId"), resource_path)
        if resource not in paths:
            raise fail(
                resource_path,
                f"{show(resource)} is no resource of {api}: use !GetAtt {api}.RootResourceId "
                "or !Ref of one of its AWS::ApiGateway::Resource",
            )
        method = as_str(props.require("HttpMethod"), props.path("HttpMethod")).upper()
        if method not in HTTP_METHODS:
            raise fail(
                props.path("HttpMethod"),
                f"{show(method)} is not an HTTP method: allowed are {', '.join(HTTP_METHODS)}",
            )
        integration = _integration(props, functions_by_name)
        routes.append(RouteSpec(paths[resource], method, integration))
    return routes


def _resource_paths(template: CfnTemplate, api: str) -> dict[str, str]:
    """Resource id (the root stand-in or a Resource logical id) → its path, for ``api``."""
    parents: dict[str, tuple[str, str]] = {}
    for lid in template.ids_of(API_RESOURCE):
        props = template.props(lid)
        if props.require("RestApiId") != api:
            continue
        part = as_str(props.require("PathPart"), props.path("PathPart"))
        if not _PATH_PART.fullmatch(part):
            raise fail(
                props.path("PathPart"),
                f"{show(part)} is not a path part: letters, digits and . _ - :, or {{name}} / "
                "{name+}",
            )
        parent = as_str(props.require("ParentId"), props.path("ParentId"))
        parents[lid] = (parent, part)
    root = root_resource_id(api)
    paths = {root: "/"}

    def path_of(lid: str, seen: tuple[str, ...]) -> str:
        if lid in paths:
            return paths[lid]
        where = f"Resources.{lid}.Properties.ParentId"
        if lid in seen:
            raise fail(where, f"the resource tree loops ({' -> '.join([*seen, lid])})")
        if lid not in parents:
            raise fail(
                f"Resources.{seen[-1]}.Properties.ParentId",
                f"{show(lid)} is no resource of {api}: use !GetAtt {api}.RootResourceId or "
                "!Ref of one of its AWS::ApiGateway::Resource",
            )
        parent, part = parents[lid]
        parent_path = path_of(parent, (*seen, lid))
        if parent_path.endswith("+}"):
            raise fail(where, f"{parent_path} is greedy: it can have no child resources")
        paths[lid] = parent_path.rstrip("/") + "/" + part
        return paths[lid]

    for lid in parents:
        path_of(lid, ())
    return paths


def _integration(props: Props, functions_by_name: Mapping[str, str]) -> IntegrationSpec:
    path = props.path("Integration")
    raw = props.get("Integration")
    if raw is None:
        raise fail(path, "is required: API Gateway deploys no method without an integration")
    integration: Mapping[str, Any] = as_mapping(raw, path)
    type_path = child(path, "Type")
    kind = as_str(integration.get("Type"), type_path).upper()
    if kind not in INTEGRATION_TYPES:
        allowed = ", ".join(INTEGRATION_TYPES)
        raise fail(type_path, f"{show(kind)} is not an integration type: allowed are {allowed}")
    timeout = None
    if integration.get("TimeoutInMillis") is not None:
        timeout = as_int(
            integration["TimeoutInMillis"],
            child(path, "TimeoutInMillis"),
            low=50,
            high=29_000,
            unit="milliseconds",
        )
    if kind == "MOCK":
        return IntegrationSpec(kind, None, timeout_in_millis=timeout)
    uri_path = child(path, "Uri")
    if integration.get("Uri") is None:
        raise fail(uri_path, f"is required for a {kind} integration")
    uri = as_str(integration["Uri"], uri_path)
    function, qualifier = (None, None)
    if kind in ("AWS_PROXY", "AWS"):
        function, qualifier = lambda_target(uri, functions_by_name)
        verb = integration.get("IntegrationHttpMethod")
        if ":lambda:path/" in uri and verb != "POST":
            raise fail(
                child(path, "IntegrationHttpMethod"),
                f"{show(verb)} is not allowed: a Lambda integration is invoked with POST",
            )
    return IntegrationSpec(kind, uri, function, qualifier, timeout)
