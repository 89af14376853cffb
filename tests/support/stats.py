"""Exact statistical checks for randomized splits (no tolerance guesses)."""

from __future__ import annotations

import math


def binomial_two_sided_p(successes: int, trials: int, p: float) -> float:
    """Exact two-sided binomial test p-value (sum of outcomes no more likely than observed)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError("p must be a probability")

    def log_pmf(k: int) -> float:
        if p in (0.0, 1.0):
            return 0.0 if (k == 0 and p == 0.0) or (k == trials and p == 1.0) else -math.inf
        return (
            math.lgamma(trials + 1)
            - math.lgamma(k + 1)
            - math.lgamma(trials - k + 1)
            + k * math.log(p)
            + (trials - k) * math.log1p(-p)
        )

    observed = log_pmf(successes)
    total = 0.0
    for k in range(trials + 1):
        value = log_pmf(k)
        if value <= observed + 1e-9:
            total += math.exp(value)
    return min(1.0, total)
