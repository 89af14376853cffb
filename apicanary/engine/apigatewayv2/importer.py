"""ImportApi / ReimportApi: an OpenAPI 3 definition (JSON or YAML) as an HTTP API's routes.

Read by the project's one OpenAPI reader (:mod:`apicanary.project.openapi`). Each operation
is a route ``METHOD /path`` (``x-amazon-apigateway-any-method`` is ``ANY``); the path item
``$default`` (AWS's export writes the ``$default`` route so) is the ``$default`` route. Each
operation's ``x-amazon-apigateway-integration`` gives the integration: ``type``, ``uri``,
``payloadFormatVersion`` (required for an AWS_PROXY integration, as the extension's
documentation says; a missing one is ``BadRequestException``) and ``timeoutInMillis``.
Operations without an integration become routes without a target. ``info.title`` names the
API. ReimportApi replaces every route and integration (the API's stages are kept; auto-deploy
stages pick up the new routes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apicanary.engine.apigatewayv2 import rules
from apicanary.engine.apigatewayv2.rules import DEFAULT_ROUTE
from apicanary.errors import TemplateError
from apicanary.project.openapi import INTEGRATION_KEY, METHODS, load_document, read_definition


@dataclass(frozen=True, slots=True)
class ImportedRoute:
    route_key: str
    integration: Mapping[str, Any] | None  # CreateIntegration fields, or None


@dataclass(frozen=True, slots=True)
class ImportedHttpApi:
    title: str | None
    description: str | None
    routes: tuple[ImportedRoute, ...]


def parse_http_definition(body: bytes) -> ImportedHttpApi:
    """The routes of an OpenAPI document; a bad document is ``BadRequestException``."""
    try:
        document = dict(load_document(body))
        paths = dict(document.get("paths") or {})
        default_item = paths.pop(DEFAULT_ROUTE, None)
        document["paths"] = paths
        definition = read_definition(document, "")
    except TemplateError as exc:
        raise rules.bad_request(f"Invalid OpenAPI definition: {exc.message}") from None
    routes = [
        ImportedRoute(f"{op.method} {op.path}", _integration(op.integration))
        for op in definition.operations
    ]
    if isinstance(default_item, Mapping):
        for key, operation in default_item.items():
            if key.lower() in METHODS and isinstance(operation, Mapping):
                raw = operation.get(INTEGRATION_KEY)
                integration = _integration(raw if isinstance(raw, Mapping) else None)
                routes.append(ImportedRoute(DEFAULT_ROUTE, integration))
                break
    for route in routes:
        rules.split_route_key(route.route_key)
    info = document.get("info")
    info = info if isinstance(info, Mapping) else {}
    title = info.get("title")
    description = info.get("description")
    return ImportedHttpApi(
        str(title) if title is not None else None,
        str(description) if description is not None else None,
        tuple(routes),
    )


def _integration(raw: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    fields: dict[str, Any] = {"integrationType": str(raw.get("type", "")).upper()}
    if "uri" in raw:
        fields["integrationUri"] = raw["uri"]
    if "payloadFormatVersion" in raw:
        fields["payloadFormatVersion"] = str(raw["payloadFormatVersion"])
    if "timeoutInMillis" in raw:
        fields["timeoutInMillis"] = raw["timeoutInMillis"]
    if "httpMethod" in raw:
        fields["integrationMethod"] = raw["httpMethod"]
    return fields
