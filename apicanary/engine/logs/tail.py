"""Live Tail sessions: which new events one ``sessionUpdate`` carries (no I/O).

CloudWatch pushes one update per second with the events ingested since the previous one
that match the session's streams and filter pattern; above ``MAX_EVENTS_PER_UPDATE`` the
update is a sample of that many, flagged ``sampled`` (the reader scales counts by
``matched / returned``, which :class:`TailUpdate` reports for the engine's own tests and
benchmarks; AWS sends only the flag).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from apicanary.engine.logs.filter import Predicate
from apicanary.engine.logs.model import LogEvent
from apicanary.engine.logs.store import LogStore

MAX_EVENTS_PER_UPDATE = 500
MAX_GROUPS = 10
MAX_STREAMS = 100
SESSION_LIMIT_S = 3 * 3600.0


@dataclass(frozen=True, slots=True)
class TailScope:
    """What a session watches: groups (names, and the identifiers as the caller gave them),
    optional stream names or prefixes (only with one group), a compiled filter pattern."""

    groups: tuple[str, ...]
    identifiers: tuple[str, ...]
    stream_names: tuple[str, ...] = ()
    stream_prefixes: tuple[str, ...] = ()
    matches: Predicate | None = None
    pattern: str = ""

    def wants(self, event: LogEvent) -> bool:
        if self.stream_names and event.stream not in self.stream_names:
            return False
        if self.stream_prefixes and not event.stream.startswith(self.stream_prefixes):
            return False
        return self.matches is None or self.matches(event.message)

    def identifier_of(self, group: str) -> str:
        return self.identifiers[self.groups.index(group)]


@dataclass(frozen=True, slots=True)
class TailUpdate:
    events: list[LogEvent]
    sampled: bool
    matched: int


class TailSession:
    """The cursor of one session over the store; :meth:`next_update` once per second."""

    def __init__(self, store: LogStore, scope: TailScope) -> None:
        self.store = store
        self.scope = scope
        self._cursor = store.tail_start(scope.groups)

    def next_update(self) -> TailUpdate:
        """The events ingested since the last update (in arrival order), sampled above 500."""
        now = self.store.now_ms()
        matched: list[LogEvent] = []
        for event in self.store.arrived_after(self.scope.groups, self._cursor):
            if event.ingestion_time > now:
                break  # not ingested yet: the next update starts here
            self._cursor = event.seq
            if self.scope.wants(event):
                matched.append(event)
        if len(matched) <= MAX_EVENTS_PER_UPDATE:
            return TailUpdate(matched, False, len(matched))
        return TailUpdate(sample(matched, MAX_EVENTS_PER_UPDATE), True, len(matched))


def sample(events: Sequence[LogEvent], size: int) -> list[LogEvent]:
    """``size`` events spread evenly over ``events`` (deterministic), order kept."""
    step = len(events) / size
    return [events[int(i * step)] for i in range(size)]
