"""One CloudWatch Logs event as the reader sees it, from Live Tail or FilterLogEvents.

Live Tail's ``sessionResults`` carry no ``eventId``; FilterLogEvents' events do. So that the
two sources de-duplicate against each other, an event's identity is its content key
``(group, stream, timestamp, message)`` (:attr:`LogEvent.key`): two distinct events with the
same key would be the same line written twice in the same millisecond by the same execution
environment, which the reader then counts once (harmless: requests are counted by request id).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LogEvent:
    """``timestamp`` and ``ingestion_time`` are epoch milliseconds, as CloudWatch gives them."""

    group: str
    stream: str
    timestamp: int
    ingestion_time: int
    message: str

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.group, self.stream, self.timestamp, self.message)

    @property
    def delay_ms(self) -> int:
        """The ingestion delay this event measured (never negative)."""
        return max(0, self.ingestion_time - self.timestamp)


def group_name(identifier: str) -> str:
    """A log group's name from its name or ARN (``arn:...:log-group:NAME[:*]``)."""
    if identifier.startswith("arn:"):
        name = identifier.split(":log-group:", 1)[-1]
        return name[:-2] if name.endswith(":*") else name
    return identifier


def from_live_tail(result: Mapping[str, Any]) -> LogEvent:
    """A ``LiveTailSessionLogEvent`` of a ``sessionUpdate``."""
    timestamp = int(result.get("timestamp") or 0)
    return LogEvent(
        group=group_name(str(result.get("logGroupIdentifier") or "")),
        stream=str(result.get("logStreamName") or ""),
        timestamp=timestamp,
        ingestion_time=int(result.get("ingestionTime") or timestamp),
        message=str(result.get("message") or ""),
    )


def from_filter(group: str, event: Mapping[str, Any]) -> LogEvent:
    """A ``FilteredLogEvent`` of a FilterLogEvents page on ``group``."""
    timestamp = int(event.get("timestamp") or 0)
    return LogEvent(
        group=group,
        stream=str(event.get("logStreamName") or ""),
        timestamp=timestamp,
        ingestion_time=int(event.get("ingestionTime") or timestamp),
        message=str(event.get("message") or ""),
    )


class SeenSet:
    """A bounded set of recently seen keys: the oldest are forgotten beyond ``limit``.

    The limit must cover the span over which one event can arrive twice (Live Tail and the
    gap filler overlap by a few seconds to a minute); 200,000 keys cover half an hour at
    100 requests/s with three log lines each.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._keys: OrderedDict[Any, None] = OrderedDict()

    def add(self, key: Any) -> bool:
        """Remember ``key``; False when it was already there (a duplicate)."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self.limit:
            self._keys.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)
