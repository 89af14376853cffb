"""The gateway requests in flight: their ids and start times, for the evidence watermark.

The gateway registers a request as it starts (its start time is read under the same lock) and
unregisters it only after its record went to the listeners (the telemetry log among them).
A reader's :meth:`InFlight.snapshot` reads the clock under that lock too, so every request
that started before the snapshot's time is either in the snapshot or already in the log.
Per request: two dict operations under an uncontended lock.
"""

from __future__ import annotations

import threading

from apicanary.clock import Clock


class InFlight:
    """Request id → start time (engine clock) of every request being handled."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def begin(self, request_id: str) -> float:
        """Register ``request_id``; returns its start time."""
        with self._lock:
            started = self._started[request_id] = self._clock.now()
            return started

    def end(self, request_id: str) -> None:
        with self._lock:
            self._started.pop(request_id, None)

    def snapshot(self) -> tuple[float, dict[str, float]]:
        """``(now, {id: start time})``: the time and the requests in flight at that time."""
        with self._lock:
            return self._clock.now(), dict(self._started)

    def __len__(self) -> int:
        return len(self._started)


__all__ = ["InFlight"]
