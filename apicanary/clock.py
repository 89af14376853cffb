"""Time, injected: every component that reads the time or sleeps takes a :class:`Clock`.

``SystemClock`` is wall time. ``VirtualClock`` only moves when told (tests, rehearsal);
``ScaledClock`` runs strategy time ``scale`` times faster than wall time (``--time-scale``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A source of time. ``now()`` is epoch seconds; ``sleep`` blocks for clock seconds."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    async def asleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Strategy time passing ``scale`` times faster than wall time, starting at ``origin``."""

    def __init__(self, scale: float, origin: float | None = None) -> None:
        if scale <= 0:
            raise ValueError(f"time scale {scale} must be > 0")
        self.scale = scale
        self._wall_origin = time.time()
        self._origin = self._wall_origin if origin is None else origin

    def now(self) -> float:
        return self._origin + (time.time() - self._wall_origin) * self.scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.scale)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds / self.scale))


class VirtualClock:
    """A clock that moves only by ``advance`` (or by ``sleep``, which advances it at once)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a virtual clock cannot go backwards")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    async def asleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
