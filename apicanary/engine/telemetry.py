"""A bounded, cursor-addressed log of recent requests and invocations, for rollout analysis.

The gateway and the Lambda service append one record per request/invocation (on the event
loop, O(1)); the rollout controller reads everything after its cursor from its own thread.
The log keeps the newest ``capacity`` records: a reader that fell further behind is told how
many it missed (``dropped``), never given a silently incomplete picture.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass

from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.gateway.messages import RequestRecord

Record = RequestRecord | LambdaInvocation


@dataclass(frozen=True, slots=True)
class TelemetrySlice:
    cursor: int  # pass back to read what comes next
    records: list[Record]
    dropped: int  # records that were evicted before this reader saw them


class TelemetryLog:
    """Append-only from the loop, read by cursor from anywhere."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._records: deque[Record] = deque(maxlen=capacity)
        self._next = 0  # sequence number of the next record
        self._lock = threading.Lock()

    def add(self, record: Record) -> None:
        with self._lock:
            self._records.append(record)
            self._next += 1

    @property
    def cursor(self) -> int:
        """The cursor that reads only records added from now on."""
        with self._lock:
            return self._next

    def since(self, cursor: int) -> TelemetrySlice:
        """Every record with sequence number ≥ ``cursor`` still held."""
        with self._lock:
            oldest = self._next - len(self._records)
            start = max(cursor, oldest)
            skip = start - oldest
            records = (
                list(itertools.islice(self._records, skip, None)) if start < self._next else []
            )
            return TelemetrySlice(self._next, records, max(0, oldest - cursor))
