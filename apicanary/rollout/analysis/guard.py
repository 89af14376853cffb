"""Promotion guard (pure): when does "no rollback" mean something? (detection-limits.md §2.5, §7.5)

A step may complete only after (a) its minimum dwell and (b) enough canary traffic that the
error test (§7.2, at its own ``alpha_err``) would have caught the smallest regression the team
cares about, ``k_min x p0`` (default 5x), with the configured power (default 95 %), where p0 is
the *observed* stable error rate (never below ``p0_floor``). If that is not met by the maximum
dwell, the step ends as configured: ``stop-for-human`` or ``promote-unverified`` — never a
silent promotion.

The traffic requirement is exact for the mixture test: :func:`events_needed` computes, by
dynamic programming over the label count with the test's own rejection boundary, the fewest
labelled failures (both arms) after which the test has crossed with probability ≥ power when
each label is canary with probability ``q1 = r·k/(r·k + 1 - r)``. Failures arrive at
``r·p1 + (1 - r)·p0`` per request, so the canary requests needed are
``events · r / (r·p1 + (1 - r)·p0)`` (§2.5 table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from apicanary.errors import BadInputError
from apicanary.rollout.analysis.mixture import mixture_log_evalue
from apicanary.rollout.analysis.verdict import Outcome, Verdict, fmt_rate

#: give up sizing beyond this many labelled failures (k_min too close to 1)
MAX_EVENTS = 200_000


class OnExhausted(StrEnum):
    """What happens when the maximum dwell passes before the guard is met."""

    STOP_FOR_HUMAN = "stop-for-human"
    PROMOTE_UNVERIFIED = "promote-unverified"


class StepAction(StrEnum):
    """What the controller should do with the current step."""

    ROLLBACK = "rollback"
    WAIT = "wait"
    COMPLETE = "complete"
    PROMOTE_UNVERIFIED = "promote-unverified"
    STOP_FOR_HUMAN = "stop-for-human"


@dataclass(frozen=True, slots=True)
class GuardConfig:
    """Guard settings (§7.5). Times in seconds; ``k_min`` a rate ratio; ``power`` in (0, 1)."""

    min_dwell_s: float = 60.0
    max_dwell_s: float = 1800.0
    k_min: float = 5.0
    power: float = 0.95
    p0_floor: float = 0.001
    on_exhausted: OnExhausted = OnExhausted.STOP_FOR_HUMAN

    def __post_init__(self) -> None:
        if not 0 <= self.min_dwell_s <= self.max_dwell_s:
            raise BadInputError(
                f"min dwell {self.min_dwell_s} s must be between 0 and"
                f" the max dwell {self.max_dwell_s} s"
            )
        if not 1.1 <= self.k_min <= 1000:
            raise BadInputError(
                f"k_min {self.k_min} is out of range: it must be between 1.1 and 1000"
            )
        if not 0.5 <= self.power < 1:
            raise BadInputError(f"power {self.power} is out of range: it must be in [0.5, 1)")
        if not 0 < self.p0_floor < 1:
            raise BadInputError(f"p0_floor {self.p0_floor} is out of range: it must be in (0, 1)")


@lru_cache(maxsize=512)
def events_needed(k: float, share: float, alpha: float, power: float) -> int | None:
    """Fewest labelled failures after which the §7.2 test has crossed ``1/alpha`` with
    probability ≥ ``power`` against rate ratio ``k`` at canary share ``share``.

    ``None`` if more than :data:`MAX_EVENTS` would be needed or the share is degenerate.
    """
    if not 0.0 < share < 1.0 or k <= 1.0:
        return None
    thr = math.log(1.0 / alpha)
    q = share * k / (share * k + 1.0 - share)
    alive = [1.0]  # alive[x]: probability of x canary labels and no crossing so far
    crossed = 0.0
    bound = 1  # fewest canary labels that cross at the current n (non-decreasing in n)
    for n in range(1, MAX_EVENTS + 1):
        while bound <= n and mixture_log_evalue(bound, n, share) < thr:
            bound += 1
        nxt = [0.0] * (len(alive) + 1)
        for x, p in enumerate(alive):
            if p == 0.0:
                continue
            nxt[x] += p * (1.0 - q)
            nxt[x + 1] += p * q
        if bound < len(nxt):
            crossed += math.fsum(nxt[bound:])
            del nxt[bound:]
        alive = nxt
        if crossed >= power:
            return n
    return None


def baseline_error_rate(stable_requests: int, stable_errors: int, p0_floor: float) -> float:
    """The p0 the guard sizes for: the observed stable error rate, never below ``p0_floor``."""
    observed = stable_errors / stable_requests if stable_requests > 0 else 0.0
    return max(observed, p0_floor)


def required_canary_requests(
    stable_requests: int, stable_errors: int, share: float, alpha_errors: float, cfg: GuardConfig
) -> int | None:
    """Canary requests after which a ``k_min`` regression would have been caught with
    ``cfg.power`` (§2.5); ``None`` when no amount of traffic suffices (degenerate share)."""
    p0 = baseline_error_rate(stable_requests, stable_errors, cfg.p0_floor)
    p1 = min(1.0, cfg.k_min * p0)
    k = p1 / p0
    n_ev = events_needed(round(k, 6), round(share, 3), alpha_errors, cfg.power)
    if n_ev is None:
        return None
    r = round(share, 3)
    return math.ceil(n_ev * r / (r * p1 + (1.0 - r) * p0))


def remaining_canary_requests(
    canary_requests: int,
    stable_requests: int,
    stable_errors: int,
    share: float,
    alpha_errors: float,
    cfg: GuardConfig,
) -> int | None:
    """How many more canary requests the guard needs (0 when met; ``None`` = never)."""
    need = required_canary_requests(stable_requests, stable_errors, share, alpha_errors, cfg)
    return None if need is None else max(0, need - canary_requests)


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """The guard's answer: the action, a verdict with reason, and the traffic still missing."""

    action: StepAction
    verdict: Verdict
    required: int | None
    remaining: int | None

    @property
    def unverified(self) -> bool:
        """True when the step completes without the traffic requirement."""
        return self.action is StepAction.PROMOTE_UNVERIFIED


def judge_guard(
    *,
    dwell_s: float,
    canary_requests: int,
    stable_requests: int,
    stable_errors: int,
    share: float,
    alpha_errors: float,
    cfg: GuardConfig,
) -> GuardDecision:
    """Decide whether a step with no rollback may complete (§7.5)."""
    need = required_canary_requests(stable_requests, stable_errors, share, alpha_errors, cfg)
    remaining = None if need is None else max(0, need - canary_requests)
    p0 = baseline_error_rate(stable_requests, stable_errors, cfg.p0_floor)
    target = (
        f"to catch a {cfg.k_min:g}x error regression"
        f" (stable p0 {fmt_rate(stable_errors, stable_requests)},"
        f" sized at {100 * p0:.2f}%) with {100 * cfg.power:.0f}% power"
    )
    served = f"canary served {canary_requests} of {'∞' if need is None else need} requests {target}"
    limit = math.inf if need is None else float(need)
    ev = float(canary_requests)
    if dwell_s < cfg.min_dwell_s:
        text = f"dwell {dwell_s:.0f} s < minimum {cfg.min_dwell_s:.0f} s; {served}"
        v = Verdict(Outcome.NEED_MORE_DATA, "guard", ev, limit, text)
        return GuardDecision(StepAction.WAIT, v, need, remaining)
    if remaining == 0:
        text = f"dwell {dwell_s:.0f} s ≥ {cfg.min_dwell_s:.0f} s and {served}"
        return GuardDecision(
            StepAction.COMPLETE, Verdict(Outcome.PASS, "guard", ev, limit, text), need, 0
        )
    if dwell_s < cfg.max_dwell_s:
        more = "no amount of traffic suffices" if remaining is None else f"{remaining} more needed"
        text = (
            f"extending the step ({dwell_s:.0f} s of at most {cfg.max_dwell_s:.0f} s):"
            f" {served}; {more}"
        )
        v = Verdict(Outcome.NEED_MORE_DATA, "guard", ev, limit, text)
        return GuardDecision(StepAction.WAIT, v, need, remaining)
    text = f"maximum dwell {cfg.max_dwell_s:.0f} s reached but only {served}"
    if cfg.on_exhausted is OnExhausted.PROMOTE_UNVERIFIED:
        v = Verdict(
            Outcome.PASS, "guard", ev, limit, f"promoting UNVERIFIED below {cfg.k_min:g}x: {text}"
        )
        return GuardDecision(StepAction.PROMOTE_UNVERIFIED, v, need, remaining)
    v = Verdict(Outcome.NEED_MORE_DATA, "guard", ev, limit, f"stopping for a human: {text}")
    return GuardDecision(StepAction.STOP_FOR_HUMAN, v, need, remaining)
