"""Running p90/p99 of the stable arm's warm durations (detection-limits.md §7.3).

A log-bucketed histogram (relative accuracy ``a``: every reported quantile is within a factor
``1 ± a`` of an observed value of that rank). Deterministic, mergeable, bounded in size (about
``ln(max/min) / (2a)`` buckets), and its state is a JSON-able dict. Fed stable-only data after
each window is judged, so the thresholds in force for a window never depend on that window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_MIN_MS = 1e-3


@dataclass(slots=True)
class QuantileSketch:
    """Histogram of positive durations in geometric buckets of ratio ``(1 + a)/(1 - a)``."""

    accuracy: float = 0.01
    bins: dict[int, int] = field(default_factory=dict)
    count: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.accuracy < 0.5:
            raise ValueError(f"quantile accuracy {self.accuracy!r} must be between 0 and 0.5")

    @property
    def _log_gamma(self) -> float:
        return math.log((1.0 + self.accuracy) / (1.0 - self.accuracy))

    def add(self, value_ms: float) -> None:
        """Record one duration (values below 1 µs are recorded as 1 µs)."""
        if math.isnan(value_ms):
            raise ValueError("duration is NaN")
        idx = math.ceil(math.log(max(value_ms, _MIN_MS)) / self._log_gamma)
        self.bins[idx] = self.bins.get(idx, 0) + 1
        self.count += 1

    def add_many(self, values_ms: Iterable[float]) -> None:
        """Record several durations."""
        for v in values_ms:
            self.add(v)

    def quantile(self, q: float) -> float | None:
        """The ``q``-quantile (lower order statistic of rank ``⌈q·n⌉``), ``None`` when empty."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile {q!r} must be between 0 and 1")
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        lg = self._log_gamma
        for idx in sorted(self.bins):
            seen += self.bins[idx]
            if seen >= rank:
                # bucket idx covers (gamma^(idx-1), gamma^idx]; its midpoint in relative terms
                return 2.0 * math.exp(idx * lg) / (1.0 + math.exp(lg))
        raise AssertionError("unreachable: counts are consistent")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: ``bins`` as sorted ``[index, count]`` pairs."""
        return {
            "accuracy": self.accuracy,
            "bins": [[i, self.bins[i]] for i in sorted(self.bins)],
            "count": self.count,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantileSketch:
        """Inverse of :meth:`to_dict`."""
        bins = {int(i): int(c) for i, c in data["bins"]}
        count = int(data["count"])
        if sum(bins.values()) != count:
            raise ValueError("quantile sketch state is inconsistent: bin counts do not add up")
        return cls(accuracy=float(data["accuracy"]), bins=bins, count=count)
