"""Placing recorded requests on the project's API: which API, stage and route, whose function.

A recorded path may carry the stage prefix (API Gateway's ``$context.path``, a URL on the
``execute-api`` host) or not (a custom domain, a hand-written list); :meth:`Placer.place`
accepts both and answers the path with the prefix, as the gateway wants it. A request is
replayed only if it matches a route whose integration invokes the rehearsed function through
its alias (directly or through a stage variable): requests for other functions, for routes
that bypass the alias (their traffic is never part of a rollout) or for no route at all are
counted by reason instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from apicanary.engine.gateway.routes import Route, RouteTable, compile_routes
from apicanary.local.rehearse.traffic import TrafficRequest
from apicanary.project.specs import ApiSpec, FunctionSpec, Project, RouteSpec

_STAGE_VAR = re.compile(r"^\$\{stageVariables\.([A-Za-z0-9_]+)\}$")


@dataclass(frozen=True)
class FunctionRoute:
    """A route of some API that invokes the rehearsed function, and whether via its alias."""

    api: ApiSpec
    route: RouteSpec
    via_alias: bool

    @property
    def label(self) -> str:
        return f"{self.route.method} {self.route.path}"


def function_routes(project: Project, spec: FunctionSpec) -> list[FunctionRoute]:
    """Every route whose integration invokes ``spec``, in template order."""
    found: list[FunctionRoute] = []
    for api in project.apis:
        for route in api.routes:
            if route.integration.function == spec.logical_id:
                found.append(FunctionRoute(api, route, _reaches(route, api, spec)))
    return found


def _reaches(route: RouteSpec, api: ApiSpec, spec: FunctionSpec) -> bool:
    qualifier = route.integration.qualifier
    match = _STAGE_VAR.match(qualifier or "")
    if match:
        qualifier = api.variables.get(match.group(1))
    return qualifier is not None and qualifier == spec.auto_publish_alias


class Placer:
    """Places requests on ``project``'s APIs for the rehearsal of ``spec``."""

    def __init__(self, project: Project, spec: FunctionSpec) -> None:
        self.spec = spec
        self.apis = project.apis
        self._tables: dict[str, RouteTable[RouteSpec]] = {
            api.name: compile_routes(Route(r.path, r.method, r) for r in api.routes)
            for api in project.apis
        }

    def place(self, request: TrafficRequest) -> TrafficRequest | str:
        """The request with its stage-prefixed path, API and route, or why it is not replayed."""
        candidates: Sequence[ApiSpec] = self.apis
        if request.api is not None:
            named = [a for a in self.apis if request.api in (a.name, a.logical_id)]
            candidates = named or self.apis
        reason = "no route of the template matches"
        for api in candidates:
            for rest, full in _paths(request.path, api.stage_name):
                match = self._tables[api.name].match(request.method, rest)
                if match is None:
                    continue
                route = match.integration
                if route.integration.function != self.spec.logical_id:
                    reason = "a route of another function"
                    break
                if not _reaches(route, api, self.spec):
                    reason = "a route that does not invoke the function's alias"
                    break
                label = f"{request.method} {match.resource}"
                return replace(request, path=full, api=api.name, route=label)
        return reason


def _paths(path: str, stage: str) -> list[tuple[str, str]]:
    """(path without the stage, path with it) readings of ``path``, the prefixed one first."""
    head, _, rest = path.lstrip("/").partition("/")
    readings: list[tuple[str, str]] = []
    if head == stage:
        readings.append(("/" + rest, path))
    readings.append((path, f"/{stage}{path if path != '/' else ''}"))
    return readings
