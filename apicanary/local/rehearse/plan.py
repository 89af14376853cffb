"""The rehearsal's traffic, planned: which requests, in what order, at what pace.

* ``--replay FILE``: a recording (:mod:`.sources`), placed on the project's API
  (:mod:`.placement`), in recorded order, at ``--rate`` or else at its recorded pace when it
  says when each request was sent; cycled until the rollout decides.
* ``--requests FILE``: a list written by hand, in order, cycled, at ``--rate``.
* neither: synthetic requests over the function's routes (:mod:`.synthetic`) at ``--rate``.

The default rate is :data:`DEFAULT_RATE` requests per virtual second. The plan also keeps the
requests a body comparison sends: the first :data:`SAMPLE_PER_ROUTE` of each route (for
synthetic traffic, as many fresh ones per route from their own seeded stream).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

from apicanary.errors import BadInputError
from apicanary.local.rehearse.placement import Placer, chosen, function_routes
from apicanary.local.rehearse.sources import load_replay, load_requests
from apicanary.local.rehearse.synthetic import SyntheticTraffic, synthetic_request
from apicanary.local.rehearse.traffic import (
    MAX_GAP_S,
    Cycler,
    TrafficRequest,
    at_rate,
    at_recorded_pace,
    has_timestamps,
)
from apicanary.project.specs import FunctionSpec, Project

DEFAULT_RATE = 20.0
SAMPLE_PER_ROUTE = 30


@dataclass
class TrafficPlan:
    kind: str  # "capture", "access-log", "har", "requests", "synthetic"
    description: str
    pace: str
    schedule: Iterator[tuple[float, TrafficRequest]]
    sample: tuple[TrafficRequest, ...]
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    cycler: Cycler | None = None
    file: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": str(self.file) if self.file else None,
            "description": self.description,
            "pace": self.pace,
            "recorded": len(self.cycler.requests) if self.cycler else None,
            "passes": self.cycler.passes if self.cycler else None,
            "skipped": dict(self.skipped),
            "notes": list(self.notes),
        }


def plan_traffic(
    project: Project,
    spec: FunctionSpec,
    *,
    replay: Path | None,
    requests_file: Path | None,
    rate: float | None,
    seed: int,
    apis: tuple[str, ...] = (),
) -> TrafficPlan:
    """The plan for rehearsing ``spec`` (see the module docstring); with ``apis``, on the
    function's routes of those APIs only."""
    if replay is not None and requests_file is not None:
        raise BadInputError("--replay and --requests are alternatives: give one")
    routes = chosen(function_routes(project, spec), apis)
    notes = [
        f"{r.label} on {r.api.name} invokes {spec.function_name} without its alias "
        f"{spec.auto_publish_alias}: no rollout ever shifts its traffic, so it is not rehearsed"
        for r in routes
        if not r.via_alias
    ]
    reachable = [r for r in routes if r.via_alias]
    if not reachable:
        raise BadInputError(
            f"function {spec.logical_id} has no API route that invokes its alias "
            f"{spec.auto_publish_alias}: a rehearsal sends HTTP requests through the gateway",
            hint="add an Api or HttpApi event to the function (SAM routes events through the "
            "alias)",
        )
    if replay is None and requests_file is None:
        synthetic = SyntheticTraffic(reachable, Random(f"{seed}:traffic"))
        per_second = rate or DEFAULT_RATE
        sampler = Random(f"{seed}:sample")
        sample = tuple(
            synthetic_request(r, sampler) for r in reachable for _ in range(SAMPLE_PER_ROUTE)
        )
        return TrafficPlan(
            "synthetic", synthetic.describe(), f"{per_second:g} requests per second",
            at_rate(synthetic, per_second), sample, notes=notes,
        )  # fmt: skip
    if replay is not None:
        recording = load_replay(replay)
    else:
        assert requests_file is not None
        recording = load_requests(requests_file)
    placer = Placer(project, spec, apis)
    placed: list[TrafficRequest] = []
    skipped: Counter[str] = Counter(recording.skipped)
    for request in recording.requests:
        outcome = placer.place(request)
        if isinstance(outcome, str):
            skipped[outcome] += 1
        else:
            placed.append(outcome)
    if not placed:
        reasons = ", ".join(f"{n} × {why}" for why, n in skipped.most_common())
        raise BadInputError(
            f"{recording.path}: none of its {len(recording.requests)} request(s) is for a "
            f"route of {spec.logical_id} ({reasons})"
        )
    cycler = Cycler(placed)
    if rate is None and has_timestamps(placed):
        schedule = at_recorded_pace(cycler)
        pace = f"the recorded pace (idle gaps over {MAX_GAP_S:g} s shortened)"
    else:
        per_second = rate or DEFAULT_RATE
        schedule = at_rate(cycler, per_second)
        pace = f"{per_second:g} requests per second"
    counts = Counter(r.route for r in placed)
    description = (
        f"{recording.kind} {recording.path}: {len(placed)} request(s) over "
        f"{len(counts)} route(s) of {spec.logical_id}, in recorded order"
    )
    return TrafficPlan(
        recording.kind, description, pace, schedule, _first_per_route(placed),
        dict(skipped), notes, cycler, recording.path,
    )  # fmt: skip


def _first_per_route(requests: list[TrafficRequest]) -> tuple[TrafficRequest, ...]:
    taken: Counter[str | None] = Counter()
    sample: list[TrafficRequest] = []
    for request in requests:
        if taken[request.route] < SAMPLE_PER_ROUTE:
            taken[request.route] += 1
            sample.append(request)
    return tuple(sample)
