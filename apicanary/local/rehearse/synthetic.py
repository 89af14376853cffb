"""Synthetic traffic: requests over the function's routes when nothing was recorded.

Each request picks one of the function's routes that invoke its alias (uniformly, REST and HTTP
API routes alike; an HTTP API's ``$default`` route gets a path of varied segments) and fills
it from the route's OpenAPI operation, when the API has a definition: path parameters always,
required query parameters and headers always and optional ones half of the time, and a JSON
body for methods that take one (from ``requestBody`` or a Swagger ``in: body`` parameter).
Values come from :mod:`.values` — documented examples and enums, generated values by schema
type and format, or a spread of integers and short strings when nothing is declared — so a
fault that depends on the input is met, never hidden behind one constant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from random import Random
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from apicanary.engine.apigatewayv2.rules import DEFAULT_ROUTE
from apicanary.local.rehearse.placement import FunctionRoute
from apicanary.local.rehearse.traffic import TrafficRequest
from apicanary.local.rehearse.values import json_value, parameter_value, resolve, varied

_PARAM = re.compile(r"\{([^}+]+)(\+?)\}")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_ANY_KEY = "x-amazon-apigateway-any-method"


class SyntheticTraffic:
    """An endless, seeded stream of requests over ``routes``."""

    def __init__(self, routes: Sequence[FunctionRoute], rng: Random) -> None:
        if not routes:
            raise ValueError("synthetic traffic needs at least one route")
        self.routes = tuple(routes)
        self.rng = rng
        self.described = sum(1 for r in self.routes if operation(r) is not None)

    def describe(self) -> str:
        return (
            f"synthetic: {len(self.routes)} route(s), parameters from the OpenAPI definition "
            f"on {self.described}, varied values elsewhere"
        )

    def __call__(self) -> TrafficRequest:
        return synthetic_request(self.rng.choice(self.routes), self.rng)


def operation(route: FunctionRoute) -> Mapping[str, Any] | None:
    """The OpenAPI operation of ``route`` with its path item's parameters merged in."""
    document = route.api.definition
    key = route.label if route.label == DEFAULT_ROUTE else route.path
    item = resolve((document.get("paths") or {}).get(key), document)
    if not isinstance(item, Mapping):
        return None
    method = route.method
    op = item.get(_ANY_KEY if method == "ANY" else method.lower())
    if not isinstance(op, Mapping):
        return None
    merged: dict[tuple[str, str], Any] = {}
    for raw in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
        parameter = resolve(raw, document)
        if isinstance(parameter, Mapping) and "name" in parameter:
            merged[(str(parameter["name"]), str(parameter.get("in")))] = parameter
    return {**op, "parameters": list(merged.values())}


def synthetic_request(route: FunctionRoute, rng: Random) -> TrafficRequest:
    """One request for ``route`` with freshly drawn values."""
    document = route.api.definition
    op = operation(route) or {}
    parameters: list[Mapping[str, Any]] = list(op.get("parameters") or [])
    by_place: dict[str, dict[str, Mapping[str, Any]]] = {}
    for parameter in parameters:
        by_place.setdefault(str(parameter.get("in")), {})[str(parameter["name"])] = parameter

    def fill(match: re.Match[str]) -> str:
        name, greedy = match.group(1), match.group(2)
        declared = by_place.get("path", {}).get(name)
        if declared is not None:
            return quote(parameter_value(declared, document, rng), safe="/" if greedy else "")
        if greedy:
            return "/".join(quote(varied(rng), safe="") for _ in range(rng.randint(1, 3)))
        return quote(varied(rng), safe="")

    method = "GET" if route.method == "ANY" else route.method
    path = _PARAM.sub(fill, route.path)
    query = urlencode(
        [(name, parameter_value(p, document, rng)) for name, p in _chosen(by_place, "query", rng)]
    )
    headers = [("accept", "application/json")]
    headers += [(n, parameter_value(p, document, rng)) for n, p in _chosen(by_place, "header", rng)]
    body = b""
    if method in _BODY_METHODS:
        schema = _body_schema(op, by_place, document)
        if schema is not None:
            body = orjson.dumps(json_value(schema, document, rng))
            headers.append(("content-type", "application/json"))
    prefix = route.api.prefix
    return TrafficRequest(
        method=method,
        path=f"{prefix}{path if path != '/' or not prefix else ''}",
        query=query,
        headers=tuple(headers),
        body=body,
        api=route.api.name,
        route=route.request_label(method),
    )


def _chosen(
    by_place: Mapping[str, Mapping[str, Mapping[str, Any]]], place: str, rng: Random
) -> list[tuple[str, Mapping[str, Any]]]:
    """The parameters of ``place`` this request sends: required ones, optional ones half the
    time (a draw is made for every optional parameter, so the stream stays reproducible)."""
    chosen: list[tuple[str, Mapping[str, Any]]] = []
    for name, parameter in by_place.get(place, {}).items():
        if parameter.get("required") or rng.random() < 0.5:
            chosen.append((name, parameter))
    return chosen


def _body_schema(
    op: Mapping[str, Any],
    by_place: Mapping[str, Mapping[str, Mapping[str, Any]]],
    document: Mapping[str, Any],
) -> Any:
    """The schema of a JSON request body (with the media object's example folded in)."""
    request_body = resolve(op.get("requestBody"), document)
    content = request_body.get("content") if isinstance(request_body, Mapping) else None
    if isinstance(content, Mapping):
        for media, body in content.items():
            if "json" in str(media) and isinstance(body, Mapping):
                schema = resolve(body.get("schema", {}), document)
                schema = dict(schema) if isinstance(schema, Mapping) else {}
                if "example" in body:
                    schema["example"] = body["example"]
                return schema
    for parameter in by_place.get("body", {}).values():
        return parameter.get("schema", {})
    return None
