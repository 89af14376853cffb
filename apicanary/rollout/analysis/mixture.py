"""The mixture e-process on a stream of canary/stable labels (detection-limits.md §2.2, §2.3, §7.2).

Every labelled event (a failed request, or a request slower than a stable quantile) is tagged
canary (``c = 1``) or stable (``c = 0``). When the canary behaves like the stable version, a
label is canary with probability ``r``, the canary share of requests in the bucket the event
fell in, whatever the common event rate is. For a rate ratio ``k`` the canary-label probability
is ``q = r·k / (r·k + 1 - r)``, and one event multiplies the likelihood ratio by

    q / r          = k / (1 + r·(k - 1))       for a canary label,
    (1 - q)/(1 - r) = 1 / (1 + r·(k - 1))       for a stable label.

The e-value is the mixture ``Λ = Σ_j w_j · Π_i LR_i(k_j)`` over 64 equal-mass points of a
Beta(1, 2) prior on ``q`` truncated to ``[0.1, 1]``, i.e. rate ratios ``k_j`` from 1.04 to 104
(§2.3, §7.2). ``Λ`` is a nonnegative (super)martingale with mean ≤ 1 under "canary as good as
stable", so by Ville's inequality ``P(Λ ever ≥ 1/alpha) ≤ alpha`` at any horizon.

Buckets: ``r`` is the *measured* share of a bucket (§6.2, §7.2). Conditional on a bucket's
request counts, the labels of its events are drawn without replacement; each component's
bucket factor is convex in the number of canary labels, so by Hoeffding's (1963) comparison of
sampling with and without replacement its expectation is ≤ 1: the process stays a
supermartingale at bucket ends, which is what the guarantee needs.

Pure: no I/O, no clock; the state is a list of floats that round-trips through JSON exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

#: number of mixture components (§2.3)
MIXTURE_POINTS = 64
#: share at which the Beta(1, 2) prior on q is laid out to obtain the k grid (§2.3)
_PRIOR_SHARE = 0.10


@lru_cache(maxsize=1)
def rate_ratio_grid() -> tuple[float, ...]:
    """The 64 rate ratios ``k_j`` (1.04 … 104) of the §2.3 prior, equal weights."""
    r = _PRIOR_SHARE
    out: list[float] = []
    for i in range(MIXTURE_POINTS):
        u = (i + 0.5) / MIXTURE_POINTS
        q = 1.0 - (1.0 - r) * math.sqrt(1.0 - u)  # quantile of Beta(1, 2) truncated to [r, 1]
        out.append(q * (1.0 - r) / (r * (1.0 - q)))
    return tuple(out)


@lru_cache(maxsize=1)
def _log_k() -> tuple[float, ...]:
    return tuple(math.log(k) for k in rate_ratio_grid())


_LOG_W = -math.log(MIXTURE_POINTS)


@lru_cache(maxsize=4096)
def log_factors(share: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-component log factors ``(ln(q_j/r), ln((1-q_j)/(1-r)))`` at canary share ``r``.

    Both are finite for every ``r`` in [0, 1]: at ``r = 1`` a canary label carries no evidence,
    at ``r = 0`` a stable label carries none.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"canary share {share!r} is out of range: it must be between 0 and 1")
    stable = tuple(-math.log1p(share * (k - 1.0)) for k in rate_ratio_grid())
    canary = tuple(lk + s for lk, s in zip(_log_k(), stable, strict=True))
    return canary, stable


def logsumexp(values: Sequence[float]) -> float:
    """``ln Σ exp(v)`` computed stably."""
    m = max(values)
    if m == -math.inf:
        return m
    return m + math.log(math.fsum(math.exp(v - m) for v in values))


def mixture_log_evalue(canary_labels: int, events: int, share: float) -> float:
    """``ln Λ`` after ``events`` labels, ``canary_labels`` of them canary, all at one share."""
    a, b = log_factors(share)
    return _LOG_W + logsumexp(
        [canary_labels * ai + (events - canary_labels) * bi for ai, bi in zip(a, b, strict=True)]
    )


@dataclass(slots=True)
class LabelMixture:
    """Incremental mixture e-process over canary/stable labels (§7.2).

    ``log_s[j]`` is the log likelihood ratio of component ``j``; ``ln Λ = ln(1/64) +
    logsumexp(log_s)``. Mutated only by :meth:`add_bucket` / :meth:`add_label`.
    """

    log_s: list[float] = field(default_factory=lambda: [0.0] * MIXTURE_POINTS)
    events: int = 0
    canary_events: int = 0

    def log_evalue(self) -> float:
        """``ln Λ`` now."""
        return _LOG_W + logsumexp(self.log_s)

    def add_label(self, share: float, canary: bool) -> None:
        """Fold in one label observed at canary share ``share``."""
        a, b = log_factors(share)
        f = a if canary else b
        self.log_s = [s + d for s, d in zip(self.log_s, f, strict=True)]
        self.events += 1
        self.canary_events += int(canary)

    def add_counts(self, share: float, canary: int, stable: int) -> None:
        """Fold in a bucket's labels without looking inside it (order does not matter)."""
        if canary == 0 and stable == 0:
            return
        a, b = log_factors(share)
        self.log_s = [
            s + canary * ai + stable * bi for s, ai, bi in zip(self.log_s, a, b, strict=True)
        ]
        self.events += canary + stable
        self.canary_events += canary

    def peak_bound(self, share: float, canary: int) -> float:
        """Upper bound on ``ln Λ`` anywhere inside a bucket with ``canary`` canary labels.

        Stable labels only lower every component, so no ordering of the bucket can exceed the
        value reached with all canary labels first.
        """
        a, _ = log_factors(share)
        return _LOG_W + logsumexp([s + canary * ai for s, ai in zip(self.log_s, a, strict=True)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state; floats round-trip exactly through ``json``."""
        return {
            "log_s": list(self.log_s),
            "events": self.events,
            "canary_events": self.canary_events,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelMixture:
        """Inverse of :meth:`to_dict`."""
        log_s = [float(v) for v in data["log_s"]]
        if len(log_s) != MIXTURE_POINTS:
            raise ValueError(
                f"mixture state has {len(log_s)} components: it must have {MIXTURE_POINTS}"
            )
        return cls(
            log_s=log_s, events=int(data["events"]), canary_events=int(data["canary_events"])
        )
