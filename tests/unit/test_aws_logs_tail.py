"""The Live Tail session manager: renewed before the session limit, reconnected after an
error, stopped for good when access is denied; every break reported for the gap filler."""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from apicanary.platform.aws.logs.tail import Break, Connected, TailSession, Update


def _update(message: str, sampled: bool = False) -> dict[str, Any]:
    result = {
        "logStreamName": "2026/12/02/[2]abc",
        "logGroupIdentifier": "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/fn",
        "message": message,
        "timestamp": 1_000,
        "ingestionTime": 1_500,
    }
    return {"sessionUpdate": {"sessionMetadata": {"sampled": sampled}, "sessionResults": [result]}}


class Stream:
    def __init__(self, items: list[dict[str, Any]], fail: Exception | None = None) -> None:
        self.items, self.fail, self.closed = items, fail, False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield from self.items
        if self.fail is not None:
            raise self.fail
        while not self.closed:  # an open session with nothing new
            time.sleep(0.01)

    def close(self) -> None:
        self.closed = True


class FakeLogs:
    def __init__(self, streams: list[Stream | Exception]) -> None:
        self.streams = streams
        self.calls: list[list[str]] = []

    def start_live_tail(self, logGroupIdentifiers: list[str]) -> dict[str, Any]:
        self.calls.append(logGroupIdentifiers)
        item = self.streams.pop(0) if self.streams else Stream([])
        if isinstance(item, Exception):
            raise item
        return {"responseStream": item}


def drain(session: TailSession, count: int) -> list[Any]:
    got: list[Any] = []
    deadline = time.monotonic() + 10
    while len(got) < count and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            got.append(session.messages.get(timeout=0.1))
    return got


def test_error_then_reconnect_and_sampled_updates_are_reported() -> None:
    broken = ClientError(
        {"Error": {"Code": "SessionStreamingException", "Message": "stream broke"}}, "StartLiveTail"
    )
    logs = FakeLogs(
        [
            Stream([{"sessionStart": {}}, _update("a")], fail=broken),
            Stream([{"sessionStart": {}}, _update("b", sampled=True)]),
        ]
    )
    session = TailSession(logs, ["arn:g"]).start()
    try:
        got = drain(session, 5)
    finally:
        session.stop()
    kinds = [type(m).__name__ for m in got]
    assert kinds == ["Connected", "Update", "Break", "Connected", "Update"], got
    assert isinstance(got[2], Break) and "stream broke" in got[2].reason
    first, second = got[1], got[4]
    assert isinstance(first, Update) and first.events[0].message == "a" and not first.sampled
    assert isinstance(second, Update) and second.sampled
    assert first.events[0].group == "/aws/lambda/fn" and first.events[0].delay_ms == 500
    assert logs.calls == [["arn:g"], ["arn:g"]]


def test_session_renewed_at_its_age_limit() -> None:
    clock = [0.0]
    logs = FakeLogs([Stream([{"sessionStart": {}}, _update("a"), _update("b")])])

    def wall() -> float:
        clock[0] += 60.0  # each look at the clock: a minute later
        return clock[0]

    session = TailSession(logs, ["arn:g"], wall=wall, max_session_s=150.0).start()
    try:
        got = drain(session, 3)
        deadline = time.monotonic() + 5
        while len(logs.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        session.stop()
    assert isinstance(got[0], Connected)
    breaks = [m for m in got if isinstance(m, Break)]
    assert breaks and "renewed before the 3-hour limit" in breaks[0].reason
    assert len(logs.calls) == 2  # a new session at once, no back-off


def test_access_denied_stops_for_good() -> None:
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "StartLiveTail"
    )
    logs = FakeLogs([denied])
    session = TailSession(logs, ["arn:g"]).start()
    got = drain(session, 1)
    session.stop()
    assert isinstance(got[0], Break) and not session.alive
    assert session.unavailable is not None and "AccessDeniedException" in session.unavailable
    assert len(logs.calls) == 1
