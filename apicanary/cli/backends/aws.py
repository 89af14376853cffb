"""The AWS backend of the CLI: the controller runs in this process against AWS via boto3.

Its journal lives in ``<state-dir>/aws`` (SQLite), so ``rollout status|abort|pause`` from
another terminal on the same machine see and steer the rollout; the alias description also
carries a marker (``platform/marker.py``) so other machines can find it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apicanary.cli.backends.base import Document, OnTick
from apicanary.clock import SystemClock
from apicanary.platform.aws.platform import AwsPlatform
from apicanary.platform.aws.telemetry import DEFAULT_DELAY_S
from apicanary.rollout import lease
from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal
from apicanary.rollout.service import start_rollout
from apicanary.rollout.views import with_view
from apicanary.store import Store

TICK_S = 1.0


class AwsBackend:
    name = "aws"
    waits_by_default = True

    def __init__(
        self,
        *,
        state_dir: Path,
        region: str | None,
        profile: str | None,
        endpoint_url: str | None,
        telemetry_delay_s: float | None = None,
    ) -> None:
        self.clock = SystemClock()
        delay = DEFAULT_DELAY_S if telemetry_delay_s is None else telemetry_delay_s
        self.platform = AwsPlatform.connect(
            region=region, profile=profile, endpoint_url=endpoint_url, clock=self.clock,
            telemetry_delay_s=delay,
        )  # fmt: skip
        self.journal = Journal(Store(state_dir / "aws"))
        self.controller = Controller(self.journal, self.platform, self.clock)

    def start(self, request: Mapping[str, Any]) -> Document:
        return self._public(start_rollout(self.controller, self.platform, request))

    def get(self, rollout_id: str) -> Document:
        return self._public(self.journal.load(rollout_id).document)

    def list_all(self) -> list[Document]:
        return [self._public(s.document) for s in self.journal.rollouts()]

    def events(self, rollout_id: str) -> list[dict[str, Any]]:
        stored = self.journal.load(rollout_id)
        return [e.to_dict() for e in self.journal.events(stored.id)]

    def intent(self, rollout_id: str, kind: str) -> Document:
        return self._public(self.controller.request(rollout_id, kind))

    def drive(self, rollout_id: str, on_tick: OnTick) -> Document:
        final = self.controller.run_until_done(
            rollout_id, tick_s=TICK_S, on_tick=lambda doc: on_tick(self._public(doc))
        )
        return self._public(final)

    def alias_marker(self, function: str, alias: str) -> dict[str, Any] | None:
        description = self.platform.get_alias(function, alias).description
        state = lease.judge(description, self.clock.now())
        marker = state.marker
        return {
            "function": function,
            "alias": alias,
            "state": state.judgement,
            "reason": state.reason,
            "marker": None if marker is None else {
                "rolloutId": marker.rollout_id, "toVersion": marker.to_version,
                "fromVersion": marker.from_version, "weight": marker.weight,
                "expiresAt": marker.expires_at,
            },
        }  # fmt: skip

    def abort_by_alias(self, function: str, alias: str) -> dict[str, Any]:
        return self.controller.abort_by_alias(function, alias)

    def _public(self, document: Mapping[str, Any]) -> Document:
        return with_view(document, self.clock.now())
