"""Routes of an OpenAPI ``DefinitionBody`` and the Lambda behind an integration URI.

Only what the gateway needs is read (and only that is resolved, so an authorizer using an
unsupported intrinsic does not stop a local run): each ``paths.<path>.<method>`` and its
``x-amazon-apigateway-integration`` ``type`` and ``uri``, plus
``x-amazon-apigateway-binary-media-types``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from apicanary.project.fields import as_int, as_mapping, as_str, as_str_list, child, fail, show
from apicanary.project.intrinsics import Resolver
from apicanary.project.specs import IntegrationSpec, RouteSpec

INTEGRATION_KEY: Final = "x-amazon-apigateway-integration"
BINARY_KEY: Final = "x-amazon-apigateway-binary-media-types"
#: OpenAPI operation keys → API Gateway HTTP methods.
METHODS: Final = {
    "get": "GET",
    "put": "PUT",
    "post": "POST",
    "delete": "DELETE",
    "options": "OPTIONS",
    "head": "HEAD",
    "patch": "PATCH",
    "x-amazon-apigateway-any-method": "ANY",
}
INTEGRATION_TYPES: Final = ("AWS_PROXY", "AWS", "HTTP_PROXY", "HTTP", "MOCK")

_LAMBDA_URI = re.compile(
    r"arn:aws[a-z-]*:apigateway:[^:]+:lambda:path/2015-03-31/functions/(?P<arn>.+)/invocations"
)
_FUNCTION_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:[^:]+:[^:]+:function:(?P<name>[^:/]+)(?::(?P<qualifier>[^:/]+))?"
)


def lambda_target(uri: str, functions_by_name: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``(function logical id, qualifier)`` invoked by a Lambda integration ``uri``.

    The logical id is None when the function is not one of ``functions_by_name`` (function
    name → logical id), e.g. a name taken from a stage variable. The qualifier is kept as
    written (``live``, ``7`` or ``${stageVariables.lambdaAlias}``).
    """
    outer = _LAMBDA_URI.fullmatch(uri)
    inner = _FUNCTION_ARN.fullmatch(outer.group("arn")) if outer else None
    if inner is None:
        return None, None
    return functions_by_name.get(inner.group("name")), inner.group("qualifier")


def definition_routes(
    body: Any, path: str, resolver: Resolver, functions_by_name: Mapping[str, str]
) -> tuple[list[RouteSpec], list[str]]:
    """The routes and binary media types declared by an OpenAPI document at ``path``."""
    document = as_mapping(body, path)
    if len(document) == 1 and next(iter(document)).startswith("Fn::"):
        raise fail(
            path,
            f"{next(iter(document))} is not supported in a DefinitionBody by the local engine; "
            "inline the OpenAPI document",
        )
    binary_path = child(path, BINARY_KEY)
    binary = as_str_list(resolver.resolve(document.get(BINARY_KEY, []), binary_path), binary_path)
    routes: list[RouteSpec] = []
    paths_path = child(path, "paths")
    for route_path, item in as_mapping(document.get("paths") or {}, paths_path).items():
        item_path = child(paths_path, route_path)
        if not route_path.startswith("/"):
            raise fail(item_path, f"path {show(route_path)} must start with '/'")
        for key, operation in as_mapping(item or {}, item_path).items():
            method = METHODS.get(key.lower())
            if method is not None:
                op_path = child(item_path, key)
                integration = _integration(operation, op_path, resolver, functions_by_name)
                routes.append(RouteSpec(route_path, method, integration))
    return routes, binary


def _integration(
    operation: Any, path: str, resolver: Resolver, functions_by_name: Mapping[str, str]
) -> IntegrationSpec:
    op = as_mapping(operation or {}, path)
    if INTEGRATION_KEY not in op:
        raise fail(path, f"has no {INTEGRATION_KEY}: every method needs an integration")
    int_path = child(path, INTEGRATION_KEY)
    integration = as_mapping(op[INTEGRATION_KEY], int_path)
    type_path = child(int_path, "type")
    kind = as_str(resolver.resolve(integration.get("type", ""), type_path), type_path).upper()
    if kind not in INTEGRATION_TYPES:
        raise fail(
            type_path,
            f"{show(kind.lower())} is not an integration type: must be one of "
            f"{', '.join(t.lower() for t in INTEGRATION_TYPES)}",
        )
    uri_path = child(int_path, "uri")
    if "uri" not in integration:
        if kind != "MOCK":
            raise fail(uri_path, f"is required for a {kind.lower()} integration")
        return IntegrationSpec(kind, None)
    uri = as_str(resolver.resolve(integration["uri"], uri_path), uri_path)
    function, qualifier = (None, None)
    if kind in ("AWS_PROXY", "AWS"):
        function, qualifier = lambda_target(uri, functions_by_name)
    timeout = None
    if "timeoutInMillis" in integration:
        timeout_path = child(int_path, "timeoutInMillis")
        raw = resolver.resolve(integration["timeoutInMillis"], timeout_path)
        timeout = as_int(raw, timeout_path, low=50, high=29_000, unit="milliseconds")
    return IntegrationSpec(kind, uri, function, qualifier, timeout)
