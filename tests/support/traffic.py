"""Clients in threads, sending real HTTP requests to a gateway and counting what they got
per executed version (``x-apicanary-executed-version``): what a rollout's evidence must
equal, request for request."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from apicanary.server.process import ServerProcess

VERSION_HEADER = "x-apicanary-executed-version"
REQUEST_ID_HEADER = "x-amzn-RequestId"


@dataclass
class Seen:
    """Per version: answers, and 5xx answers (with their request ids), that clients received."""

    answers: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    failed_ids: dict[str, set[str]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    unanswered: int = 0  # connection errors: no answer, no version
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, version: str | None, status: int, request_id: str | None = None) -> None:
        with self.lock:
            if version is None:
                self.unanswered += 1
                return
            self.answers[version] += 1
            self.statuses[status] += 1
            if status >= 500:
                self.failures[version] += 1
                if request_id is not None:
                    self.failed_ids.setdefault(version, set()).add(request_id)

    def record(self, answer: httpx.Response) -> None:
        """Count one answer by its ``x-apicanary-executed-version`` and ``x-amzn-RequestId``."""
        headers = answer.headers
        self.add(headers.get(VERSION_HEADER), answer.status_code, headers.get(REQUEST_ID_HEADER))


class Traffic:
    """``clients`` threads, each sending ``path_for(n)`` in turn until stopped. ``url`` is the
    base URL, or a function giving it (a server restarted on new ports)."""

    def __init__(
        self,
        url: str | Callable[[], str],
        path_for: Callable[[int], str],
        *,
        clients: int = 4,
        pause_s: float = 0.0,
    ) -> None:
        self.url = url if callable(url) else (lambda: str(url))
        self.path_for = path_for
        self.pause_s = pause_s
        self.seen = Seen()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(index, clients), daemon=True)
            for index in range(clients)
        ]

    def start(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> Seen:
        """Stop and wait for every request sent to be answered."""
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        return self.seen

    def _client(self, index: int, clients: int) -> None:
        n = index
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    self.seen.record(client.get(self.url().rstrip("/") + self.path_for(n)))
                except httpx.HTTPError:
                    self.seen.add(None, 0)
                    self._stop.wait(0.05)  # the server is down: do not spin
                n += clients
                if self.pause_s:
                    self._stop.wait(self.pause_s)


class SteadyGets:
    """GET ``path`` through ``server``'s gateway every 20 ms in a thread, until the block ends
    (dashboards get something to draw, rollouts something to judge). ``api``: the API to
    select by ``Host`` (``None``: the server's only API)."""

    def __init__(self, server: ServerProcess, path: str, api: str | None = None) -> None:
        headers = {} if api is None else {"Host": f"{server.api_id(api)}.execute-api.localhost"}
        self._client = httpx.Client(base_url=server.gateway_url, headers=headers)
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            with contextlib.suppress(httpx.HTTPError):
                self._client.get(self._path, timeout=5)

    def __enter__(self) -> SteadyGets:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._client.close()
