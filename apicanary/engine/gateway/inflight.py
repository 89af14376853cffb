"""The gateway requests in flight: their ids and start times, for the evidence watermark.

The gateway (:mod:`.invocation`, for REST and HTTP APIs alike) registers a request as it
starts (its start time is read under the same lock) and unregisters it only after its record
went to the listeners (the telemetry log among them).
A reader's :meth:`InFlight.snapshot` reads the clock under that lock too, so every request
that started before the snapshot's time is either in the snapshot or already in the log.
Per request: two dict operations under an uncontended lock.
"""

from __future__ import annotations

import threading

from apicanary.clock import Clock

STALE_S = 60.0


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
        """``(now, {id: start time})``: the time and the requests in flight at that time.

        An entry older than :data:`STALE_S` (twice the longest integration timeout) can
        only be a request whose handling failed inside the engine before it wrote a record:
        it is dropped, so it cannot hold the watermark back forever."""
        with self._lock:
            now = self._clock.now()
            stale = [rid for rid, started in self._started.items() if now - started > STALE_S]
            for rid in stale:
                del self._started[rid]
            return now, dict(self._started)

    def __len__(self) -> int:
        return len(self._started)


__all__ = ["InFlight"]
