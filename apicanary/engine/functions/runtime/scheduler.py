"""Admission by CPU demand: when an invocation may start (the decision is in :mod:`.policy`).

Every running invocation holds a :class:`Slot` charged with its expected demand share; the
scheduler keeps their sum. An invocation that may not start waits in a queue. Waiters are
woken in arrival order when demand drops: an invocation ending, or the periodic re-measure
(every ``tick_s`` while anyone waits, each invocation over at least ``WINDOW_S``) finding
that a running invocation is not using the CPU it was charged for (a handler that sleeps on
I/O after a version's fast calls taught the scheduler to expect CPU); what a running handler
is measured to want also teaches its version's estimate, so the waiters of a version that
turns out to wait on I/O all start within a window or two of its first invocations' init. The
first waiter that does not fit reserves its share, so a stream of cheaper arrivals cannot
starve it.

With ``enabled=False`` (no schedstat on this platform, or the fixed-workers policy) every
invocation starts at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Protocol

from apicanary.engine.functions.runtime.cpuprobe import CpuProbe
from apicanary.engine.functions.runtime.policy import ShareEstimate, demand_share, may_start

TICK_S = 0.01
WINDOW_S = 0.05
"""Shortest interval a running invocation is re-measured over: the kernel brings a running
task's schedstat up to date only at scheduler ticks (every 1-10 ms), so a shorter window
could see a computing worker at 0."""


class Estimated(Protocol):
    """What the scheduler asks of a pool: its version's expected share."""

    estimate: ShareEstimate


class Slot:
    """One running invocation's charge, re-measured from its worker's probe when attached."""

    __slots__ = ("charge", "learner", "mark_demand_s", "mark_wall_s", "probe")

    def __init__(self, charge: float) -> None:
        self.charge = charge
        self.probe: CpuProbe | None = None
        self.learner: Estimated | None = None
        self.mark_demand_s: float | None = None
        self.mark_wall_s = 0.0

    def attach(self, probe: CpuProbe | None, learner: Estimated | None = None) -> None:
        """The worker now running this invocation (live re-measure starts from here).

        ``learner``: the pool whose estimate the live measurements also teach, once the
        handler runs (not during init, whose CPU says nothing about the handler)."""
        self.probe = probe
        self.learner = learner
        self.mark_demand_s = None


class _Waiter:
    __slots__ = ("future", "source")

    def __init__(self, source: Estimated, future: asyncio.Future[Slot]) -> None:
        self.source = source
        self.future = future


class CpuScheduler:
    """Admits invocations while the running ones' CPU demand leaves room on ``cores``."""

    def __init__(self, cores: int, *, enabled: bool, tick_s: float = TICK_S) -> None:
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
        if not self._waiters and (
            not self.enabled
            or may_start(share, self._demand, self.cores, unknown_share=self._unknown_share)
        ):
            return self._start(share)
        loop = asyncio.get_running_loop()
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
        reserved = 0.0
        for waiter in list(self._waiters):
            share = waiter.source.estimate.share
            if may_start(
                share, self._demand + reserved, self.cores, unknown_share=self._unknown_share
            ):
                self._waiters.remove(waiter)
                waiter.future.set_result(self._start(share))
            elif not reserved:
                reserved = self._unknown_share if share is None else share

    def _forget(self, waiter: _Waiter) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)
            self._wake()  # it may have been the reserving head

    def _mark_running(self) -> None:
        """Start measuring running invocations that have no baseline yet."""
        now = time.perf_counter()
        for slot in self._running:
            if slot.probe is not None and slot.mark_demand_s is None:
                slot.mark_demand_s = slot.probe.read()
                slot.mark_wall_s = now

    def _tick(self) -> None:
        """Re-charge running invocations with what they wanted since the last tick."""
        self._timer = None
        if not self._waiters:
            return
        now = time.perf_counter()
        total = 0.0
        for slot in self._running:
            probe = slot.probe
            if probe is not None:
                current = probe.read()
                if current is not None:
                    if slot.mark_demand_s is None:
                        slot.mark_demand_s, slot.mark_wall_s = current, now
                    elif now - slot.mark_wall_s >= WINDOW_S:
                        demand_s, wall_s = current - slot.mark_demand_s, now - slot.mark_wall_s
                        slot.charge = demand_share(demand_s, wall_s)
                        if slot.learner is not None:
                            slot.learner.estimate = slot.learner.estimate.add(demand_s, wall_s)
                        slot.mark_demand_s, slot.mark_wall_s = current, now
            total += slot.charge
        self._demand = total
        self._wake()
        if self._waiters:
            self._timer = asyncio.get_running_loop().call_later(self._tick_s, self._tick)
