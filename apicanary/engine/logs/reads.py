"""GetLogEvents and FilterLogEvents over the store: selection, order and page tokens (pure
over a list of events and the current time).

* ``GetLogEvents`` reads one stream in arrival order. Tokens are ``f/<eventId>`` (the events
  after it) and ``b/<eventId>`` (the events before it); at the end of the stream the token
  passed in comes back unchanged, as CloudWatch documents ("If you have reached the end of
  the stream, it returns the same token you passed in"), which is how readers know to stop.
* ``FilterLogEvents`` reads a group in event-time order (ties by arrival). Its ``nextToken``
  is the (timestamp, eventId) of the last event returned: an event ingested later with an
  older timestamp lands behind that cursor and is not returned, as on AWS; readers restart
  from the newest timestamp seen and de-duplicate by ``eventId``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from apicanary.engine.logs.model import LogEvent, invalid

MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class StreamPage:
    events: list[LogEvent]
    forward_token: str
    backward_token: str


def check_limit(limit: int | None) -> int:
    if limit is None:
        return MAX_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
            f"constraint: Member must have value between 1 and {MAX_LIMIT}"
        )
    return limit


def in_range(event: LogEvent, start: int | None, end: int | None) -> bool:
    """``startTime`` inclusive, ``endTime`` exclusive (CloudWatch's API reference)."""
    return (start is None or event.timestamp >= start) and (end is None or event.timestamp < end)


def stream_page(
    events: Sequence[LogEvent],
    *,
    now_ms: int,
    start: int | None,
    end: int | None,
    token: str | None,
    limit: int | None,
    start_from_head: bool,
) -> StreamPage:
    """One page of GetLogEvents over a stream's events (arrival order)."""
    size = check_limit(limit)
    chosen = [e for e in events if e.ingestion_time <= now_ms and in_range(e, start, end)]
    if token is not None:
        direction, seq = _stream_token(token)
        if direction == "f":
            page = [e for e in chosen if e.seq > seq][:size]
        else:
            page = [e for e in chosen if e.seq < seq][-size:]
    else:
        page = chosen[:size] if start_from_head else chosen[-size:]
    if not page:  # the end: hand the caller's token back (a fresh stream: the origin)
        zero = "0" * 56
        if token is None:
            return StreamPage([], f"f/{zero}", f"b/{zero}")
        direction, seq = _stream_token(token)
        if direction == "f":
            return StreamPage([], token, f"b/{seq + 1:056d}")
        return StreamPage([], f"f/{max(0, seq - 1):056d}", token)
    return StreamPage(page, f"f/{page[-1].event_id}", f"b/{page[0].event_id}")


def _stream_token(token: str) -> tuple[str, int]:
    direction, _, digits = token.partition("/")
    if direction not in ("f", "b") or not digits.isdigit():
        raise invalid("The specified nextToken is invalid.")
    return direction, int(digits)


@dataclass(frozen=True, slots=True)
class FilterPage:
    events: list[LogEvent]
    next_token: str | None


def filter_page(
    events: Sequence[LogEvent],
    *,
    now_ms: int,
    start: int | None,
    end: int | None,
    matches: Callable[[str], bool],
    token: str | None,
    limit: int | None,
) -> FilterPage:
    """One page of FilterLogEvents over a group's (chosen streams') events."""
    size = check_limit(limit)
    after = _filter_token(token) if token is not None else None
    chosen = [
        e
        for e in events
        if e.ingestion_time <= now_ms
        and in_range(e, start, end)
        and (after is None or (e.timestamp, e.seq) > after)
        and matches(e.message)
    ]
    chosen.sort(key=lambda e: (e.timestamp, e.seq))
    page = chosen[:size]
    more = len(chosen) > size
    next_token = _encode_filter_token(page[-1]) if more else None
    return FilterPage(page, next_token)


def _encode_filter_token(event: LogEvent) -> str:
    return base64.urlsafe_b64encode(f"{event.timestamp}:{event.seq}".encode()).decode()


def _filter_token(token: str) -> tuple[int, int]:
    try:
        timestamp, _, seq = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return int(timestamp), int(seq)
    except (ValueError, UnicodeDecodeError):
        raise invalid("The specified nextToken is invalid.") from None


def offset_page(count: int, token: str | None, limit: int) -> tuple[int, int, str | None]:
    """``(first, stop, next token)`` of one page of ``count`` listed items (describe calls);
    the token is the offset of the next page."""
    first = 0
    if token is not None:
        try:
            first = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise invalid("The specified nextToken is invalid.") from None
    stop = min(count, first + limit)
    more = stop < count
    return first, stop, base64.urlsafe_b64encode(str(stop).encode()).decode() if more else None
