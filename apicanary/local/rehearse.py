"""Rehearsal: run a strategy against the project's real handlers, with faults, in seconds.

An engine in a scratch directory with a *virtual* clock serves the project; the function's
current code is published twice (stable, and the canary the faults are injected into), and
synthetic traffic over the function's API routes (real proxy events, real worker processes)
runs at ``rate`` requests per virtual second while the real controller ticks once per virtual
second. Minutes of strategy pass in seconds; the statistics are the same as in production
because they depend on requests, not on time.
"""

from __future__ import annotations

import asyncio
import functools
import random
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from apicanary.clock import VirtualClock
from apicanary.engine.engine import Engine
from apicanary.engine.gateway.events import build_rest_v1_event
from apicanary.engine.gateway.media_types import NO_BINARY_MEDIA_TYPES
from apicanary.engine.gateway.messages import GatewayRequest, ResolvedRoute
from apicanary.engine.gateway.routes import RouteMatch
from apicanary.engine.provision import provision
from apicanary.errors import BadInputError
from apicanary.local.faults import Fault, FaultInjectingRuntime
from apicanary.platform.local import LocalPlatform
from apicanary.project.loader import load_project
from apicanary.project.specs import FunctionSpec, Project
from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal
from apicanary.rollout.service import start_rollout

_PARAM = re.compile(r"\{([^}+]+)\+?\}")


@dataclass(frozen=True)
class RehearsalRequest:
    template: Path
    function: str
    faults: tuple[Fault, ...] = ()
    strategy: Any = None  # a name, a mapping, or None: the function's DeploymentPreference
    rate: float = 20.0  # requests per virtual second
    seed: int = 1
    max_seconds: int = 4 * 3600  # give up after this much virtual time


Route = tuple[str, str, str, dict[str, str]]


def _route_events(project: Project, spec: FunctionSpec) -> list[Route]:
    """(method, resource template, concrete path, path parameters) for each API route that
    invokes ``spec``; parameters get the value ``1`` (``a/b`` for a greedy ``{proxy+}``)."""
    routes: list[Route] = []
    for api in project.apis:
        for route in api.routes:
            if route.integration.function != spec.logical_id:
                continue
            method = "GET" if route.method == "ANY" else route.method
            parameters = {
                m.group(1): "a/b" if m.group(0).endswith("+}") else "1"
                for m in _PARAM.finditer(route.path)
            }
            path = _PARAM.sub(functools.partial(_parameter_value, parameters), route.path)
            routes.append((method, route.path, path, parameters))
    return routes


def _parameter_value(values: dict[str, str], match: re.Match[str]) -> str:
    return values[match.group(1)]


def rehearse(
    request: RehearsalRequest, on_tick: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Run the rehearsal; returns the verdict, the time to decide and what users would see."""
    scratch = Path(tempfile.mkdtemp(prefix="apicanary-rehearse-"))
    try:
        return asyncio.run(_rehearse(request, scratch, on_tick))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


async def _rehearse(
    request: RehearsalRequest, scratch: Path, on_tick: Callable[[dict[str, Any]], None] | None
) -> dict[str, Any]:
    project = load_project(request.template)
    spec = project.function(request.function)
    alias = spec.auto_publish_alias
    if alias is None:
        raise BadInputError(
            f"function {spec.logical_id} has no AutoPublishAlias: a rollout needs an alias",
            hint="add 'AutoPublishAlias: live' to its Properties",
        )
    clock = VirtualClock()
    rng = random.Random(request.seed)
    engine = Engine(scratch / "state", clock=clock, rng=random.Random(request.seed))
    try:
        provision(engine, project)
        lambdas = engine.lambdas
        name = spec.function_name
        stable = lambdas.get_alias(name, alias)["FunctionVersion"]
        # the same code again, marked, so that the canary is its own version
        config = lambdas.get_function_configuration(name, None)
        variables = dict((config.get("Environment") or {}).get("Variables") or {})
        variables["APICANARY_REHEARSAL"] = "canary"
        lambdas.update_function_configuration(name, {"Environment": {"Variables": variables}})
        canary = str(lambdas.publish_version(name, {"Description": "rehearsal canary"})["Version"])
        injector = FaultInjectingRuntime(
            engine.runtime, request.faults, function=name, version=canary, rng=rng
        )
        lambdas.invoker.use_runtime(injector)
        loop = asyncio.get_running_loop()
        platform = LocalPlatform(engine, loop)
        journal = Journal(engine.store)
        controller = Controller(journal, platform, clock)
        strategy = request.strategy
        if strategy is None:
            preference = spec.deployment_preference
            strategy = (
                {"deploymentPreference": {"type": preference.type, "alarms": []}}
                if preference is not None
                else None
            )
        document = await asyncio.to_thread(
            start_rollout,
            controller,
            platform,
            {"function": name, "alias": alias, "toVersion": canary, "strategy": strategy},
        )
        routes = _route_events(project, spec)
        counters = {"requests": 0, "failed": 0, "canaryRequests": 0, "canaryFailed": 0}
        started = clock.now()
        per_tick = max(1, round(request.rate))
        for _ in range(request.max_seconds):
            for _ in range(per_tick):
                await _one_request(engine, name, alias, canary, routes, rng, counters, clock)
            clock.advance(1.0)
            document = await asyncio.to_thread(controller.reconcile, document["id"])
            if on_tick is not None:
                on_tick(document)
            if document["terminal"]:
                break
        events = [e.to_dict() for e in journal.events(document["id"])]
        return {
            "verdict": document["status"],
            "reason": document["reason"],
            "unverified": document["unverified"],
            "decidedAfterSeconds": clock.now() - started,
            "stableVersion": stable,
            "canaryVersion": canary,
            "faults": [f.describe() for f in request.faults],
            "injectedFaults": injector.injected,
            "strategy": document["strategySummary"],
            **counters,
            "stableFailed": counters["failed"] - counters["canaryFailed"],
            "rollout": document,
            "journal": events,
        }
    finally:
        await engine.aclose()


async def _one_request(
    engine: Engine,
    name: str,
    alias: str,
    canary: str,
    routes: Sequence[Route],
    rng: random.Random,
    counters: dict[str, int],
    clock: VirtualClock,
) -> None:
    request_id = str(uuid.uuid4())
    if routes:
        method, resource, path, parameters = rng.choice(routes)
        request = GatewayRequest(
            method, f"/Prod{path}", "", [("accept", "application/json")], b"", "127.0.0.1", None
        )
        route = ResolvedRoute(
            "rehearsal", "rehearsal", NO_BINARY_MEDIA_TYPES, "Prod", False, "rehearsal", {},
            f"/Prod{path}", RouteMatch(resource, "rehearsal", method, parameters, None),
        )  # fmt: skip
        event = build_rest_v1_event(
            request, route, request_id=request_id, request_time_ms=int(clock.now() * 1000)
        )
        payload = orjson.dumps(event)
    else:
        payload = b"{}"
    target = engine.lambdas.invoker.resolve(name, alias)
    outcome = await engine.lambdas.invoker.invoke_target(target, payload, request_id)
    failed = outcome.function_error is not None
    counters["requests"] += 1
    counters["failed"] += failed
    if target.executed_version == canary:
        counters["canaryRequests"] += 1
        counters["canaryFailed"] += failed
