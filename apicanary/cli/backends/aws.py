"""The AWS backend of the CLI: the controller runs in this process against AWS via boto3.

Its journal lives in ``<state-dir>/aws`` (SQLite), so ``rollout status|abort|pause`` from
another terminal on the same machine see and steer the rollout; the alias description also
carries a marker (``platform/marker.py``) so other machines can find it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from apicanary.clock import SystemClock
from apicanary.platform.aws.platform import AwsPlatform
from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal
from apicanary.rollout.service import start_rollout
from apicanary.store import Store


class AwsBackend:
    def __init__(
        self,
        *,
        state_dir: Path,
        region: str | None,
        profile: str | None,
        endpoint_url: str | None,
    ) -> None:
        clock = SystemClock()
        self.platform = AwsPlatform.connect(
            region=region, profile=profile, endpoint_url=endpoint_url, clock=clock
        )
        self.journal = Journal(Store(state_dir / "aws"))
        self.controller = Controller(self.journal, self.platform, clock)

    def start(self, request: dict[str, Any]) -> dict[str, Any]:
        return start_rollout(self.controller, self.platform, request)

    def get(self, rollout_id: str) -> dict[str, Any]:
        return self.journal.load(rollout_id).document

    def list_all(self) -> list[dict[str, Any]]:
        return [s.document for s in self.journal.rollouts()]

    def events(self, rollout_id: str) -> list[dict[str, Any]]:
        stored = self.journal.load(rollout_id)
        return [e.to_dict() for e in self.journal.events(stored.id)]

    def intent(self, rollout_id: str, kind: str) -> dict[str, Any]:
        return self.controller.request(rollout_id, kind)

    def run(self, rollout_id: str, on_tick: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        return self.controller.run_until_done(rollout_id, tick_s=1.0, on_tick=on_tick)
