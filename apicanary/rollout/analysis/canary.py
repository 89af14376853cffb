"""Canary analysis (pure): the §7 detector of detection-limits.md, fed one window per tick.

``CanaryAnalysis`` holds the error test (§7.2), the latency test (§7.3) with the running stable
p90/p99, and the counts the promotion guard (§7.5) sizes from. It reads no clock and does no
I/O; ``to_dict``/``from_dict`` give a JSON-able state from which a resumed controller makes the
same decisions (floats round-trip exactly through JSON).

Typical tick::

    window = window_from_invocations(records_since_last_tick, analysis.latency_thresholds())
    verdict = analysis.update(window, now=now)          # fail -> roll back at once
    step = analysis.judge_step(dwell_s=now - step_started_at, alarms=alarm_states)
    remaining = analysis.remaining_canary_requests()    # live progress display

The false-rollback budget ``alpha`` (default 1 %) is split between the two tests (§7.4, 0.5 %
each by default); each test's guarantee holds at any horizon (Ville's inequality), so the sum
bounds the false-rollback rate of the whole analysis, across steps and extensions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apicanary.errors import BadInputError
from apicanary.model import ArmCounts, Invocation, Window
from apicanary.rollout.analysis.alarms import AlarmState, check_alarms
from apicanary.rollout.analysis.guard import (
    GuardConfig,
    GuardDecision,
    OnExhausted,
    StepAction,
    judge_guard,
    remaining_canary_requests,
)
from apicanary.rollout.analysis.sequential import ErrorTest, LatencyTest
from apicanary.rollout.analysis.verdict import Outcome, Verdict
from apicanary.rollout.analysis.windows import share, window_from_invocations
from apicanary.sketch import QuantileSketch

MIN_DURATION_MS = 1e-3
"""The baseline counts a shorter warm duration as 1 µs."""

__all__ = [
    "AlarmState",
    "AnalysisConfig",
    "ArmCounts",
    "CanaryAnalysis",
    "GuardConfig",
    "Invocation",
    "OnExhausted",
    "Outcome",
    "StepAction",
    "StepVerdict",
    "Verdict",
    "Window",
    "check_alarms",
    "window_from_invocations",
]


@dataclass(frozen=True, slots=True)
class AnalysisConfig:
    """Settings. ``alpha_errors + alpha_latency`` is the false-rollback budget (§7.4).

    ``latency_min_baseline``: stable warm samples needed before p90/p99 are trusted (until
    then the latency test sees no events). ``latency_slack_ms``: a canary request counts as
    slow only when it exceeds the stable pNN by more than this (the smallest latency
    regression worth acting on). ``freeze_baseline_at``: stop updating the stable
    quantiles after this many samples (``None`` = keep them running on stable data).
    """

    alpha_errors: float = 0.005
    alpha_latency: float = 0.005
    latency_min_baseline: int = 200
    freeze_baseline_at: int | None = None
    quantile_accuracy: float = 0.01
    latency_slack_ms: float = 5.0
    guard: GuardConfig = field(default_factory=GuardConfig)

    def __post_init__(self) -> None:
        for name, a in (("alpha_errors", self.alpha_errors), ("alpha_latency", self.alpha_latency)):
            if not 0 < a < 0.5:
                raise BadInputError(f"{name} {a} is out of range: it must be between 0 and 0.5")
        if self.latency_min_baseline < 1:
            raise BadInputError(
                f"latency_min_baseline {self.latency_min_baseline} must be at least 1"
            )

    @property
    def alpha(self) -> float:
        """Total false-rollback budget."""
        return self.alpha_errors + self.alpha_latency

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        g = self.guard
        return {
            "alpha_errors": self.alpha_errors,
            "alpha_latency": self.alpha_latency,
            "latency_min_baseline": self.latency_min_baseline,
            "freeze_baseline_at": self.freeze_baseline_at,
            "quantile_accuracy": self.quantile_accuracy,
            "latency_slack_ms": self.latency_slack_ms,
            "guard": {
                "min_dwell_s": g.min_dwell_s,
                "max_dwell_s": g.max_dwell_s,
                "k_min": g.k_min,
                "power": g.power,
                "p0_floor": g.p0_floor,
                "on_exhausted": g.on_exhausted.value,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalysisConfig:
        """Inverse of :meth:`to_dict`."""
        g = data["guard"]
        fz = data["freeze_baseline_at"]
        return cls(
            alpha_errors=float(data["alpha_errors"]),
            alpha_latency=float(data["alpha_latency"]),
            latency_min_baseline=int(data["latency_min_baseline"]),
            freeze_baseline_at=None if fz is None else int(fz),
            quantile_accuracy=float(data["quantile_accuracy"]),
            latency_slack_ms=float(data.get("latency_slack_ms", 5.0)),
            guard=GuardConfig(
                min_dwell_s=float(g["min_dwell_s"]),
                max_dwell_s=float(g["max_dwell_s"]),
                k_min=float(g["k_min"]),
                power=float(g["power"]),
                p0_floor=float(g["p0_floor"]),
                on_exhausted=OnExhausted(g["on_exhausted"]),
            ),
        )


@dataclass(frozen=True, slots=True)
class StepVerdict:
    """The step's judgement: ``outcome`` and the ``action`` for the controller.

    ``reason`` is the deciding judge's reason; ``verdicts`` are all judges' verdicts (errors,
    latency, alarms if given, guard if reached); ``remaining_canary_requests`` is what the
    guard still needs (``None`` = cannot be met at the current share).
    """

    outcome: Outcome
    action: StepAction
    reason: str
    verdicts: tuple[Verdict, ...]
    remaining_canary_requests: int | None
    unverified: bool = False


class CanaryAnalysis:
    """Incremental, serialisable §7 detector. Never reads the clock; times are passed in."""

    def __init__(
        self,
        config: AnalysisConfig | None = None,
        *,
        errors: ErrorTest | None = None,
        latency: LatencyTest | None = None,
        baseline: QuantileSketch | None = None,
        failed_at: float | None = None,
    ) -> None:
        self.config = config or AnalysisConfig()
        self.errors = errors or ErrorTest(self.config.alpha_errors)
        self.latency = latency or LatencyTest(self.config.alpha_latency)
        self.baseline = baseline or QuantileSketch(self.config.quantile_accuracy)
        self.failed_at = failed_at

    # -- inputs -------------------------------------------------------------------------
    def seed_baseline(self, stable_warm_durations_ms: Iterable[float]) -> None:
        """Add pre-canary stable warm durations to the p90/p99 baseline (§7.3)."""
        self._learn(stable_warm_durations_ms)

    def _learn(self, durations: Iterable[float]) -> None:
        cap = self.config.freeze_baseline_at
        for d in durations:
            if cap is not None and self.baseline.count >= cap:
                return
            self.baseline.add(max(d, MIN_DURATION_MS))

    def latency_thresholds(self) -> tuple[float, float] | None:
        """Stable warm (p90, p99) in ms to judge the *next* window by; ``None`` while warming up."""
        if self.baseline.count < self.config.latency_min_baseline:
            return None
        p90 = self.baseline.quantile(0.90)
        p99 = self.baseline.quantile(0.99)
        assert p90 is not None and p99 is not None
        # An added slack keeps the test valid (under "no difference", P(canary > pNN + s) ≤
        # P(canary > pNN)) and ignores regressions too small to matter: without it, handlers
        # that run in microseconds were failed for a fresh worker's first, slower calls.
        slack = self.config.latency_slack_ms
        return (p90 + slack, p99 + slack)

    def update(self, window: Window, *, now: float | None = None) -> Verdict:
        """Fold in one window (built against :meth:`latency_thresholds`); return the rollback
        verdict: ``fail`` (latched) if either test crossed, else ``need-more-data``.

        ``now`` (optional) is recorded as the time of the first failure, for the journal.
        """
        window.validate()
        thresholds = self.latency_thresholds()
        ev = self.errors.update(window.stable, window.canary, window.error_order)
        if thresholds is not None:
            lv = self.latency.update(window.stable, window.canary, window.slow_order, thresholds)
        else:
            if window.stable.slow_p90 or window.canary.slow_p90:
                raise ValueError(
                    "window counts slow requests but no latency thresholds are in force"
                )
            lv = self.latency.verdict()
        self._learn(window.stable_warm_durations_ms)
        verdict = self._rollback_verdict(ev, lv)
        if verdict.outcome is Outcome.FAIL and self.failed_at is None:
            self.failed_at = now
        return verdict

    def update_invocations(
        self, records: Iterable[Invocation], *, now: float | None = None
    ) -> Verdict:
        """Convenience: :func:`window_from_invocations` with the current thresholds, then update."""
        return self.update(window_from_invocations(records, self.latency_thresholds()), now=now)

    # -- outputs ------------------------------------------------------------------------
    def _rollback_verdict(self, ev: Verdict, lv: Verdict) -> Verdict:
        for v in (ev, lv):
            if v.outcome is Outcome.FAIL:
                return v
        latency_closer = lv.evidence / lv.threshold > ev.evidence / ev.threshold
        return lv if latency_closer and self.latency.thresholds_ms is not None else ev

    def verdicts(self) -> tuple[Verdict, Verdict]:
        """Current (errors, latency) verdicts."""
        return self.errors.verdict(), self.latency.verdict()

    def rollback_verdict(self) -> Verdict:
        """``fail`` if either test has crossed; else the (active) test closer to its limit."""
        return self._rollback_verdict(*self.verdicts())

    def _share(self) -> float:
        s, c = self.errors.requests
        return share(s, c)

    def remaining_canary_requests(self) -> int | None:
        """Canary requests the guard still needs (0 = met; ``None`` = not reachable now)."""
        s, c = self.errors.requests
        return remaining_canary_requests(
            c, s, self.errors.errors[0], self._share(), self.config.alpha_errors, self.config.guard
        )

    def guard(self, dwell_s: float) -> GuardDecision:
        """The promotion guard on the traffic seen so far (cumulative across steps, §7.6)."""
        s, c = self.errors.requests
        return judge_guard(
            dwell_s=dwell_s,
            canary_requests=c,
            stable_requests=s,
            stable_errors=self.errors.errors[0],
            share=self._share(),
            alpha_errors=self.config.alpha_errors,
            cfg=self.config.guard,
        )

    def judge_step(
        self, *, dwell_s: float, alarms: Mapping[str, AlarmState | str] | None = None
    ) -> StepVerdict:
        """Judge the current step after ``dwell_s`` seconds in it.

        Order: alarms in ALARM → rollback; a crossed test → rollback; otherwise the guard
        decides ``wait`` / ``complete`` / ``stop-for-human`` / ``promote-unverified``.
        """
        ev, lv = self.verdicts()
        checks: list[Verdict] = [ev, lv]
        if alarms is not None:
            av = check_alarms(alarms)
            checks.insert(0, av)
        remaining = self.remaining_canary_requests()
        for v in checks:
            if v.outcome is Outcome.FAIL:
                return StepVerdict(
                    Outcome.FAIL, StepAction.ROLLBACK, v.reason, tuple(checks), remaining
                )
        g = self.guard(dwell_s)
        checks.append(g.verdict)
        return StepVerdict(
            g.verdict.outcome, g.action, g.verdict.reason, tuple(checks), g.remaining, g.unverified
        )

    # -- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able state, including the config."""
        return {
            "version": 1,
            "config": self.config.to_dict(),
            "errors": self.errors.to_dict(),
            "latency": self.latency.to_dict(),
            "baseline": self.baseline.to_dict(),
            "failed_at": self.failed_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CanaryAnalysis:
        """Inverse of :meth:`to_dict`."""
        if data.get("version") != 1:
            raise ValueError(f"unknown analysis state version {data.get('version')!r}: expected 1")
        fa = data["failed_at"]
        return cls(
            AnalysisConfig.from_dict(data["config"]),
            errors=ErrorTest.from_dict(data["errors"]),
            latency=LatencyTest.from_dict(data["latency"]),
            baseline=QuantileSketch.from_dict(data["baseline"]),
            failed_at=None if fa is None else float(fa),
        )
