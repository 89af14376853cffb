"""What the judges are fed: per-arm counts of one observation window (bucket), plus the order.

A window is what arrived since the previous tick (detection-limits.md §7.1): for each arm the
requests, the failures (5xx at the gateway + function errors), the warm requests (no init
phase: cold starts are excluded from latency, §6.4) and the warm requests above the stable p90
and p99 thresholds in force for this window (§7.3). Optionally the arrival order of the labelled
events, so that the sequential tests can locate the event at which they crossed (§7.2); without
it they look at the window end only, which keeps the guarantee (fewer looks).

These are the shared vocabulary of the platform (which delivers invocations and windows) and
the analysis (which judges them); building windows is analysis logic and lives in
``rollout/analysis/windows.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: one slow event: (is canary, is also above the p99 threshold)
SlowMark = tuple[bool, bool]


@dataclass(frozen=True, slots=True)
class ArmCounts:
    """One arm's counts in one window. ``slow_p99 ⊆ slow_p90 ⊆ warm ⊆ requests``."""

    requests: int = 0
    errors: int = 0
    warm: int = 0
    slow_p90: int = 0
    slow_p99: int = 0

    def validate(self, arm: str) -> None:
        """Raise ``ValueError`` naming the field if the counts are inconsistent."""
        if min(self.requests, self.errors, self.warm, self.slow_p90, self.slow_p99) < 0:
            raise ValueError(f"{arm} counts must be non-negative: {self}")
        if self.errors > self.requests:
            raise ValueError(f"{arm} errors {self.errors} exceed its requests {self.requests}")
        if self.warm > self.requests:
            raise ValueError(f"{arm} warm requests {self.warm} exceed its requests {self.requests}")
        if self.slow_p90 > self.warm:
            raise ValueError(
                f"{arm} slow_p90 {self.slow_p90} exceeds its warm requests {self.warm}"
            )
        if self.slow_p99 > self.slow_p90:
            raise ValueError(f"{arm} slow_p99 {self.slow_p99} exceeds its slow_p90 {self.slow_p90}")


@dataclass(frozen=True, slots=True)
class Window:
    """Both arms' counts for one window, measured at the same time.

    ``error_order``: the arm of each failure in arrival order (True = canary), or ``None``.
    ``slow_order``: ``(canary, above_p99)`` of each slow warm request in arrival order, or ``None``.
    ``stable_warm_durations_ms``: the stable arm's warm durations, which update the running
    p90/p99 *after* this window has been judged (stable-only data, §7.3).
    """

    stable: ArmCounts
    canary: ArmCounts
    error_order: tuple[bool, ...] | None = None
    slow_order: tuple[SlowMark, ...] | None = None
    stable_warm_durations_ms: tuple[float, ...] = ()

    def validate(self) -> None:
        """Raise ``ValueError`` if the window contradicts itself."""
        self.stable.validate("stable")
        self.canary.validate("canary")
        if self.error_order is not None:
            nc = sum(self.error_order)
            if nc != self.canary.errors or len(self.error_order) - nc != self.stable.errors:
                raise ValueError(
                    f"error_order has {nc} canary and {len(self.error_order) - nc} stable failures;"
                    f" the counts say {self.canary.errors} and {self.stable.errors}"
                )
        if self.slow_order is not None:
            c90 = sum(1 for c, _ in self.slow_order if c)
            c99 = sum(1 for c, t in self.slow_order if c and t)
            s99 = sum(1 for c, t in self.slow_order if not c and t)
            if (c90, len(self.slow_order) - c90, c99, s99) != (
                self.canary.slow_p90,
                self.stable.slow_p90,
                self.canary.slow_p99,
                self.stable.slow_p99,
            ):
                raise ValueError("slow_order does not match the slow_p90/slow_p99 counts")


@dataclass(frozen=True, slots=True)
class Invocation:
    """One invocation record, as telemetry delivers it (§7.1).

    ``failed``: 5xx at the gateway or a function error. ``cold_start``: the invocation reported
    an init phase. ``request_id``: failures sharing one id in a window count once (§7.2).
    """

    canary: bool
    failed: bool
    duration_ms: float
    cold_start: bool = False
    request_id: str | None = None
