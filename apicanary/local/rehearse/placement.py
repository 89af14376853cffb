"""Placing recorded requests on the project's APIs: which API, stage and route, whose function.

Both kinds of API take rehearsal traffic, since a rollout shifts the function's alias and
every API whose integration invokes that alias sends the canary its share: REST APIs (routes
matched as :mod:`apicanary.engine.gateway.routes` does, stage prefix ``/<stage>``) and HTTP
APIs (API Gateway v2: the most specific route key — ``GET /items/{id}``, ``ANY /{proxy+}``,
then ``$default`` — chosen by the gateway's own :class:`HttpRoutes`; the ``$default`` stage is
served without a prefix, a named stage with ``/<stage>``).

A recorded path may carry the stage prefix (API Gateway's ``$context.path``, a URL on the
``execute-api`` host) or not (a custom domain, a hand-written list); :meth:`Placer.place`
accepts both and answers the path as the gateway wants it. A request is replayed only if it
matches a route whose integration invokes the rehearsed function through its alias (directly
or through a stage variable): requests for other functions, for routes that bypass the alias
(their traffic is never part of a rollout) or for no route at all are counted by reason
instead. A request that names no API is tried on the REST APIs first, then the HTTP APIs, in
template order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from apicanary.engine.apigatewayv2.rules import DEFAULT_ROUTE, DEFAULT_STAGE
from apicanary.engine.apigatewayv2.snapshot import HttpRouteSnapshot
from apicanary.engine.gateway.http_compiled import HttpRoutes
from apicanary.engine.gateway.routes import Route, RouteTable, compile_routes
from apicanary.errors import BadInputError
from apicanary.local.rehearse.traffic import TrafficRequest
from apicanary.project.specs import (
    ApiSpec,
    FunctionSpec,
    HttpApiSpec,
    IntegrationSpec,
    Project,
)

_STAGE_VAR = re.compile(r"^\$\{stageVariables\.([A-Za-z0-9_]+)\}$")
#: the resource path synthetic traffic fills for an HTTP API's ``$default`` route
DEFAULT_ROUTE_PATH = "/{proxy+}"


@dataclass(frozen=True)
class RehearsedApi:
    """One API as rehearsal traffic sees it, REST or HTTP.

    ``prefix`` is the path prefix of its stage (``/Prod``; empty for an HTTP API's
    ``$default`` stage); ``definition`` its OpenAPI document as written (may be empty).
    """

    kind: str  # "rest" or "http"
    logical_id: str
    name: str
    stage_name: str
    variables: Mapping[str, str] = field(default_factory=dict, hash=False)
    definition: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def prefix(self) -> str:
        if self.kind == "http" and self.stage_name == DEFAULT_STAGE:
            return ""
        return f"/{self.stage_name}"


@dataclass(frozen=True)
class FunctionRoute:
    """A route of some API that invokes the rehearsed function, and whether via its alias.

    ``method`` and ``path`` are the declared method (``ANY`` included) and resource path; an
    HTTP API's ``$default`` route has ``ANY`` and :data:`DEFAULT_ROUTE_PATH` (any path).
    ``label`` is how reports name it: ``GET /orders/{id}``, ``ANY /{proxy+}``, ``$default``.
    """

    api: RehearsedApi
    method: str
    path: str
    label: str
    integration: IntegrationSpec
    via_alias: bool

    def request_label(self, method: str) -> str:
        """The report's name for a request sent with ``method`` on this route."""
        return self.label if self.label == DEFAULT_ROUTE else f"{method} {self.path}"


def rehearsed_api(api: ApiSpec | HttpApiSpec) -> RehearsedApi:
    kind = "http" if isinstance(api, HttpApiSpec) else "rest"
    return RehearsedApi(
        kind, api.logical_id, api.name, api.stage_name, api.variables, api.definition
    )


def all_routes(project: Project, spec: FunctionSpec) -> list[FunctionRoute]:
    """Every route of every API (REST first, then HTTP), in template order."""
    found: list[FunctionRoute] = []
    for rest in project.apis:
        api = rehearsed_api(rest)
        for route in rest.routes:
            label = f"{route.method} {route.path}"
            found.append(_route(api, route.method, route.path, label, route.integration, spec))
    for http in project.http_apis:
        api = rehearsed_api(http)
        for key in http.routes:
            method, _, path = key.route_key.partition(" ")
            if key.route_key == DEFAULT_ROUTE:
                method, path = "ANY", DEFAULT_ROUTE_PATH
            found.append(_route(api, method, path, key.route_key, key.integration, spec))
    return found


def function_routes(project: Project, spec: FunctionSpec) -> list[FunctionRoute]:
    """Every route whose integration invokes ``spec``, in template order."""
    return [r for r in all_routes(project, spec) if r.integration.function == spec.logical_id]


def _route(
    api: RehearsedApi,
    method: str,
    path: str,
    label: str,
    integration: IntegrationSpec,
    spec: FunctionSpec,
) -> FunctionRoute:
    return FunctionRoute(api, method, path, label, integration, _reaches(integration, api, spec))


def _reaches(integration: IntegrationSpec, api: RehearsedApi, spec: FunctionSpec) -> bool:
    qualifier = integration.qualifier
    match = _STAGE_VAR.match(qualifier or "")
    if match:
        qualifier = api.variables.get(match.group(1))
    return qualifier is not None and qualifier == spec.auto_publish_alias


class _HttpMatcher:
    """An HTTP API's routes, selected by the gateway's rules, answering our routes."""

    def __init__(self, routes: list[FunctionRoute]) -> None:
        self._by_key = {r.label: r for r in routes}
        self._routes = HttpRoutes(
            tuple(
                HttpRouteSnapshot(r.label, r.integration.type, r.integration.uri, "2.0", 30_000)
                for r in routes
            )
        )

    def match(self, method: str, path: str) -> tuple[FunctionRoute, str] | None:
        found = self._routes.match(method, path)
        if found is None:
            return None
        default = found.resource == DEFAULT_ROUTE
        route = self._by_key[DEFAULT_ROUTE if default else f"{found.method} {found.resource}"]
        return route, route.request_label(method)


class _RestMatcher:
    def __init__(self, routes: list[FunctionRoute]) -> None:
        self._table: RouteTable[FunctionRoute] = compile_routes(
            Route(r.path, r.method, r) for r in routes
        )

    def match(self, method: str, path: str) -> tuple[FunctionRoute, str] | None:
        found = self._table.match(method, path)
        if found is None:
            return None
        return found.integration, f"{method} {found.resource}"


class Placer:
    """Places requests on ``project``'s APIs for the rehearsal of ``spec``; with ``only``
    (API names or logical ids, see :func:`chosen`), on those APIs alone."""

    def __init__(self, project: Project, spec: FunctionSpec, only: tuple[str, ...] = ()) -> None:
        self.spec = spec
        routes = all_routes(project, spec)
        apis = [*map(rehearsed_api, project.apis), *map(rehearsed_api, project.http_apis)]
        self.apis = list(dict.fromkeys(apis))
        self.only = only
        self._matchers: dict[RehearsedApi, _HttpMatcher | _RestMatcher] = {}
        for api in self.apis:
            own = [r for r in routes if r.api == api]
            self._matchers[api] = _HttpMatcher(own) if api.kind == "http" else _RestMatcher(own)

    def place(self, request: TrafficRequest) -> TrafficRequest | str:
        """The request with its gateway path, API and route, or why it is not replayed."""
        candidates = self.apis
        if request.api is not None:
            named = [a for a in self.apis if request.api in (a.name, a.logical_id)]
            candidates = named or self.apis
        if self.only:
            candidates = [a for a in candidates if _named(a, self.only)]
            if not candidates:
                return "an API not chosen with --api"
        reason = "no route of the template matches"
        for api in candidates:
            for rest, full in _paths(request.path, api.prefix):
                match = self._matchers[api].match(request.method, rest)
                if match is None:
                    continue
                route, label = match
                if route.integration.function != self.spec.logical_id:
                    reason = "a route of another function"
                    break
                if not route.via_alias:
                    reason = "a route that does not invoke the function's alias"
                    break
                return replace(request, path=full, api=api.name, route=label)
        return reason


def chosen(routes: list[FunctionRoute], only: tuple[str, ...]) -> list[FunctionRoute]:
    """The routes on the APIs named in ``only`` (all of them when it is empty); a name that is
    not an API of these routes is a :class:`BadInputError` listing those that are."""
    if not only:
        return routes
    apis = list(dict.fromkeys(r.api for r in routes))
    for name in only:
        if not any(_named(api, (name,)) for api in apis):
            listing = ", ".join(f"{a.name} ({a.kind.upper()})" for a in apis) or "none"
            raise BadInputError(
                f"--api {name}: not an API with a route of this function (its APIs: {listing})"
            )
    return [r for r in routes if _named(r.api, only)]


def _named(api: RehearsedApi, names: tuple[str, ...]) -> bool:
    return api.name in names or api.logical_id in names


def _paths(path: str, prefix: str) -> list[tuple[str, str]]:
    """(path without the stage, path with it) readings of ``path``, the prefixed one first."""
    if not prefix:
        return [(path, path)]
    head, _, rest = path.lstrip("/").partition("/")
    readings: list[tuple[str, str]] = []
    if head == prefix[1:]:
        readings.append(("/" + rest, path))
    readings.append((path, f"{prefix}{path if path != '/' else ''}"))
    return readings
