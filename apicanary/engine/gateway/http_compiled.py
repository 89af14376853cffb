"""The gateway's compiled view of HTTP API state (API Gateway v2), sans I/O.

Route selection (``docs/aws-semantics.md`` "HTTP APIs", from the developer guide's "Working
with routes for HTTP APIs"): the most specific route wins — a full match of path and method
(literal segments before ``{param}`` segments), then a greedy ``{proxy+}`` route, then the
``$default`` route; ``ANY`` matches every method but an exact method on the same path wins.
Unlike REST, a path whose routes lack the request's method falls through to less specific
routes (``ANY /{proxy+}``, ``$default``). Each deployment is compiled once into one REST-style
route table per method (that method's routes plus the ``ANY`` routes; :mod:`.routes` does the
matching), so one request costs one table lookup.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from apicanary.engine.apigatewayv2.rules import (
    DEFAULT_ROUTE,
    DEFAULT_STAGE,
    ROUTE_METHODS,
    integration_function,
)
from apicanary.engine.apigatewayv2.snapshot import (
    HttpApiSnapshot,
    HttpDeploymentSnapshot,
    HttpGatewaySnapshot,
    HttpRouteSnapshot,
)
from apicanary.engine.gateway.routes import Route, RouteMatch, RouteTable, compile_routes
from apicanary.errors import BadInputError

log = logging.getLogger(__name__)
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class HttpIntegration:
    """A route's integration, parsed once: the Lambda reference or why it cannot run."""

    function_ref: str | None  # may hold ${stageVariables.x}
    templated: bool
    timeout_s: float
    payload_version: str
    unsupported: str | None


class HttpRoutes:
    """One deployment's routes: :meth:`match` picks the most specific (module docstring)."""

    __slots__ = ("_any", "_by_method", "_default")

    def __init__(self, routes: tuple[HttpRouteSnapshot, ...]) -> None:
        default = next((r for r in routes if r.route_key == DEFAULT_ROUTE), None)
        self._default: RouteMatch[HttpIntegration] | None = None
        if default is not None:
            self._default = RouteMatch(DEFAULT_ROUTE, "", "ANY", _EMPTY, _integration(default))
        keyed: list[tuple[HttpRouteSnapshot, str, str]] = []
        for route in routes:
            if route.route_key != DEFAULT_ROUTE:
                method, _, path = route.route_key.partition(" ")
                keyed.append((route, method, path))
        self._by_method: dict[str, RouteTable[HttpIntegration]] = {}
        for method in ROUTE_METHODS:
            if method == "ANY":
                continue
            chosen = [(r, m, p) for r, m, p in keyed if m in (method, "ANY")]
            self._by_method[method] = _table(chosen)
        self._any = _table([(r, m, p) for r, m, p in keyed if m == "ANY"])

    def match(self, method: str, path: str) -> RouteMatch[HttpIntegration] | None:
        table = self._by_method.get(method, self._any)
        return table.match(method, path) or self._default


def _table(routes: list[tuple[HttpRouteSnapshot, str, str]]) -> RouteTable[HttpIntegration]:
    built = [Route(path, method, _integration(route)) for route, method, path in routes]
    try:
        return compile_routes(built)
    except BadInputError:
        # a combination REST cannot hold (two variable names at one level): keep what fits
        kept: list[Route[HttpIntegration]] = []
        for route in built:
            try:
                compile_routes([*kept, route])
            except BadInputError as exc:
                log.warning(
                    "HTTP API route %s %s not served: %s", route.method, route.resource, exc
                )
                continue
            kept.append(route)
        return compile_routes(kept)


def _integration(route: HttpRouteSnapshot) -> HttpIntegration:
    timeout_s = max(0.05, route.timeout_in_millis / 1000.0)
    version = route.payload_format_version
    if route.integration_type is None:
        return HttpIntegration(None, False, timeout_s, version, "the route has no integration")
    if route.integration_type != "AWS_PROXY":
        reason = f"integration type {route.integration_type} is not emulated (only AWS_PROXY)"
        return HttpIntegration(None, False, timeout_s, version, reason)
    ref = integration_function(route.integration_uri or "")
    if ref is None:
        reason = f"integration URI {route.integration_uri!r} is not a Lambda function"
        return HttpIntegration(None, False, timeout_s, version, reason)
    return HttpIntegration(ref, "${stageVariables." in ref, timeout_s, version, None)


@dataclass(frozen=True, slots=True)
class CompiledHttpStage:
    name: str
    deployment_id: str
    routes: HttpRoutes
    variables: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class CompiledHttpApi:
    id: str
    name: str
    stages: Mapping[str, CompiledHttpStage]  # named stages (served under /<name>)
    default_stage: CompiledHttpStage | None  # $default (served without a prefix)


@dataclass(frozen=True, slots=True)
class CompiledHttpGateway:
    revision: int
    apis: Mapping[str, CompiledHttpApi]
    deployments: Mapping[str, HttpRoutes]


EMPTY_HTTP_GATEWAY = CompiledHttpGateway(-1, MappingProxyType({}), MappingProxyType({}))


def compile_http_gateway(
    snapshot: HttpGatewaySnapshot, previous: CompiledHttpGateway
) -> CompiledHttpGateway:
    """Compile ``snapshot``, reusing the route tables of deployments already compiled."""
    deployments: dict[str, HttpRoutes] = {}
    apis: dict[str, CompiledHttpApi] = {}
    for api in snapshot.apis.values():
        for deployment in api.deployments.values():
            key = f"{api.id}/{deployment.id}"
            deployments[key] = previous.deployments.get(key) or _compile(deployment)
        apis[api.id] = _compile_api(api, deployments)
    return CompiledHttpGateway(
        snapshot.revision, MappingProxyType(apis), MappingProxyType(deployments)
    )


def _compile(deployment: HttpDeploymentSnapshot) -> HttpRoutes:
    return HttpRoutes(deployment.routes)


def _compile_api(api: HttpApiSnapshot, deployments: Mapping[str, HttpRoutes]) -> CompiledHttpApi:
    stages: dict[str, CompiledHttpStage] = {}
    default = None
    for stage in api.stages.values():
        compiled = CompiledHttpStage(
            stage.name,
            stage.deployment_id,
            deployments[f"{api.id}/{stage.deployment_id}"],
            MappingProxyType(dict(stage.variables)),
        )
        if stage.name == DEFAULT_STAGE:
            default = compiled
        else:
            stages[stage.name] = compiled
    return CompiledHttpApi(api.id, api.name, MappingProxyType(stages), default)
