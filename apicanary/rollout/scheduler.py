"""Tick every active rollout, forever, from the server's event loop: every ``tick_s`` for
time-based steps, and at once when poked (a start, an intent, or a failed request: evidence is
pushed, so a crossing is acted on as it arrives, not at the next round).

Each tick of each rollout runs in a worker thread (the controller's platform calls block), one
rollout at a time, so the gateway's event loop never waits on the controller. A tick that
raises is logged and retried on the next round: a crash of the scheduler task itself is the
only thing that stops rollouts, and a restarted server resumes them from the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal

log = logging.getLogger("apicanary.rollout")


class Scheduler:
    def __init__(self, controller: Controller, journal: Journal, *, tick_s: float = 0.25) -> None:
        self.controller = controller
        self.journal = journal
        self.tick_s = tick_s
        self.wakeup = asyncio.Event()

    def poke(self) -> None:
        """Tick now (after a start, an intent, or evidence that may cross a test) rather than
        at the next round. Called on the event loop."""
        self.wakeup.set()

    async def run(self) -> None:
        while True:
            # cleared before the round: a poke during it starts the next round at once
            self.wakeup.clear()
            for stored in await asyncio.to_thread(self.journal.rollouts, active_only=True):
                try:
                    await asyncio.to_thread(self.controller.reconcile, stored.id)
                except Exception:  # keep every other rollout moving
                    log.exception("rollout %s: tick failed", stored.id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout=self.tick_s)
