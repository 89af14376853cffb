"""When the evidence allows a step to end, and whether a promotion is verified (pure).

No step is left and no release promoted until the evidence up to the instant the step ended
has been read and judged: the platform's watermark (``TelemetryBatch.fresh_until``) must have
passed it. The time scale shortens the strategy's waits, never this one: telemetry arrives
in wall time. A timed pause ended at ``start + duration`` (wall), however late the tick that
saw it; any other step ended when the tick saw it end.

At promotion the promotion guard is asked once more on the whole rollout's traffic: a
release whose canary served too few requests to have shown a ``k_min``-fold regression (none
at all included) is *unverified*. A strategy without analysis steps (the CodeDeploy presets,
plain pauses) promotes on time as CodeDeploy does, but marked unverified; one with analysis
steps follows its ``onUnverified`` (``stop``: wait for a human unless one already said go).
Either way the release is never reported as verified.
"""

from __future__ import annotations

import time

from apicanary.rollout.analysis.canary import CanaryAnalysis
from apicanary.rollout.state import RolloutState
from apicanary.rollout.strategy.types import Analysis, OnUnverified, Pause, Strategy


def step_end(state: RolloutState, strategy: Strategy, now: float) -> float:
    """The instant the current step ended (it has just said it is complete)."""
    if state.step < len(strategy.steps):
        step = strategy.steps[state.step]
        if isinstance(step, Pause) and step.duration is not None and not state.human_go:
            return min(now, state.step_started_at + strategy.wall_seconds(step.duration))
    return now


def telemetry_wait(needed: float, evidence_until: float | None, now: float) -> str | None:
    """``None`` when the evidence reaches ``needed``; else what the rollout is waiting for."""
    if evidence_until is not None and evidence_until >= needed:
        return None
    behind = now - evidence_until if evidence_until is not None else now - needed
    clock = time.strftime("%H:%M:%S", time.gmtime(needed))
    return f"waiting for telemetry up to {clock} UTC, {max(0.0, behind):.0f} s behind"


def unverified_reason(analysis: CanaryAnalysis) -> str | None:
    """Why the traffic seen cannot verify the release (``None``: it can)."""
    canary = analysis.errors.requests[1]
    if canary == 0:
        return "the canary received no requests"
    remaining = analysis.remaining_canary_requests()
    if remaining == 0:
        return None
    k = analysis.config.guard.k_min
    more = "more than the rollout can reach" if remaining is None else f"{remaining} more"
    return (
        f"{canary} canary requests are too few to rule out a {k:g}x error-rate regression "
        f"(needs {more})"
    )


def promote_unverified(strategy: Strategy, human_go: bool) -> bool:
    """Whether an unverified release is promoted (marked) rather than stopped for a human:
    when a human said go, when ``onUnverified`` is ``promote-unverified``, or when the
    strategy has no analysis step (it promotes on time, as CodeDeploy and its presets do)."""
    if human_go or strategy.analysis.on_unverified is OnUnverified.PROMOTE_UNVERIFIED:
        return True
    return not any(isinstance(step, Analysis) for step in strategy.steps)


__all__ = ["promote_unverified", "step_end", "telemetry_wait", "unverified_reason"]
