"""A controller over a :class:`FakePlatform`, a real SQLite journal and a virtual clock:
decision tests in milliseconds, no workers, no HTTP."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from apicanary.clock import VirtualClock
from apicanary.model import Invocation
from apicanary.platform.base import AliasState, HookResult
from apicanary.platform.fake import FakePlatform
from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal
from apicanary.rollout.service import start_rollout
from apicanary.store import Store

T0 = 1_700_000_000.0

# an indefinite pause, then a timed one: resuming the first leaves the rollout running
HOLD = {"steps": [{"setWeight": 20}, {"pause": {}}]}
TIMED = {"steps": [{"setWeight": 20}, {"pause": {"duration": "10m"}}]}
HOLD_THEN_TIMED = {"steps": [{"setWeight": 20}, {"pause": {}}, {"pause": {"duration": "10m"}}]}
ANALYSED = {
    "steps": [{"setWeight": 20}, {"analysis": {}}, {"setWeight": 50}, {"analysis": {}}],
    "analysis": {"minDwell": "30s", "maxExtension": "2m", "onUnverified": "promote-unverified"},
}


class RecordingWebhooks:
    """Webhooks that answer as told and remember what they were sent."""

    def __init__(self) -> None:
        self.answer = HookResult(True, "webhook answered 200")
        self.calls: list[tuple[str, dict[str, Any], float]] = []
        self.notes: list[tuple[tuple[str, ...], dict[str, Any]]] = []

    def call(self, url: str, payload: Mapping[str, Any], timeout_s: float) -> HookResult:
        self.calls.append((url, dict(payload), timeout_s))
        return self.answer

    def notify(self, urls: Sequence[str], body: Mapping[str, Any]) -> None:
        self.notes.append((tuple(urls), dict(body)))


class World:
    """Function ``api`` (versions 1-3), alias ``live`` on 1, REST API ``shop`` stage ``prod``."""

    def __init__(
        self, state_dir: Path, *, telemetry: Literal["invocations", "windows"] = "invocations"
    ) -> None:
        self.clock = VirtualClock(T0)
        self.platform = FakePlatform(telemetry=telemetry, now=T0)
        self.platform.add_function("api", versions=3)
        self.platform.add_alias("api", "live", "1")
        self.platform.add_stage("shop", "a1b2c3", "prod", lambdaAlias="live")
        self.journal = Journal(Store(state_dir))
        self.webhooks = RecordingWebhooks()
        self.controller = self.fresh_controller()
        self._ids = itertools.count()

    def fresh_controller(self) -> Controller:
        """A controller as after a restart: same journal and platform, nothing in memory."""
        return Controller(self.journal, self.platform, self.clock, webhooks=self.webhooks)

    def start(self, strategy: Any = TIMED, **request: Any) -> str:
        base = {"function": "api", "alias": "live", "toVersion": "2", "strategy": strategy}
        return str(start_rollout(self.controller, self.platform, base | request)["id"])

    def traffic(
        self, canary: int = 0, stable: int = 0, *, canary_failures: int = 0, ms: float = 10.0
    ) -> None:
        """``canary`` and ``stable`` requests, interleaved; the first ``canary_failures`` of
        the canary's fail."""
        records = []
        for index in range(max(canary, stable)):
            if index < stable:
                records.append(self._invocation(False, False, ms))
            if index < canary:
                records.append(self._invocation(True, index < canary_failures, ms))
        self.platform.send(records)

    def tick(
        self,
        rollout_id: str,
        seconds: float = 10.0,
        *,
        controller: Controller | None = None,
        **traffic: Any,
    ) -> dict[str, Any]:
        """Requests (``traffic``), then ``seconds`` pass, then one tick."""
        if traffic:
            self.traffic(**traffic)
        self.clock.advance(seconds)
        self.platform.now = self.clock.now()
        return (controller or self.controller).reconcile(rollout_id)

    def run(self, rollout_id: str, max_ticks: int = 100, **kw: Any) -> dict[str, Any]:
        """Tick until the rollout ends or waits for a human."""
        for _ in range(max_ticks):
            doc = self.tick(rollout_id, **kw)
            if doc["terminal"] or doc["status"] in ("waiting", "paused"):
                return doc
        raise AssertionError(f"rollout {rollout_id} still {doc['status']} after {max_ticks} ticks")

    def ask(self, rollout_id: str, kind: str) -> None:
        self.controller.request(rollout_id, kind)

    def alias(self) -> AliasState:
        return self.platform.get_alias("api", "live")

    def events(self, rollout_id: str) -> list[tuple[str, str]]:
        return [(e.kind, e.message) for e in self.journal.events(rollout_id)]

    def kinds(self, rollout_id: str) -> list[str]:
        return [kind for kind, _ in self.events(rollout_id)]

    def _invocation(self, canary: bool, failed: bool, ms: float) -> Invocation:
        return Invocation(canary, failed, ms, request_id=f"r{next(self._ids)}")
