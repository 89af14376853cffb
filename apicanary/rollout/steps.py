"""The strategy's step kinds, one runner each: what the current step does on this tick, and
whether it is complete.

A runner gets the tick (the state's ``step`` is its index) and returns a :class:`StepOutcome`;
it never moves the rollout's status itself. The controller advances on ``complete``, stops
on ``hold`` (waking at ``wake_at`` if set), waits for a human on ``wait``, and rolls back on
``rollback``. Rollback detection (the tests, the alarms) runs before the steps on every tick;
steps only decide when to move forward.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from apicanary.errors import RolloutError
from apicanary.rollout.analysis.canary import StepAction
from apicanary.rollout.analysis.guard import GuardConfig, OnExhausted
from apicanary.rollout.strategy.types import (
    Analysis,
    AnalysisSettings,
    Approval,
    OnUnverified,
    Pause,
    SetWeight,
    Step,
)
from apicanary.rollout.target import telemetry_target
from apicanary.rollout.tick import Tick


class Next(StrEnum):
    COMPLETE = "complete"  # go on to the next step now
    HOLD = "hold"  # not yet: look again on a later tick
    WAIT = "wait"  # a human has to resume or promote
    ROLLBACK = "rollback"  # the step judged the release bad


@dataclass(frozen=True, slots=True)
class StepOutcome:
    next: Next
    reason: str = ""  # why a WAIT waits, or why a ROLLBACK rolls back
    wake_at: float | None = None  # HOLD: when the step will be complete by itself


COMPLETE = StepOutcome(Next.COMPLETE)
HOLD = StepOutcome(Next.HOLD)


def run_step(tick: Tick) -> StepOutcome:
    """Run the current step (``tick.state.step``) once."""
    step = tick.strategy.steps[tick.state.step]
    runner = _RUNNERS.get(type(step))
    if runner is None:
        raise RolloutError(f"unknown step {step!r}")
    return runner(tick, step)


def run_set_weight(tick: Tick, step: SetWeight) -> StepOutcome:
    """Write the weight (absolute, read back); complete at once. The first write places the
    telemetry cursor just before it, so the canary's first request is evidence."""
    state, index = tick.state, tick.state.step
    if state.cursor is None and step.weight > 0:
        state.cursor = tick.platform.read_telemetry(telemetry_target(tick.target), None).cursor
    share = tick.router.apply(step.weight)
    state.weight = step.weight
    state.effective_share = share
    tick.record(
        "step", f"step {index + 1}: canary at {share:g}% of traffic",
        step=index, weight=step.weight, readBack=share,
    )  # fmt: skip
    return COMPLETE


def run_pause(tick: Tick, step: Pause) -> StepOutcome:
    """Hold for the duration (strategy time), or until a human resumes or promotes."""
    state = tick.state
    if step.duration is None:
        return _human(tick, f"step {state.step + 1}: paused until resumed")
    if _elapsed(tick) >= step.duration or state.human_go:
        return COMPLETE
    return StepOutcome(
        Next.HOLD, wake_at=state.step_started_at + tick.strategy.wall_seconds(step.duration)
    )


def run_approval(tick: Tick, step: Approval) -> StepOutcome:
    """Hold until a human promotes."""
    return _human(tick, f"step {tick.state.step + 1}: waiting for approval")


def run_analysis(tick: Tick, step: Analysis) -> StepOutcome:
    """Hold until the promotion guard is met (or what ``onUnverified`` says when it cannot)."""
    state, analysis = tick.state, tick.analysis
    label = f"step {state.step + 1}"
    if state.human_go:
        tick.record("step", f"{label}: analysis skipped by a human")
        return COMPLETE
    settings = tick.strategy.step_settings(state.step)
    analysis.config = dataclasses.replace(analysis.config, guard=guard_config(settings))
    verdict = analysis.judge_step(dwell_s=_elapsed(tick))
    if verdict.action is StepAction.COMPLETE:
        tick.record("analysis", f"{label}: {verdict.reason}")
        return COMPLETE
    if verdict.action is StepAction.PROMOTE_UNVERIFIED:
        state.unverified = True
        tick.record("analysis", f"{label}: unverified: {verdict.reason}")
        return COMPLETE
    if verdict.action is StepAction.ROLLBACK:
        return StepOutcome(Next.ROLLBACK, verdict.reason)
    if verdict.action is StepAction.STOP_FOR_HUMAN:
        return _human(tick, f"{label}: {verdict.reason}")
    return HOLD


def guard_config(settings: AnalysisSettings) -> GuardConfig:
    """The promotion guard an analysis step with ``settings`` applies."""
    return GuardConfig(
        min_dwell_s=float(settings.min_dwell),
        max_dwell_s=float(settings.min_dwell + settings.max_extension),
        k_min=settings.min_regression,
        on_exhausted=OnExhausted.PROMOTE_UNVERIFIED
        if settings.on_unverified is OnUnverified.PROMOTE_UNVERIFIED
        else OnExhausted.STOP_FOR_HUMAN,
    )


def _human(tick: Tick, why: str) -> StepOutcome:
    """Complete if a human already said go for this step; otherwise wait for one."""
    return COMPLETE if tick.state.human_go else StepOutcome(Next.WAIT, why)


def _elapsed(tick: Tick) -> float:
    """Strategy seconds since the current step started."""
    return (tick.now - tick.state.step_started_at) * tick.strategy.time_scale


_RUNNERS: dict[type[Step], Callable[[Tick, Any], StepOutcome]] = {
    SetWeight: run_set_weight,
    Pause: run_pause,
    Approval: run_approval,
    Analysis: run_analysis,
}

__all__ = ["COMPLETE", "HOLD", "Next", "StepOutcome", "guard_config", "run_step"]
