"""The two always-valid sequential tests of detection-limits.md §7: errors (§7.2), latency (§7.3).

Both run the :class:`~apicanary.rollout.analysis.mixture.LabelMixture` e-process on labelled
events and fail ("roll back") the first time the e-value reaches ``1/alpha``; until then they answer
``need-more-data`` (an always-valid test has no acceptance boundary: passing is the promotion
guard's business, §7.5). A failed test is latched: later windows do not change it.

* :class:`ErrorTest`: events are failed requests of either arm; the share is the window's
  measured share of *requests* (§6.2, §7.2).
* :class:`LatencyTest`: events are warm requests above the stable p90; a second mixture runs
  on those above the stable p99; the e-value is the average of the two (§5, §7.3); the share
  is the window's measured share of *warm* requests (cold starts excluded in both arms, §6.4).

Within a window, labels are folded in arrival order when the order is given, and the crossing
is located at the event where it happened (§7.2); a cheap bound skips the per-event pass when
no ordering of the window could cross. Without an order only the window end is examined.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from apicanary.model import ArmCounts, SlowMark
from apicanary.rollout.analysis.mixture import LabelMixture, logsumexp
from apicanary.rollout.analysis.verdict import Outcome, Verdict, fmt_evalue, fmt_rate
from apicanary.rollout.analysis.windows import share

_LN2 = math.log(2.0)


def safe_exp(x: float) -> float:
    """``exp(x)``, ``inf`` instead of an overflow."""
    return math.inf if x > 709.0 else math.exp(x)


def _check_alpha(alpha: float, name: str) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValueError(
            f"{name} {alpha!r} is out of range: it must be between 0 and 1 (exclusive)"
        )
    return math.log(1.0 / alpha)


@dataclass(frozen=True, slots=True)
class Crossing:
    """Where a test crossed ``1/alpha``: its e-value then, and the canary events up to it.

    ``event_index`` is the 0-based index, in the window's ordered events, of the event at which
    it crossed (``None`` when it was judged at the window end).
    """

    log_evalue: float
    canary_events: int
    event_index: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "log_evalue": self.log_evalue,
            "canary_events": self.canary_events,
            "event_index": self.event_index,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Crossing:
        idx = data["event_index"]
        return cls(
            float(data["log_evalue"]), int(data["canary_events"]), None if idx is None else int(idx)
        )


@dataclass(slots=True)
class ErrorTest:
    """Always-valid test of canary vs stable error rate on failure labels (§7.2).

    ``alpha`` is this test's share of the false-rollback budget (``alpha_err``, §7.4).
    """

    alpha: float
    mixture: LabelMixture = field(default_factory=LabelMixture)
    requests: list[int] = field(default_factory=lambda: [0, 0])  # [stable, canary]
    errors: list[int] = field(default_factory=lambda: [0, 0])
    crossing: Crossing | None = None

    def __post_init__(self) -> None:
        _check_alpha(self.alpha, "alpha_errors")

    @property
    def log_threshold(self) -> float:
        """``ln(1/alpha)``."""
        return math.log(1.0 / self.alpha)

    def update(self, stable: ArmCounts, canary: ArmCounts, order: Sequence[bool] | None) -> Verdict:
        """Fold in one window; return the verdict after it (``fail`` latches)."""
        if self.crossing is not None:
            return self.verdict()
        self.requests[0] += stable.requests
        self.requests[1] += canary.requests
        self.errors[0] += stable.errors
        self.errors[1] += canary.errors
        r = share(stable.requests, canary.requests)
        thr = self.log_threshold
        mix = self.mixture
        if order is not None and canary.errors and mix.peak_bound(r, canary.errors) >= thr:
            for i, is_canary in enumerate(order):
                mix.add_label(r, is_canary)
                if is_canary:
                    le = mix.log_evalue()
                    if le >= thr:
                        self.crossing = Crossing(le, mix.canary_events, i)
                        break
        else:
            mix.add_counts(r, canary.errors, stable.errors)
            le = mix.log_evalue()
            if canary.errors and le >= thr:
                self.crossing = Crossing(le, mix.canary_events, None)
        return self.verdict()

    def log_evalue(self) -> float:
        """``ln Λ``: at the crossing once failed, else now."""
        return self.crossing.log_evalue if self.crossing else self.mixture.log_evalue()

    def verdict(self) -> Verdict:
        """``fail`` once crossed, else ``need-more-data``; reason names rates, e-value, limit."""
        e = safe_exp(self.log_evalue())
        limit = 1.0 / self.alpha
        rates = (
            f"canary error rate {fmt_rate(self.errors[1], self.requests[1])}"
            f" ({self.errors[1]}/{self.requests[1]}) vs stable"
            f" {fmt_rate(self.errors[0], self.requests[0])} ({self.errors[0]}/{self.requests[0]})"
        )
        if self.crossing is not None:
            return Verdict(
                Outcome.FAIL,
                "errors",
                e,
                limit,
                f"{rates}: e-value {fmt_evalue(e)} ≥ {fmt_evalue(limit)}",
            )
        return Verdict(
            Outcome.NEED_MORE_DATA,
            "errors",
            e,
            limit,
            f"{rates}: e-value {fmt_evalue(e)} < {fmt_evalue(limit)}",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (exact round trip)."""
        return {
            "alpha": self.alpha,
            "mixture": self.mixture.to_dict(),
            "requests": list(self.requests),
            "errors": list(self.errors),
            "crossing": None if self.crossing is None else self.crossing.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorTest:
        """Inverse of :meth:`to_dict`."""
        c = data["crossing"]
        return cls(
            alpha=float(data["alpha"]),
            mixture=LabelMixture.from_dict(data["mixture"]),
            requests=[int(v) for v in data["requests"]],
            errors=[int(v) for v in data["errors"]],
            crossing=None if c is None else Crossing.from_dict(c),
        )


@dataclass(slots=True)
class LatencyTest:
    """Always-valid test on warm requests above the stable p90 and p99 (§5, §7.3).

    Fed only windows judged against thresholds fixed before the window (stable-only data), so
    slow labels are exchangeable between arms under "canary as fast as stable".
    """

    alpha: float
    p90: LabelMixture = field(default_factory=LabelMixture)
    p99: LabelMixture = field(default_factory=LabelMixture)
    warm: list[int] = field(default_factory=lambda: [0, 0])  # [stable, canary]
    slow90: list[int] = field(default_factory=lambda: [0, 0])
    slow99: list[int] = field(default_factory=lambda: [0, 0])
    thresholds_ms: tuple[float, float] | None = None  # last thresholds used (for the reason)
    crossing: Crossing | None = None

    def __post_init__(self) -> None:
        _check_alpha(self.alpha, "alpha_latency")

    @property
    def log_threshold(self) -> float:
        """``ln(1/alpha)``."""
        return math.log(1.0 / self.alpha)

    def _combined(self) -> float:
        return logsumexp([self.p90.log_evalue(), self.p99.log_evalue()]) - _LN2

    def update(
        self,
        stable: ArmCounts,
        canary: ArmCounts,
        order: Sequence[SlowMark] | None,
        thresholds_ms: tuple[float, float],
    ) -> Verdict:
        """Fold in one window judged against ``thresholds_ms`` = stable (p90, p99)."""
        if self.crossing is not None:
            return self.verdict()
        self.thresholds_ms = thresholds_ms
        for acc, s, c in (
            (self.warm, stable.warm, canary.warm),
            (self.slow90, stable.slow_p90, canary.slow_p90),
            (self.slow99, stable.slow_p99, canary.slow_p99),
        ):
            acc[0] += s
            acc[1] += c
        r = share(stable.warm, canary.warm)
        thr = self.log_threshold
        bound = (
            logsumexp(
                [self.p90.peak_bound(r, canary.slow_p90), self.p99.peak_bound(r, canary.slow_p99)]
            )
            - _LN2
        )
        if order is not None and canary.slow_p90 and bound >= thr:
            for i, (is_canary, above99) in enumerate(order):
                self.p90.add_label(r, is_canary)
                if above99:
                    self.p99.add_label(r, is_canary)
                if is_canary:
                    le = self._combined()
                    if le >= thr:
                        self.crossing = Crossing(le, self.p90.canary_events, i)
                        break
        else:
            self.p90.add_counts(r, canary.slow_p90, stable.slow_p90)
            self.p99.add_counts(r, canary.slow_p99, stable.slow_p99)
            le = self._combined()
            if canary.slow_p90 and le >= thr:
                self.crossing = Crossing(le, self.p90.canary_events, None)
        return self.verdict()

    def log_evalue(self) -> float:
        """``ln`` of the averaged e-value: at the crossing once failed, else now."""
        return self.crossing.log_evalue if self.crossing else self._combined()

    def verdict(self) -> Verdict:
        """``fail`` once crossed, else ``need-more-data``."""
        e = safe_exp(self.log_evalue())
        limit = 1.0 / self.alpha
        if self.thresholds_ms is None:
            return Verdict(
                Outcome.NEED_MORE_DATA,
                "latency",
                e,
                limit,
                f"latency: no stable p90/p99 baseline yet:"
                f" e-value {fmt_evalue(e)} < {fmt_evalue(limit)}",
            )
        t90, t99 = self.thresholds_ms
        text = (
            f"canary requests above stable p90 ({t90:.0f} ms)"
            f" {fmt_rate(self.slow90[1], self.warm[1])}"
            f" vs stable {fmt_rate(self.slow90[0], self.warm[0])}, above p99 ({t99:.0f} ms)"
            f" {fmt_rate(self.slow99[1], self.warm[1])} vs {fmt_rate(self.slow99[0], self.warm[0])}"
            f" (warm requests only)"
        )
        if self.crossing is not None:
            return Verdict(
                Outcome.FAIL,
                "latency",
                e,
                limit,
                f"{text}: e-value {fmt_evalue(e)} ≥ {fmt_evalue(limit)}",
            )
        return Verdict(
            Outcome.NEED_MORE_DATA,
            "latency",
            e,
            limit,
            f"{text}: e-value {fmt_evalue(e)} < {fmt_evalue(limit)}",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (exact round trip)."""
        return {
            "alpha": self.alpha,
            "p90": self.p90.to_dict(),
            "p99": self.p99.to_dict(),
            "warm": list(self.warm),
            "slow90": list(self.slow90),
            "slow99": list(self.slow99),
            "thresholds_ms": None if self.thresholds_ms is None else list(self.thresholds_ms),
            "crossing": None if self.crossing is None else self.crossing.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LatencyTest:
        """Inverse of :meth:`to_dict`."""
        c = data["crossing"]
        t = data["thresholds_ms"]
        return cls(
            alpha=float(data["alpha"]),
            p90=LabelMixture.from_dict(data["p90"]),
            p99=LabelMixture.from_dict(data["p99"]),
            warm=[int(v) for v in data["warm"]],
            slow90=[int(v) for v in data["slow90"]],
            slow99=[int(v) for v in data["slow99"]],
            thresholds_ms=None if t is None else (float(t[0]), float(t[1])),
            crossing=None if c is None else Crossing.from_dict(c),
        )
