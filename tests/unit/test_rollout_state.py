"""The typed rollout state: its transition table (enforced, and every transition reached by
the controller), its document form (today's documents load), and the intents per status."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apicanary.rollout.state import (
    PHASE_TRANSITIONS,
    STATUS_TRANSITIONS,
    IllegalTransition,
    Phase,
    RolloutState,
    Status,
    allowed_intents,
    ended_badly,
)
from apicanary.rollout.strategy.presets import preset
from apicanary.rollout.target import RolloutTarget
from tests.support.rollout_world import HOLD, HOLD_THEN_TIMED, TIMED, World

# -- the table, enforced ----------------------------------------------------------------------


def fresh(status: Status, phase: Phase) -> RolloutState:
    target = RolloutTarget(function="api", alias="live", from_version="1", to_version="2")
    return RolloutState("r1", target, preset("AllAtOnce"), 0.0, status=status, phase=phase)


PHASE_OF = {s: Phase.DONE if s.terminal else Phase.STEPS for s in Status}


@pytest.mark.parametrize(("before", "after"), list(itertools.product(Status, Status)))
def test_status_moves_follow_the_table(before: Status, after: Status) -> None:
    state = fresh(before, PHASE_OF[before])
    if after is before or after in STATUS_TRANSITIONS[before]:
        state.move(after, PHASE_OF[after])
        assert (state.status, state.phase) == (after, PHASE_OF[after])
    else:
        with pytest.raises(IllegalTransition, match=f"status {before} → {after}"):
            state.move(after, PHASE_OF[after])
        assert (state.status, state.phase) == (before, PHASE_OF[before])  # nothing changed


@pytest.mark.parametrize(("before", "after"), list(itertools.product(Phase, Phase)))
def test_phase_moves_follow_the_table(before: Phase, after: Phase) -> None:
    live = Status.PROMOTED if before is Phase.DONE else Status.RUNNING
    state = fresh(live, before)
    status = Status.ROLLED_BACK if after is Phase.DONE and not live.terminal else None
    if after is before or after in PHASE_TRANSITIONS[before]:
        state.move(status, after)
        assert state.phase is after
    else:
        with pytest.raises(IllegalTransition):
            state.move(status, after)
        assert (state.status, state.phase) == (live, before)


def test_done_is_for_terminal_statuses_only() -> None:
    with pytest.raises(IllegalTransition, match="status running in phase done"):
        fresh(Status.RUNNING, Phase.STEPS).move(phase=Phase.DONE)
    with pytest.raises(IllegalTransition, match="status aborted in phase steps"):
        fresh(Status.RUNNING, Phase.STEPS).move(Status.ABORTED)


def test_intents_per_status_and_bad_endings() -> None:
    assert [k.value for k in allowed_intents(Status.RUNNING)] == [
        "promote", "promote-full", "pause", "abort",
    ]  # fmt: skip
    assert [k.value for k in allowed_intents(Status.PAUSED)] == [
        "promote", "promote-full", "resume", "abort",
    ]  # fmt: skip
    assert allowed_intents(Status.PROMOTED) == ()
    assert ended_badly({"status": "rolled_back"}) and ended_badly({"status": "aborted"})
    assert not ended_badly({"status": "promoted"}) and not ended_badly({})


# -- every transition of the table, reached by the controller ---------------------------------

Scenario = Callable[[World], tuple[str, dict[str, Any]]]
"""Brings a rollout to just before a transition; returns its id and document then."""


def _ticked(strategy: Any, *asks: str) -> Scenario:
    def scenario(w: World) -> tuple[str, dict[str, Any]]:
        rid = w.start(strategy)
        doc = w.tick(rid)
        doc = w.tick(rid)  # the telemetry cursor is placed
        for kind in asks:
            w.ask(rid, kind)
            doc = w.tick(rid)
        return rid, doc

    return scenario


def _fresh_start(w: World) -> tuple[str, dict[str, Any]]:
    rid = w.start(TIMED)
    return rid, w.journal.load(rid).document


STATUS_CASES: list[tuple[Status, Status, Scenario, dict[str, Any]]] = [
    (Status.RUNNING, Status.PAUSED, _ticked(TIMED), {"ask": "pause"}),
    (Status.RUNNING, Status.WAITING, _fresh_start, {"strategy": HOLD}),
    (Status.RUNNING, Status.PROMOTED, _ticked(TIMED), {"ask": "promote"}),
    (Status.RUNNING, Status.ROLLED_BACK, _ticked(TIMED), {"failures": True}),
    (Status.RUNNING, Status.ABORTED, _ticked(TIMED), {"ask": "abort"}),
    (Status.WAITING, Status.RUNNING, _ticked(HOLD_THEN_TIMED), {"ask": "resume"}),
    (Status.WAITING, Status.PAUSED, _ticked(HOLD), {"ask": "pause"}),
    (Status.WAITING, Status.ROLLED_BACK, _ticked(HOLD), {"failures": True}),
    (Status.WAITING, Status.ABORTED, _ticked(HOLD), {"ask": "abort"}),
    (Status.PAUSED, Status.RUNNING, _ticked(TIMED, "pause"), {"ask": "resume"}),
    (Status.PAUSED, Status.WAITING, _ticked(HOLD, "pause"), {"ask": "resume"}),
    (Status.PAUSED, Status.ROLLED_BACK, _ticked(HOLD, "pause"), {"failures": True}),
    (Status.PAUSED, Status.ABORTED, _ticked(HOLD, "pause"), {"ask": "abort"}),
]


def _act(w: World, rid: str, action: dict[str, Any]) -> dict[str, Any]:
    if "ask" in action:
        w.ask(rid, action["ask"])
    if action.get("failures"):
        return w.tick(rid, canary=20, stable=80, canary_failures=10)
    return w.tick(rid)


@pytest.mark.parametrize(
    ("before", "after", "scenario", "action"),
    STATUS_CASES,
    ids=[f"{b}->{a}" for b, a, _, _ in STATUS_CASES],
)
def test_the_controller_makes_each_status_transition(
    tmp_path: Path, before: Status, after: Status, scenario: Scenario, action: dict[str, Any]
) -> None:
    w = World(tmp_path / "state")
    if "strategy" in action:  # the transition happens on the very first tick
        rid = w.start(action["strategy"])
        doc = w.journal.load(rid).document
    else:
        rid, doc = scenario(w)
    assert doc["status"] == before
    assert _act(w, rid, {k: v for k, v in action.items() if k != "strategy"})["status"] == after


def test_the_status_cases_cover_the_table() -> None:
    table = {(b, a) for b, targets in STATUS_TRANSITIONS.items() for a in targets}
    assert {(b, a) for b, a, _, _ in STATUS_CASES} == table


def test_the_controller_makes_each_phase_transition(tmp_path: Path) -> None:
    seen: set[tuple[str, str]] = set()

    def track(w: World, rid: str, step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        before = w.journal.load(rid).document["phase"]
        after = step()["phase"]
        seen.add((before, after))
        return w.journal.load(rid).document

    w = World(tmp_path / "a")
    rid = w.start(TIMED)
    track(w, rid, lambda: w.tick(rid))  # pre-traffic → steps
    track(w, rid, lambda: w.tick(rid))
    track(w, rid, lambda: w.tick(rid, canary=20, stable=80, canary_failures=10))  # → done
    rid = w.start(TIMED)
    w.ask(rid, "abort")
    track(w, rid, lambda: w.tick(rid))  # pre-traffic → done
    w.platform.script_hook("Post", True)
    steps = [{"setWeight": 50}, {"pause": {"duration": "5s"}}]
    rid = w.start({"steps": steps, "hooks": {"postTraffic": {"function": "Post"}}})
    track(w, rid, lambda: w.tick(rid))  # pre-traffic → steps, the pause holds
    w.platform.fail_next("invoke_hook")
    track(w, rid, lambda: w.tick(rid))  # steps → post-traffic (the hook call failed: retried)
    track(w, rid, lambda: w.tick(rid))  # post-traffic → done
    table = {(b.value, a.value) for b, targets in PHASE_TRANSITIONS.items() for a in targets}
    assert {(b, a) for b, a in seen if b != a} == table


# -- the document -----------------------------------------------------------------------------

# written by the controller before RolloutState existed (private flags and all)
TODAYS_DOCUMENT = json.loads("""{
 "id": "4f1c2a9be0d1", "status": "paused", "terminal": false, "phase": "steps",
 "target": {"function": "api", "alias": "live", "fromVersion": "1", "toVersion": "2",
            "mode": "alias", "apiId": null, "apiName": null, "stage": null, "overrides": {}},
 "strategy": {"name": "custom", "steps": [{"setWeight": 20.0}, {"pause": {}},
              {"setWeight": 100.0}],
              "analysis": {"alpha": 0.01, "minRegression": 5.0, "latencyPercentiles": [90.0, 99.0],
                           "onUnverified": "stop", "minDwell": 60.0, "maxExtension": 1800.0},
              "hooks": {"preTraffic": {"function": "Pre", "timeout": 3600.0}}, "alarms": [],
              "notifications": [], "mode": null, "allowWeightDecrease": false,
              "timeScale": 1.0},
 "strategySummary": "20% until resumed → 100%; pre-traffic function Pre",
 "step": 1, "stepStartedAt": 1700000010.0, "weight": 20.0, "effectiveShare": 20.0,
 "analysis": {"version": 1}, "cursor": 42, "unverified": false, "reason": "", "lastError": null,
 "createdAt": 1700000000.0, "updatedAt": 1700000030.0, "endedAt": null,
 "nextWake": 1700000000.0,
 "progress": {"stableRequests": 80, "canaryRequests": 20, "stableErrors": 0, "canaryErrors": 1,
              "errorEvidence": 1.5, "errorThreshold": 200.0, "errorReason": "",
              "latencyEvidence": 1.0, "latencyThreshold": 200.0, "latencyReason": "",
              "remainingCanaryRequests": null},
 "leaseUntil": 1700000610.0, "hookPreTraffic": true, "pausedFrom": "waiting", "humanGo": true
}""")


def test_todays_documents_load_and_are_written_back_unchanged() -> None:
    state = RolloutState.from_dict(TODAYS_DOCUMENT)
    assert (state.status, state.phase, state.paused_from) == (
        Status.PAUSED, Phase.STEPS, Status.WAITING,
    )  # fmt: skip
    assert state.hooks_done == {"PreTraffic"} and state.human_go and not state.skip_to_end
    assert state.progress.canary_errors == 1 and state.lease_until == 1700000610.0
    assert state.to_dict() == TODAYS_DOCUMENT


def test_a_minimal_old_document_loads_with_defaults() -> None:
    keep = ("id", "status", "target", "strategy")
    state = RolloutState.from_dict({k: TODAYS_DOCUMENT[k] for k in keep} | {"phase": "steps"})
    assert state.progress.error_evidence is None and state.cursor is None
    assert state.strategy_summary == "20% until resumed → 100%; pre-traffic function Pre"
    assert state.to_dict()["progress"]["canaryRequests"] == 0
