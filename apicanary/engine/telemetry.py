"""A bounded, cursor-addressed log of recent requests and invocations, for rollout analysis.

The gateway and the Lambda service append one record per request/invocation (on the event
loop, O(1)); the rollout controller reads everything after its cursor from its own thread.
The log keeps the newest ``capacity`` records: a reader that fell further behind is told how
many it missed (``dropped``), never given a silently incomplete picture, and what it missed
of the gateway's requests: the log counts every gateway record it appends and evicts by
:func:`gateway_key` (function, qualifier, executed version, API, stage, canary flag, failed),
so ``evicted - appended_before_my_cursor`` is exactly what a reader lost, per key.

``uid`` names this log: a cursor from another log (a restarted engine) starts at 0.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field

from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.gateway.messages import RequestRecord

Record = RequestRecord | LambdaInvocation
DEFAULT_TELEMETRY_CAPACITY = 200_000
"""Records kept (two per gateway request): 100 s at 1,000 requests/s."""
GatewayKey = tuple[str | None, str | None, str | None, str, str, bool, bool]
"""(function, qualifier, executed version, API id, stage, is canary, failed: status ≥ 500)"""


def gateway_key(record: RequestRecord) -> GatewayKey:
    return (
        record.function_name,
        record.qualifier,
        record.executed_version,
        record.api_id,
        record.stage,
        record.is_canary,
        record.status >= 500,
    )


def is_failure(record: Record) -> bool:
    """A record that may move a rollout's error test: a 5xx answer, or a function error."""
    if isinstance(record, RequestRecord):
        return record.status >= 500
    return record.function_error is not None


@dataclass(frozen=True, slots=True)
class TelemetrySlice:
    cursor: int  # pass back to read what comes next
    records: list[Record]
    dropped: int  # records that were evicted before this reader saw them
    # gateway records appended before ``cursor``, by key (cumulative since the log began)
    appended: Counter[GatewayKey] = field(default_factory=Counter)
    # gateway records evicted so far, by key (cumulative); set only when ``dropped``
    evicted: Counter[GatewayKey] | None = None


class TelemetryLog:
    """Append-only from the loop, read by cursor from anywhere."""

    def __init__(self, capacity: int = DEFAULT_TELEMETRY_CAPACITY) -> None:
        self.uid = uuid.uuid4().hex[:12]
        self.capacity = capacity
        self._records: deque[Record] = deque(maxlen=capacity)
        self._next = 0  # sequence number of the next record
        self._appended: Counter[GatewayKey] = Counter()
        self._evicted: Counter[GatewayKey] = Counter()
        self._lock = threading.Lock()

    def add(self, record: Record) -> None:
        with self._lock:
            if len(self._records) == self.capacity:
                oldest = self._records[0]
                if isinstance(oldest, RequestRecord):
                    self._evicted[gateway_key(oldest)] += 1
            if isinstance(record, RequestRecord):
                self._appended[gateway_key(record)] += 1
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
            dropped = max(0, oldest - cursor)
            return TelemetrySlice(
                self._next,
                records,
                dropped,
                Counter(self._appended),
                Counter(self._evicted) if dropped else None,
            )
