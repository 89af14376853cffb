"""Admission by CPU demand: when an invocation may start (the decision is in :mod:`.policy`).

Every running invocation holds a :class:`Slot` charged with its expected CPU share; the
scheduler keeps their sum. An invocation that may not start waits in a queue. Waiters are
woken in arrival order when demand drops: an invocation ending, or the periodic re-measure
(every ``tick_s`` while anyone waits, each invocation over at least ``WINDOW_S``) finding
that a running invocation is not using the CPU it was charged for (a handler that sleeps on
I/O after a version's fast calls taught the scheduler to expect CPU, or a first invocation
that turns out to wait). The first waiter that does not fit reserves its share, so a stream
of cheaper arrivals cannot starve it.

With ``enabled=False`` (no schedstat on this platform, or the fixed-workers policy) every
invocation starts at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Protocol

from apicanary.engine.functions.runtime.cpuprobe import CpuProbe, CpuReading
from apicanary.engine.functions.runtime.policy import (
    LIGHT_SHARE,
    ShareEstimate,
    cpu_share,
    may_start,
)

TICK_S = 0.01
WINDOW_S = 0.05
"""Shortest interval a running invocation is re-measured over: the kernel brings a running
task's schedstat up to date only at scheduler ticks (every 1-10 ms), so a shorter window
could see a computing worker at 0."""


class Estimated(Protocol):
    """What the scheduler asks of a pool: its version's expected share."""

    estimate: ShareEstimate


class Running(Protocol):
    """What the scheduler asks of a worker running an invocation."""

    def answered(self) -> bool: ...


class Slot:
    """One running invocation's charge, re-measured from its worker's probe when attached."""

    __slots__ = ("charge", "mark", "mark_wall_s", "probe", "worker")

    def __init__(self, charge: float) -> None:
        self.charge = charge
        self.probe: CpuProbe | None = None
        self.worker: Running | None = None
        self.mark: CpuReading | None = None
        self.mark_wall_s = 0.0

    def attach(self, worker: Running, probe: CpuProbe | None) -> None:
        """The worker now running this invocation (live re-measure starts from here)."""
        self.worker = worker
        self.probe = probe
        self.mark = None


class _Waiter:
    __slots__ = ("future", "source")

    def __init__(self, source: Estimated, future: asyncio.Future[Slot]) -> None:
        self.source = source
        self.future = future


class CpuScheduler:
    """Admits invocations while the running ones' CPU demand leaves room on ``cores``."""

    def __init__(self, cores: float, *, enabled: bool, tick_s: float = TICK_S) -> None:
        if cores < 1:
            raise ValueError(f"cores {cores} must be >= 1")
        self.cores = cores
        self.enabled = enabled
        self._unknown_share = 1.0 if enabled else 0.0
        self._tick_s = tick_s
        self._demand = 0.0
        self._running: set[Slot] = set()
        self._waiters: deque[_Waiter] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.waits = 0

    @property
    def demand(self) -> float:
        return self._demand

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def admit(self, source: Estimated) -> Slot:
        """A slot for one invocation of ``source``'s version; waits while the CPU is full."""
        share = source.estimate.share
        if not self.enabled or (share is not None and share < LIGHT_SHARE):
            return self._start(share)  # light invocations never wait
        if not self._waiters and may_start(
            share, self._demand, self.cores, unknown_share=self._unknown_share
        ):
            return self._start(share)
        loop = self._loop
        if loop is None or not loop.is_running():
            loop = self._loop = asyncio.get_running_loop()  # a getpid system call on 3.11
        waiter = _Waiter(source, loop.create_future())
        self._waiters.append(waiter)
        self._wake()
        if waiter.future.done():  # it passed the queue (light, or within the head's reserve)
            return waiter.future.result()
        self.waits += 1
        self._mark_running()
        if self._timer is None:
            self._timer = loop.call_later(self._tick_s, self._tick)
        try:
            return await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                self.release(waiter.future.result())
            else:
                self._forget(waiter)
            raise

    def release(self, slot: Slot) -> None:
        """The invocation holding ``slot`` ended (idempotent)."""
        if slot not in self._running:
            return
        self._running.discard(slot)
        self._demand = self._demand - slot.charge if self._running else 0.0
        if self._waiters:
            self._wake()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # --- internals -------------------------------------------------------------------------

    def _start(self, share: float | None) -> Slot:
        slot = Slot(self._unknown_share if share is None else share)
        self._running.add(slot)
        self._demand += slot.charge
        return slot

    def _wake(self) -> None:
        waiters, unknown = self._waiters, self._unknown_share
        while waiters:  # the head, while it fits
            share = waiters[0].source.estimate.share
            if not may_start(share, self._demand, self.cores, unknown_share=unknown):
                break
            waiters.popleft().future.set_result(self._start(share))
        if len(waiters) < 2:
            return
        head = waiters[0].source.estimate.share
        reserved = unknown if head is None else head
        if self._demand + reserved > self.cores:
            return  # no room beside the head (light invocations do not queue): O(1) when full
        kept: deque[_Waiter] = deque([waiters.popleft()])
        while waiters:
            waiter = waiters.popleft()
            share = waiter.source.estimate.share
            if may_start(share, self._demand + reserved, self.cores, unknown_share=unknown):
                waiter.future.set_result(self._start(share))
            else:
                kept.append(waiter)
        self._waiters = kept

    def _forget(self, waiter: _Waiter) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)
            self._wake()  # it may have been the reserving head

    def _mark_running(self) -> None:
        """Start measuring running invocations that have no baseline yet."""
        now = time.perf_counter()
        for slot in self._running:
            if slot.probe is not None and slot.mark is None:
                slot.mark = slot.probe.read()
                slot.mark_wall_s = now

    def _tick(self) -> None:
        """Re-charge running invocations with what they wanted over the last window."""
        self._timer = None
        if not self._waiters:
            return
        now = time.perf_counter()
        total = 0.0
        for slot in self._running:
            self._remeasure(slot, now)
            total += slot.charge
        self._demand = total
        self._wake()
        if self._waiters:
            self._timer = asyncio.get_running_loop().call_later(self._tick_s, self._tick)

    @staticmethod
    def _remeasure(slot: Slot, now: float) -> None:
        probe, worker = slot.probe, slot.worker
        # a worker whose answer waits for the loop is idle but not free: lowering its charge
        # would admit invocations that find no idle environment and start new ones
        if probe is None or worker is None or worker.answered():
            return
        current = probe.read()
        if current is None:
            return
        if slot.mark is None:
            slot.mark, slot.mark_wall_s = current, now
        elif now - slot.mark_wall_s >= WINDOW_S:
            share = cpu_share(*current.since(slot.mark), now - slot.mark_wall_s)
            # runnable now: its wait for a CPU may not be counted yet (see cpuprobe)
            slot.charge = max(share, slot.charge) if probe.runnable() else share
            slot.mark, slot.mark_wall_s = current, now
