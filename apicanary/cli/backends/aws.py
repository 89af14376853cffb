"""The AWS backend of the CLI: the controller runs in this process against AWS via boto3.

Its journal lives in ``<state-dir>/aws`` (SQLite), so ``rollout status|abort|pause`` from
another terminal on the same machine see and steer the rollout. Two records live on AWS
itself, so that any machine can take over: the marker in the alias description
(``platform/marker.py``) and the rollout's state in CloudWatch Logs
(``platform/aws/rollout_log.py``), written at the start and on every change of status, phase,
step or weight. :meth:`AwsBackend.adopt` reads the latter back on a machine without the
journal (``apicanary rollout resume --backend aws -f F -a A``) and the controller drives the
rollout on, re-reading its evidence from the logs since its start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apicanary.cli.backends.base import Document, OnTick
from apicanary.clock import SystemClock
from apicanary.errors import ApicanaryError, BadInputError
from apicanary.platform.aws.logs.reader import cursor_at
from apicanary.platform.aws.platform import AwsPlatform
from apicanary.platform.aws.rollout_log import RolloutLog, recorded_part, target_prefix
from apicanary.platform.aws.telemetry import DEFAULT_DELAY_S
from apicanary.rollout import lease
from apicanary.rollout.adopt import adopted_document
from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal
from apicanary.rollout.service import start_rollout
from apicanary.rollout.target import RolloutTarget
from apicanary.rollout.views import with_view
from apicanary.store import Store

TICK_S = 1.0
# fields that change on every tick without the rollout changing: not a reason to record
_VOLATILE = ("updatedAt", "nextWake", "lastError", "leaseUntil")


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
        logs = self.platform.clients.logs
        self.record = RolloutLog(logs) if logs is not None else None
        self.record_error: str | None = None
        self._recorded: dict[str, str] = {}

    def start(self, request: Mapping[str, Any]) -> Document:
        document = start_rollout(self.controller, self.platform, request)
        self._record(document)
        return self._public(document)

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
        def tick(document: dict[str, Any]) -> None:
            self._record(document)
            on_tick(self._public(document))

        try:
            while True:  # Controller.run_until_done, waking early when evidence arrives
                document = self.controller.reconcile(rollout_id)
                tick(document)
                if document.get("terminal"):
                    return self._public(document)
                self.platform.wait_for_evidence(TICK_S)
        finally:
            self.platform.close()

    def adopt(
        self,
        *,
        function: str | None,
        alias: str,
        api: str | None = None,
        stage: str | None = None,
    ) -> Document:
        """The rollout recorded on AWS for ``function:alias`` (or the stage ``api``/``stage``),
        in this machine's journal, ready to be driven.

        The alias marker, when there is one, names the rollout; otherwise the newest record
        of the target is taken. A rollout already in this journal is taken as it is. Taking
        over is not approving: a paused rollout, or one waiting for an approval, stays so
        until ``rollout resume ROLLOUT_ID`` says otherwise.
        """
        if self.record is None:
            raise BadInputError("resuming from AWS needs the CloudWatch Logs client")
        rollout_id: str | None = None
        if api and stage:
            prefix = target_prefix({"mode": "stage", "apiId": self.platform.find_api(api),
                                    "stage": stage})  # fmt: skip
            where = f"stage {api}/{stage}"
        elif function:
            prefix = target_prefix({"mode": "alias", "function": function, "alias": alias})
            where = f"{function}:{alias}"
            marker = lease.judge(
                self.platform.get_alias(function, alias).description, self.clock.now()
            ).marker
            rollout_id = marker.rollout_id if marker is not None else None
        else:
            raise BadInputError("give --function/--alias, or --api and --stage")
        recorded = self.record.latest(prefix, rollout_id)
        if recorded is None:
            hint = "apicanary rollout abort --backend aws -f F -a A rolls a marked alias back"
            raise BadInputError(f"no rollout of {where} is recorded on AWS", hint=hint)
        document = recorded.document
        try:
            stored = self.journal.load(str(document["id"])).document
        except BadInputError:
            stored = None
        if stored is None:
            now = self.clock.now()
            adopted = adopted_document(document, now, cursor_at(float(document["createdAt"])))
            target_key = RolloutTarget.from_dict(adopted["target"]).key
            self.journal.create(
                adopted["id"], target_key, adopted, at=now,
                message=f"resumed from its record on AWS ({recorded.stream}); "
                "the evidence since its start is read again from the logs",
            )  # fmt: skip
            stored = adopted
            self._recorded[adopted["id"]] = _fingerprint(adopted)
        return self._public(stored)

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

    def _record(self, document: Mapping[str, Any]) -> None:
        """Write the rollout's state to AWS when it changed. A failure is kept, not raised:
        the rollout itself must not stop because its record cannot be written."""
        if self.record is None:
            return
        fingerprint = _fingerprint(document)
        if self._recorded.get(document["id"]) == fingerprint:
            return
        try:
            self.record.write(document, int(self.clock.now() * 1000))
        except ApicanaryError as error:
            self.record_error = str(error)
            return
        self._recorded[document["id"]] = fingerprint

    def _public(self, document: Mapping[str, Any]) -> Document:
        return with_view(document, self.clock.now())


def _fingerprint(document: Mapping[str, Any]) -> str:
    part = {k: v for k, v in recorded_part(document).items() if k not in _VOLATILE}
    return json.dumps(part, sort_keys=True, default=str)
