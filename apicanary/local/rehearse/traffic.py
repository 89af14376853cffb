"""The requests a rehearsal sends: one value type for every source, and when each is sent.

Every source — a ``serve --record`` capture, an access log, a HAR file, a hand-written list,
synthetic traffic — yields :class:`TrafficRequest` values: what a client sent and, when the
source knows it, when (``at``, seconds from the first request of the recording). A schedule
turns them into ``(virtual second, request)`` pairs, in order:

* :func:`at_rate`: ``rate`` requests per virtual second, evenly spaced;
* :func:`at_recorded_pace`: the recorded gaps between requests, idle gaps longer than
  ``max_gap_s`` shortened to it (hours of silence would only make the controller tick).

A finite recording is sent again from its start once it ends (recorded order and
proportions kept) until the rollout decides; :class:`Cycler` counts the passes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

#: Longest idle gap kept when replaying at the recorded pace, in seconds.
MAX_GAP_S = 60.0


@dataclass(frozen=True, slots=True)
class TrafficRequest:
    """One request as a client sent it.

    ``path`` is the raw path (with or without the stage prefix until it is placed on an
    API); ``api`` the API's name and ``route`` the matched ``METHOD /resource`` once placed.
    """

    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    at: float | None = None
    api: str | None = None
    route: str | None = None

    def describe(self) -> str:
        """``GET /Prod/quote/ab?x=1``: the request line, for reports."""
        return f"{self.method} {self.path}{'?' + self.query if self.query else ''}"


class Cycler:
    """The requests of a finite recording, again and again; ``passes`` counts started passes."""

    def __init__(self, requests: Sequence[TrafficRequest]) -> None:
        if not requests:
            raise ValueError("a recording to cycle through must hold at least one request")
        self.requests = requests
        self.passes = 0
        self._index = 0

    def __call__(self) -> TrafficRequest:
        if self._index == 0:
            self.passes += 1
        request = self.requests[self._index]
        self._index = (self._index + 1) % len(self.requests)
        return request


def at_rate(
    next_request: Callable[[], TrafficRequest], rate: float
) -> Iterator[tuple[float, TrafficRequest]]:
    """``rate`` requests per virtual second, the ``i``-th at ``i / rate``, forever."""
    if rate <= 0:
        raise ValueError(f"rate {rate} must be > 0")
    for index in itertools.count():
        yield index / rate, next_request()


def recorded_offsets(
    requests: Sequence[TrafficRequest], max_gap_s: float = MAX_GAP_S
) -> tuple[list[float], float]:
    """Each request's send time (from 0) and the period after which the recording repeats.

    Times that go backwards (clocks of several machines, a rotated file) count as no gap.
    The period adds one typical (median) gap after the last request.
    """
    offsets: list[float] = []
    gaps: list[float] = []
    previous: float | None = None
    now = 0.0
    for request in requests:
        at = request.at
        if at is not None and previous is not None:
            gap = min(max(0.0, at - previous), max_gap_s)
            gaps.append(gap)
            now += gap
        if at is not None:
            previous = at if previous is None else max(previous, at)
        offsets.append(now)
    ordered = sorted(gaps)
    typical = ordered[len(ordered) // 2] if ordered else 1.0
    return offsets, now + (typical if typical > 0 else 1.0)


def at_recorded_pace(
    cycler: Cycler, max_gap_s: float = MAX_GAP_S
) -> Iterator[tuple[float, TrafficRequest]]:
    """The recording at its own pace, repeated: pass ``k`` starts at ``k × period``."""
    offsets, period = recorded_offsets(cycler.requests, max_gap_s)
    for cycle in itertools.count():
        for offset in offsets:
            yield cycle * period + offset, cycler()


def has_timestamps(requests: Sequence[TrafficRequest]) -> bool:
    """Whether every request of a recording says when it was sent."""
    return bool(requests) and all(r.at is not None for r in requests)
