"""The one view-model of a rollout: what every screen shows, derived in one place.

:func:`rollout_view` is a pure function of a :class:`RolloutState` and the clock reading. The
CLI draws it (``cli/rollout_view.py``: rich on a terminal, lines in a pipe); the dashboard and
the JSON API serve its :meth:`RolloutView.to_dict` as each document's ``view`` (see
:func:`with_view`), and the page only draws it: the phase text and which intents are allowed
come from here, never from JavaScript.

``view`` JSON (camelCase; times in seconds; rates are fractions; ``None``/``null`` where a
value is not known yet)::

    {"id", "status", "statusText", "terminal", "phase", "phaseText",
     "function", "alias", "fromVersion", "toVersion", "mode", "stage",
     "target": "fn:alias 1 → 2", "modeText", "strategy",
     "steps": [{"index": 1, "label": "10%", "state": "done" | "current" | "todo"}],
     "weight", "share",
     "stable": {"requests", "errors", "errorRate"}, "canary": {...},
     "errorEvidence", "errorThreshold", "latencyEvidence", "latencyThreshold",
     "remainingCanaryRequests", "timeLeftInStep",
     "telemetryWait": "waiting for telemetry up to 12:03:40 UTC, 41 s behind" | null,
     "evidenceUntil", "lost": {"stable", "canary"},
     "reason", "unverified", "lastError", "note", "allowedActions": ["pause", ...]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from apicanary.platform.base import Mode
from apicanary.rollout.evidence_gate import telemetry_wait
from apicanary.rollout.state import Phase, RolloutState, Status, allowed_intents
from apicanary.rollout.strategy.types import Pause

StepState = Literal["done", "current", "todo"]


@dataclass(frozen=True, slots=True)
class StepView:
    index: int  # 1-based, as shown
    label: str
    state: StepState


@dataclass(frozen=True, slots=True)
class ArmView:
    requests: int
    errors: int
    error_rate: float | None  # None: no requests yet

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "errorRate": self.error_rate}


@dataclass(frozen=True, slots=True)
class RolloutView:
    id: str
    status: Status
    status_text: str
    terminal: bool
    phase: Phase
    phase_text: str
    function: str
    alias: str
    from_version: str
    to_version: str
    mode: Mode
    stage: str | None
    target: str  # "fn:alias 1 → 2"
    mode_text: str
    strategy: str
    steps: tuple[StepView, ...]
    weight: float  # what the strategy asked for (%)
    share: float  # what the platform read back (%)
    stable: ArmView
    canary: ArmView
    error_evidence: float | None
    error_threshold: float | None
    latency_evidence: float | None
    latency_threshold: float | None
    remaining_canary_requests: int | None
    time_left_in_step: float | None  # seconds, in a timed pause only
    telemetry_wait: str | None  # a step that ended waits for its evidence
    evidence_until: float | None  # the watermark: evidence complete up to here
    lost_stable: int  # requests never read (the controller fell behind the buffer)
    lost_canary: int
    reason: str
    unverified: bool
    last_error: str | None
    note: str  # one line: the last error, else the reason, else what the tests say
    allowed_actions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "statusText": self.status_text,
            "terminal": self.terminal,
            "phase": self.phase.value,
            "phaseText": self.phase_text,
            "function": self.function,
            "alias": self.alias,
            "fromVersion": self.from_version,
            "toVersion": self.to_version,
            "mode": self.mode.value,
            "stage": self.stage,
            "target": self.target,
            "modeText": self.mode_text,
            "strategy": self.strategy,
            "steps": [{"index": s.index, "label": s.label, "state": s.state} for s in self.steps],
            "weight": self.weight,
            "share": self.share,
            "stable": self.stable.to_dict(),
            "canary": self.canary.to_dict(),
            "errorEvidence": self.error_evidence,
            "errorThreshold": self.error_threshold,
            "latencyEvidence": self.latency_evidence,
            "latencyThreshold": self.latency_threshold,
            "remainingCanaryRequests": self.remaining_canary_requests,
            "timeLeftInStep": self.time_left_in_step,
            "telemetryWait": self.telemetry_wait,
            "evidenceUntil": self.evidence_until,
            "lost": {"stable": self.lost_stable, "canary": self.lost_canary},
            "reason": self.reason,
            "unverified": self.unverified,
            "lastError": self.last_error,
            "note": self.note,
            "allowedActions": list(self.allowed_actions),
        }


def rollout_view(state: RolloutState, now: float) -> RolloutView:
    """Everything shown for one rollout at ``now`` (pure)."""
    target, progress, steps = state.target, state.progress, state.strategy.steps
    in_steps = state.phase is Phase.STEPS
    wait = None
    if state.step_ended_at is not None and not state.terminal:
        wait = telemetry_wait(state.step_ended_at, state.evidence_until, now)
    return RolloutView(
        id=state.id,
        status=state.status,
        status_text=state.status.value.replace("_", " "),
        terminal=state.terminal,
        phase=state.phase,
        phase_text=f"steps, {state.step + 1} of {len(steps)}"
        if in_steps and steps
        else state.phase.value,
        function=target.function,
        alias=target.alias,
        from_version=target.from_version,
        to_version=target.to_version,
        mode=target.mode,
        stage=target.stage,
        target=f"{target.function}:{target.alias} {target.from_version} → {target.to_version}",
        mode_text="alias weights"
        if target.mode is Mode.ALIAS
        else f"{target.mode.value} mode, stage {target.stage}",
        strategy=state.strategy_summary,
        steps=tuple(_step_views(state)),
        weight=state.weight,
        share=state.effective_share,
        stable=_arm(progress.stable_requests, progress.stable_errors),
        canary=_arm(progress.canary_requests, progress.canary_errors),
        error_evidence=progress.error_evidence,
        error_threshold=progress.error_threshold,
        latency_evidence=progress.latency_evidence,
        latency_threshold=progress.latency_threshold,
        remaining_canary_requests=progress.remaining_canary_requests,
        time_left_in_step=_time_left(state, now),
        telemetry_wait=wait,
        evidence_until=state.evidence_until,
        lost_stable=state.lost_stable,
        lost_canary=state.lost_canary,
        reason=state.reason,
        unverified=state.unverified,
        last_error=state.last_error,
        note=f"last error: {state.last_error}"
        if state.last_error
        else wait or state.reason or progress.error_reason,
        allowed_actions=tuple(kind.value for kind in allowed_intents(state.status)),
    )


def with_view(document: Mapping[str, Any], now: float) -> dict[str, Any]:
    """``document`` plus its ``view`` (what the JSON API and the dashboard serve)."""
    view = rollout_view(RolloutState.from_dict(document), now)
    return {**document, "view": view.to_dict()}


def _step_views(state: RolloutState) -> list[StepView]:
    views = []
    for index, step in enumerate(state.strategy.steps):
        shown: StepState = "done" if index < state.step or state.phase is Phase.DONE else "todo"
        if index == state.step and state.phase is Phase.STEPS:
            shown = "current"
        views.append(StepView(index + 1, step.describe(), shown))
    return views


def _time_left(state: RolloutState, now: float) -> float | None:
    """Seconds left in the current step if it is a timed pause."""
    steps = state.strategy.steps
    if state.phase is not Phase.STEPS or state.step >= len(steps):
        return None
    current = steps[state.step]
    if not isinstance(current, Pause) or current.duration is None:
        return None
    ends = state.step_started_at + state.strategy.wall_seconds(current.duration)
    return max(0.0, ends - now)


def _arm(requests: int, errors: int) -> ArmView:
    return ArmView(int(requests), int(errors), errors / requests if requests else None)


__all__ = ["ArmView", "RolloutView", "StepView", "rollout_view", "with_view"]
