"""The log store: groups, streams and events, bounded, in memory, read by time or by arrival.

Why in memory and not SQLite: events arrive at the request rate (several lines per
invocation) and are read back within seconds by tails and pollers; an in-memory ring costs
no disk write per line, and a restart of ``serve`` starting with empty logs is what a fresh
engine should look like (the telemetry the local rollout controller uses is in memory too).
Each group keeps its newest ``max_events_per_group`` events; older ones are evicted as if
their retention had passed. ``retentionInDays`` also evicts by event time (:meth:`expire`).

Visibility: an event written at ``t`` gets ``ingestionTime = t + delay`` and no reader sees
it before then (``serve --logs-delay``), so tests reproduce CloudWatch's ingestion lag.

Thread-safe (one lock): the control port's handlers and the engine's housekeeping use it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from apicanary.clock import Clock
from apicanary.engine.logs import model
from apicanary.engine.logs.model import LogEvent


@dataclass(slots=True)
class Stream:
    name: str
    creation_time: int
    events: deque[LogEvent] = field(default_factory=deque)
    first_timestamp: int | None = None
    last_timestamp: int | None = None
    last_ingestion: int | None = None
    stored_bytes: int = 0


@dataclass(slots=True)
class Group:
    name: str
    creation_time: int
    retention_days: int | None = None
    streams: dict[str, Stream] = field(default_factory=dict)
    events: deque[LogEvent] = field(default_factory=deque)
    stored_bytes: int = 0


class LogStore:
    """Every log group of the engine; see the module docstring."""

    def __init__(
        self, clock: Clock, *, delay_s: float = 0.0, max_events_per_group: int = 100_000
    ) -> None:
        if delay_s < 0:
            raise ValueError(f"logs delay {delay_s} s must be >= 0")
        self.clock = clock
        self.delay_ms = round(delay_s * 1000)
        self._max_events = max_events_per_group
        self._groups: dict[str, Group] = {}
        self._seq = 0
        self.lock = threading.RLock()
        #: set when the engine stops: Live Tail sessions end instead of holding the shutdown
        self.closing = False

    def close(self) -> None:
        self.closing = True

    def now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    # --- groups and streams ----------------------------------------------------------------

    def create_group(self, name: str) -> Group:
        with self.lock:
            if name in self._groups:
                raise model.group_exists()
            group = self._groups[name] = Group(name, self.now_ms())
            return group

    def ensure_group(self, name: str) -> Group:
        with self.lock:
            group = self._groups.get(name)
            return group if group is not None else self.create_group(name)

    def delete_group(self, name: str) -> None:
        with self.lock:
            if self._groups.pop(name, None) is None:
                raise model.group_not_found()

    def group(self, name: str) -> Group:
        with self.lock:
            group = self._groups.get(name)
            if group is None:
                raise model.group_not_found()
            return group

    def groups(self) -> list[Group]:
        with self.lock:
            return sorted(self._groups.values(), key=lambda g: g.name)

    def set_retention(self, name: str, days: int | None) -> None:
        if days is not None and days not in model.RETENTION_DAYS:
            raise model.invalid(
                f"retentionInDays {days} is not one of {', '.join(map(str, model.RETENTION_DAYS))}"
            )
        with self.lock:
            self.group(name).retention_days = days
        self.expire()

    def create_stream(self, group_name: str, stream_name: str) -> Stream:
        with self.lock:
            group = self.group(group_name)
            if stream_name in group.streams:
                raise model.stream_exists()
            stream = group.streams[stream_name] = Stream(stream_name, self.now_ms())
            return stream

    def stream(self, group_name: str, stream_name: str) -> Stream:
        with self.lock:
            stream = self.group(group_name).streams.get(stream_name)
            if stream is None:
                raise model.stream_not_found()
            return stream

    # --- writing ---------------------------------------------------------------------------

    def append(
        self,
        group_name: str,
        stream_name: str,
        events: Iterable[tuple[int, str]],
        *,
        arrived_ms: int | None = None,
        create: bool = True,
        arrived_at_timestamp: bool = False,
    ) -> int:
        """Store ``(timestamp ms, message)`` events in one stream; returns how many.

        ``create``: make the group and stream when missing (Lambda and API Gateway do);
        otherwise a missing one is ``ResourceNotFoundException``. ``arrived_ms`` (default:
        now; with ``arrived_at_timestamp``, each event's own timestamp, for lines the engine
        captured itself) plus the delay is the events' ``ingestionTime``.
        """
        with self.lock:
            if create:
                group = self.ensure_group(group_name)
                stream = group.streams.get(stream_name)
                if stream is None:
                    stream = group.streams[stream_name] = Stream(stream_name, self.now_ms())
            else:
                group = self.group(group_name)
                stream = self.stream(group_name, stream_name)
            ingestion = (self.now_ms() if arrived_ms is None else arrived_ms) + self.delay_ms
            first = self._seq + 1
            group_name, stream_name = group.name, stream.name
            if arrived_at_timestamp:
                delay = self.delay_ms
                batch = [
                    LogEvent(seq, group_name, stream_name, timestamp, timestamp + delay, message)
                    for seq, (timestamp, message) in enumerate(events, first)
                ]
            else:
                batch = [
                    LogEvent(seq, group_name, stream_name, timestamp, ingestion, message)
                    for seq, (timestamp, message) in enumerate(events, first)
                ]
            if not batch:
                return 0
            self._seq += len(batch)
            group.events.extend(batch)
            stream.events.extend(batch)
            # builtins over the fields, not generator expressions: this runs for every line a
            # worker prints (START, END and REPORT at least) in the engine's housekeeping
            timestamps = [e.timestamp for e in batch]
            size = sum(map(len, [e.message for e in batch])) + model.EVENT_OVERHEAD * len(batch)
            group.stored_bytes += size
            stream.stored_bytes += size
            low = min(timestamps)
            high = max(timestamps)
            if stream.first_timestamp is None or low < stream.first_timestamp:
                stream.first_timestamp = low
            if stream.last_timestamp is None or high > stream.last_timestamp:
                stream.last_timestamp = high
            stream.last_ingestion = batch[-1].ingestion_time
            while len(group.events) > self._max_events:
                self._evict(group)
            return len(batch)

    def _evict(self, group: Group) -> None:
        oldest = group.events.popleft()
        size = len(oldest.message) + model.EVENT_OVERHEAD
        group.stored_bytes -= size
        stream = group.streams.get(oldest.stream)
        if stream is not None and stream.events and stream.events[0] is oldest:
            stream.events.popleft()
            stream.stored_bytes -= size

    def expire(self) -> int:
        """Evict events older than their group's retention; returns how many went."""
        now = self.now_ms()
        evicted = 0
        with self.lock:
            for group in self._groups.values():
                if group.retention_days is None:
                    continue
                cutoff = now - group.retention_days * 86_400_000
                while group.events and group.events[0].timestamp < cutoff:
                    self._evict(group)
                    evicted += 1
        return evicted

    # --- reading ---------------------------------------------------------------------------

    def snapshot(
        self, group_name: str, stream_names: Sequence[str] | None = None
    ) -> list[LogEvent]:
        """A copy of a group's (or some of its streams') events, in arrival order."""
        with self.lock:
            group = self.group(group_name)
            if stream_names is None:
                return list(group.events)
            chosen: list[LogEvent] = []
            for name in stream_names:
                stream = group.streams.get(name)
                if stream is not None:
                    chosen.extend(stream.events)
            chosen.sort(key=lambda event: event.seq)
            return chosen

    @property
    def last_seq(self) -> int:
        """The arrival number of the newest event (a Live Tail session starts after it)."""
        with self.lock:
            return self._seq

    def arrived_after(self, group_names: Sequence[str], seq: int) -> list[LogEvent]:
        """Events of these groups with arrival number > ``seq``, oldest first."""
        found: list[LogEvent] = []
        with self.lock:
            for name in group_names:
                group = self._groups.get(name)
                if group is None:
                    continue
                for event in reversed(group.events):
                    if event.seq <= seq:
                        break
                    found.append(event)
        found.sort(key=lambda event: event.seq)
        return found

    def tail_start(self, group_names: Sequence[str]) -> int:
        """Where a Live Tail session starts: after every event already ingested, before the
        first one still in flight (an event written before the session but ingested after
        its start is delivered, as on AWS)."""
        now = self.now_ms()
        with self.lock:
            start = self._seq
            for name in group_names:
                group = self._groups.get(name)
                if group is None:
                    continue
                for event in reversed(group.events):
                    if event.ingestion_time <= now:
                        break
                    start = min(start, event.seq - 1)
            return start
