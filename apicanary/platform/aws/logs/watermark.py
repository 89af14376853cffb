"""The evidence watermark from the measured ingestion delay (pure).

CloudWatch Logs stamps every event with the time it happened (``timestamp``) and the time it
was stored (``ingestionTime``); their difference is the delay the reader lives with. AWS
documents no bound for it (a few seconds to ~20 s is reported), so the reader measures it:

    watermark = (time of the last complete read) − (largest delay measured recently)
                − (the read's own granularity: Live Tail's 1 s update period)

Everything that happened before the watermark has been ingested, hence read: a decision that
waits for the watermark to pass an instant has all the evidence up to that instant. "Recently"
is the last :data:`WINDOW_S` seconds of samples, so the watermark follows a delay that grows
at once and one that shrinks within five minutes. Until :data:`MIN_SAMPLES` delays have been
measured, the largest reported delay (:data:`PRIOR_DELAY_S`) is assumed as a floor: with no
measurement there is nothing better than the worst figure known.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW_S = 300.0
MIN_SAMPLES = 10
PRIOR_DELAY_S = 20.0
UPDATE_PERIOD_S = 1.0


@dataclass
class DelayTracker:
    """Measured ingestion delays (seconds), the largest within a sliding window."""

    window_s: float = WINDOW_S
    min_samples: int = MIN_SAMPLES
    prior_s: float = PRIOR_DELAY_S
    _samples: deque[tuple[float, float]] = field(default_factory=deque)  # (seen at, delay)
    _max: deque[tuple[float, float]] = field(default_factory=deque)  # monotone, for max
    measured: int = 0
    last_s: float | None = None

    def add(self, seen_at: float, delay_s: float) -> None:
        """One event's delay, measured at controller time ``seen_at``."""
        delay_s = max(0.0, delay_s)
        self.measured += 1
        self.last_s = delay_s
        self._samples.append((seen_at, delay_s))
        while self._max and self._max[-1][1] <= delay_s:
            self._max.pop()
        self._max.append((seen_at, delay_s))
        self._expire(seen_at)

    def _expire(self, now: float) -> None:
        horizon = now - self.window_s
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()
        while self._max and self._max[0][0] < horizon:
            self._max.popleft()

    def bound(self, now: float) -> float:
        """The delay to assume at ``now``: the largest measured recently, floored by the
        prior until enough delays were measured."""
        self._expire(now)
        largest = self._max[0][1] if self._max else 0.0
        if self.measured < self.min_samples:
            return max(largest, self.prior_s)
        return largest


def watermark(
    read_at: float, delay_bound_s: float, granularity_s: float = UPDATE_PERIOD_S
) -> float:
    """The newest instant up to which every event has been ingested and read."""
    return read_at - delay_bound_s - granularity_s


__all__ = ["MIN_SAMPLES", "PRIOR_DELAY_S", "WINDOW_S", "DelayTracker", "watermark"]
