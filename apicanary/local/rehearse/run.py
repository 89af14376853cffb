"""One rehearsal, start to end: the release against its baseline, on real or synthetic traffic.

An engine in a scratch directory with a *virtual* clock serves the project. The baseline
(:mod:`.baseline`) is published as the stable version behind the function's alias and the
working tree as the canary (:mod:`.versions`); ``--fault`` overlays injected faults on the
canary's real answers. The real controller starts a rollout of the canary with the real
strategy and ticks once per virtual second, while the planned traffic (:mod:`.plan`) goes
through the real gateway (:mod:`.session`). Minutes of strategy pass in seconds; the
statistics are those of production, because they depend on requests, not on time.

Random draws come from separate streams derived from ``seed`` (traffic, the alias's weighted
split, faults, the comparison sample), so the same inputs give the same requests, the same
split and the same injected faults; only measured latencies vary between runs.

The verdict is the rollout's; the differential report (:mod:`.report`, :mod:`.bodies`) says
where the canary differs.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

from apicanary.clock import VirtualClock
from apicanary.engine.engine import Engine
from apicanary.engine.provision import provision
from apicanary.errors import BadInputError
from apicanary.local.faults import Fault, FaultInjectingRuntime
from apicanary.local.rehearse.baseline import Baseline, resolve_baseline
from apicanary.local.rehearse.bodies import compare
from apicanary.local.rehearse.compare import answer_three_times
from apicanary.local.rehearse.plan import TrafficPlan, plan_traffic
from apicanary.local.rehearse.report import route_reports, totals
from apicanary.local.rehearse.session import Observation, RehearsalPlatform, Sender, observe
from apicanary.local.rehearse.versions import Versions, publish_versions
from apicanary.project.loader import load_project
from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal
from apicanary.rollout.service import start_rollout


@dataclass(frozen=True)
class RehearsalRequest:
    template: Path
    function: str
    faults: tuple[Fault, ...] = ()
    strategy: Any = None  # a name, a mapping, or None: the function's DeploymentPreference
    rate: float | None = None  # requests per virtual second; None: recorded pace, else 20
    seed: int = 1
    max_seconds: int = 4 * 3600  # give up after this much virtual time
    baseline: str | None = None  # a git revision, a directory, "live"; None: the default
    control_url: str | None = None  # where "live" is read from
    replay: Path | None = None
    requests_file: Path | None = None
    compare_bodies: bool = False
    apis: tuple[str, ...] = ()  # rehearse on these APIs only (names or logical ids); (): all


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
    plan = plan_traffic(
        project, spec, replay=request.replay, requests_file=request.requests_file,
        rate=request.rate, seed=request.seed, apis=request.apis,
    )  # fmt: skip
    baseline = await asyncio.to_thread(
        resolve_baseline, request.baseline, project, spec, scratch,
        control_url=request.control_url,
    )  # fmt: skip
    clock = VirtualClock()
    engine = Engine(scratch / "state", clock=clock, rng=Random(f"{request.seed}:split"))
    try:
        provisioned = provision(engine, project)
        name = spec.function_name
        versions = publish_versions(engine, spec, alias, baseline, compare=request.compare_bodies)
        injector = FaultInjectingRuntime(
            engine.runtime, request.faults, function=name, version=versions.canary,
            rng=Random(f"{request.seed}:faults"),
        )  # fmt: skip
        engine.lambdas.invoker.use_runtime(injector)
        platform = RehearsalPlatform(engine, asyncio.get_running_loop())
        journal = Journal(engine.store)
        controller = Controller(journal, platform, clock)
        document = await asyncio.to_thread(
            start_rollout, controller, platform,
            {"function": name, "alias": alias, "toVersion": versions.canary,
             "strategy": _strategy(request.strategy, spec.deployment_preference)},
        )  # fmt: skip
        api_ids = {api.name: api.api_id for api in provisioned.apis}
        api_ids.update((api["name"], api["api_id"]) for api in provisioned.http_apis)
        sender = Sender(engine, api_ids)
        started = clock.now()
        observations: list[Observation] = []
        upcoming = next(plan.schedule)
        for tick in range(request.max_seconds):
            while upcoming[0] < tick + 1:
                _move_to(clock, started + upcoming[0])
                traffic = upcoming[1]
                answer = await sender.send(traffic)
                observations.append(observe(answer, upcoming[0], traffic.route or traffic.path))
                upcoming = next(plan.schedule)
            _move_to(clock, started + tick + 1)
            document = await asyncio.to_thread(controller.reconcile, document["id"])
            if on_tick is not None:
                on_tick(document)
            if document["terminal"]:
                break
        bodies = None
        if versions.compare is not None:
            comparisons = await answer_three_times(
                engine, sender, name, alias, versions.compare, plan.sample
            )
            bodies = compare(comparisons)
        events = [e.to_dict() for e in journal.events(document["id"])]
        return _result(
            document, events, clock.now() - started, request, baseline, plan, versions,
            observations, injector.injected, bodies,
        )  # fmt: skip
    finally:
        await engine.aclose()


def _strategy(requested: Any, preference: Any) -> Any:
    if requested is not None or preference is None:
        return requested
    return {"deploymentPreference": {"type": preference.type, "alarms": []}}


def _move_to(clock: VirtualClock, moment: float) -> None:
    ahead = moment - clock.now()
    if ahead > 0:
        clock.advance(ahead)


def _result(
    document: dict[str, Any],
    events: list[dict[str, Any]],
    elapsed: float,
    request: RehearsalRequest,
    baseline: Baseline,
    plan: TrafficPlan,
    versions: Versions,
    observations: list[Observation],
    injected: int,
    bodies: dict[str, dict[str, Any]] | None,
) -> dict[str, Any]:
    return {
        "verdict": document["status"],
        "reason": document["reason"],
        "unverified": document["unverified"],
        "decidedAfterSeconds": elapsed,
        "stableVersion": versions.stable,
        "canaryVersion": versions.canary,
        "comparedVersions": list(versions.compare) if versions.compare else None,
        "baseline": baseline.to_dict(),
        "traffic": plan.to_dict(),
        "faults": [f.describe() for f in request.faults],
        "injectedFaults": injected,
        "strategy": document["strategySummary"],
        **totals(observations, versions.stable, versions.canary),
        "routes": route_reports(observations, versions.stable, versions.canary, bodies),
        "bodiesCompared": bodies is not None,
        "timeline": _timeline(observations, versions),
        "rollout": document,
        "journal": events,
    }


def _timeline(observations: list[Observation], versions: Versions) -> dict[str, Any]:
    """Per virtual second and arm: requests, failures and the median latency (for charts)."""
    seconds: dict[tuple[str, int], list[Observation]] = {}
    for o in observations:
        arm = {versions.stable: "baseline", versions.canary: "canary"}.get(o.version or "")
        if arm is not None:
            seconds.setdefault((arm, int(o.at)), []).append(o)
    series: dict[str, list[list[float]]] = {"baseline": [], "canary": []}
    for (arm, second), group in sorted(seconds.items()):
        latencies = sorted(o.latency_ms for o in group)
        failed = sum(1 for o in group if o.status >= 500)
        series[arm].append([second, len(group), failed, round(latencies[len(latencies) // 2], 3)])
    return {"columns": ["second", "requests", "failed", "p50Ms"], **series}
