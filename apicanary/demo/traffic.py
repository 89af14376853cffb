"""Steady synthetic traffic over the example's routes, recording every answer.

``Traffic.run`` sends requests at a fixed rate (paced on a schedule, so a slow answer does
not lower the rate) with a few concurrent connections, and records, for each one, when it
was sent, the status, the latency and the version that served it (the local gateway's
``x-apicanary-executed-version``, present on errors too).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from dataclasses import dataclass, field

import httpx

# (method, path, json body) with weights: the mix a small orders service might see
ROUTES: tuple[tuple[str, str, dict[str, object] | None, int], ...] = (
    ("GET", "/orders", None, 30),
    ("GET", "/orders/1001", None, 15),
    ("GET", "/orders/1002", None, 15),
    ("GET", "/orders/1003", None, 15),
    ("POST", "/orders", {"item": "espresso cups", "quantity": 2}, 15),
    ("GET", "/health", None, 10),
)


@dataclass(frozen=True, slots=True)
class Answer:
    at: float  # seconds since the traffic started
    route: str
    status: int
    latency_ms: float
    version: str | None


@dataclass
class Traffic:
    base_url: str  # the stage URL, e.g. http://127.0.0.1:3000/Prod
    rate: float = 60.0  # requests per second
    connections: int = 6
    seed: int = 7
    answers: list[Answer] = field(default_factory=list)
    started: float = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Send requests until ``stop`` is set."""
        rng = random.Random(self.seed)
        choices = [route for route in ROUTES for _ in range(route[3])]
        self.started = time.monotonic()
        interval = 1.0 / self.rate
        queue: asyncio.Queue[tuple[str, str, dict[str, object] | None]] = asyncio.Queue(64)
        limits = httpx.Limits(max_connections=self.connections)
        async with httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=10) as client:
            workers = [
                asyncio.create_task(self._worker(client, queue)) for _ in range(self.connections)
            ]
            for tick in itertools.count():
                if stop.is_set():
                    break
                method, path, body, _ = rng.choice(choices)
                # the server is slower than the rate: drop, never pile up
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait((method, path, body))
                delay = self.started + (tick + 1) * interval - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=delay)
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(
        self,
        client: httpx.AsyncClient,
        queue: asyncio.Queue[tuple[str, str, dict[str, object] | None]],
    ) -> None:
        while True:
            method, path, body = await queue.get()
            sent = time.monotonic()
            try:
                response = await client.request(method, path, json=body)
                status = response.status_code
                version = response.headers.get("x-apicanary-executed-version")
            except httpx.HTTPError:
                status, version = 599, None  # no answer at all: counted as a failure
            self.answers.append(
                Answer(
                    at=sent - self.started,
                    route=f"{method} {path}",
                    status=status,
                    latency_ms=(time.monotonic() - sent) * 1000,
                    version=version,
                )
            )

    def since(self, seconds: float) -> list[Answer]:
        return [a for a in self.answers if a.at >= seconds]
