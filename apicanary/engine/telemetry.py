"""A bounded, cursor-addressed log of recent requests and invocations, for rollout analysis,
kept in memory and (given a directory) in files that outlive the process.

The gateway and the Lambda service append one record per request/invocation (on the event
loop, O(1)); the rollout controller reads everything after its cursor from its own thread.
The log keeps the newest ``capacity`` records: a reader that fell further behind is told how
many it missed (``dropped``), never given a silently incomplete picture, and what it missed
of the gateway's requests: the log counts every gateway record it appends and evicts by
:func:`gateway_key` (function, qualifier, executed version, API, stage, canary flag, failed),
so ``evicted - appended_before_my_cursor`` is exactly what a reader lost, per key.

**Durable** (``directory`` given; the engine's is ``<state dir>/telemetry``): :meth:`add`
returns only after the record is in the file (:mod:`apicanary.engine.telemetry_file`: one
``write(2)``, page cache, no ``fsync``: it survives a SIGKILL of ``serve``, not a power loss).
The gateway writes its record before it sets the client's answer, so every answer a client can
receive is on file first. A Lambda record of a gateway request (``via_gateway``) is not
evidence by itself (its gateway record is), so it is written with the next record instead of
on its own: one ``write(2)`` per gateway request. A reader never sees a record that is not on
file (:meth:`since` writes what is pending first), so a cursor journalled by the controller
points into the same sequence after a restart: the reopened log keeps its ``uid``, its
sequence numbers and its per-key counts, and the reader resumes where it stopped.
The one order left open: a kill after a record's write and before its answer's write (the
rest of that event-loop pass) leaves a record whose client got a connection error instead of
the answer. Writing after the answer would lose answered requests instead; this order errs
towards evidence, and the window is that one pass.

``uid`` names this log: a cursor from another log (a memory-only log of a restarted engine,
or a deleted directory) starts at 0.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from collections import Counter, deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from apicanary.engine.gateway.messages import RequestRecord
from apicanary.engine.telemetry_file import Record, SegmentFiles, encode

log = logging.getLogger(__name__)

DEFAULT_TELEMETRY_CAPACITY = 200_000
"""Records kept (two per gateway request): 100 s at 1,000 requests/s."""
SEGMENTS_PER_WINDOW = 4
"""A segment file holds a quarter of the window: the files hold at most 1.5 windows."""
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
    """Append-only from the loop, read by cursor from anywhere; durable given ``directory``."""

    def __init__(
        self, capacity: int = DEFAULT_TELEMETRY_CAPACITY, directory: Path | None = None
    ) -> None:
        self.uid = uuid.uuid4().hex[:12]
        self.capacity = capacity
        self._records: deque[Record] = deque(maxlen=capacity)
        self._next = 0  # sequence number of the next record
        self._appended: Counter[GatewayKey] = Counter()
        self._evicted: Counter[GatewayKey] = Counter()
        self._lock = threading.Lock()
        self._file: SegmentFiles | None = None
        self._pending: list[bytes] = []  # encoded, not yet written (Lambda records of requests)
        self._pending_keys: list[Hashable | None] = []
        if directory is not None:
            self._reopen(directory)

    def add(self, record: Record) -> None:
        """Keep ``record``; with a file, return once it is written (see the module)."""
        key = gateway_key(record) if type(record) is RequestRecord else None
        with self._lock:
            self._keep(record, key)
            if self._file is None:
                return
            self._pending.append(encode(record))
            self._pending_keys.append(key)
            if key is None and record.via_gateway:  # type: ignore[union-attr]
                return  # a Lambda record of a request: written with the next record
            self._write_pending()

    @property
    def cursor(self) -> int:
        """The cursor that reads only records added from now on."""
        with self._lock:
            return self._next

    def since(self, cursor: int) -> TelemetrySlice:
        """Every record with sequence number ≥ ``cursor`` still held."""
        with self._lock:
            if self._pending:
                self._write_pending()  # a reader only sees what is on file
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

    def close(self) -> None:
        """Write what is pending and close the file (the log stays readable in memory)."""
        with self._lock:
            if self._file is not None:
                if self._pending:
                    self._write_pending()
                if self._file is not None:
                    self._file.close()
                    self._file = None

    # -- internals ----------------------------------------------------------------------------

    def _keep(self, record: Record, key: GatewayKey | None) -> None:
        if len(self._records) == self.capacity:
            oldest = self._records[0]
            if isinstance(oldest, RequestRecord):
                self._evicted[gateway_key(oldest)] += 1
        if key is not None:
            self._appended[key] += 1
        self._records.append(record)
        self._next += 1

    def _write_pending(self) -> None:
        assert self._file is not None
        data, keys = b"".join(self._pending), self._pending_keys
        self._pending, self._pending_keys = [], []
        try:
            self._file.append(data, keys, self._next - len(self._records))
        except OSError as error:
            # the log goes on in memory; its uid is dropped from the directory, so a restart
            # opens a new log and no cursor can point at records that never reached the file
            log.error("telemetry log %s: %s; the log is kept in memory only", self.uid, error)
            self._file.abandon()
            self._file = None

    def _reopen(self, directory: Path) -> None:
        """Take over the log a previous process left in ``directory`` (or start one)."""
        files = SegmentFiles(directory, max(1, self.capacity // SEGMENTS_PER_WINDOW), _counted_key)
        self.uid = files.uid
        dropped = cast("Counter[GatewayKey]", files.dropped)
        self._appended, self._evicted = Counter(dropped), Counter(dropped)
        self._next = files.start
        for record in files.recovered():
            self._keep(record, gateway_key(record) if isinstance(record, RequestRecord) else None)
        self._file = files


def _counted_key(record: Record) -> Hashable | None:
    return gateway_key(record) if isinstance(record, RequestRecord) else None
