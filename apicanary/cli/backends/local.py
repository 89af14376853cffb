"""The local backend of the CLI: a running ``apicanary serve`` does the work; the commands
only read its ``/_apicanary`` API and write intents to it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from apicanary.cli.backends.base import Document, OnTick
from apicanary.cli.client import ControlClient
from apicanary.errors import BadInputError

POLL_S = 0.5


class LocalBackend:
    name = "local"
    waits_by_default = False

    def __init__(self, control_url: str | None) -> None:
        self._url = control_url
        self._client: ControlClient | None = None

    @property
    def client(self) -> ControlClient:
        if self._client is None:  # connect on first use: --help never needs a server
            self._client = ControlClient(self._url)
        return self._client

    def start(self, request: Mapping[str, Any]) -> Document:
        return dict(self.client.post("/_apicanary/rollouts", dict(request)))

    def get(self, rollout_id: str) -> Document:
        return dict(self.client.get(f"/_apicanary/rollouts/{rollout_id}"))

    def list_all(self) -> list[Document]:
        return list(self.client.get("/_apicanary/rollouts")["rollouts"])

    def events(self, rollout_id: str) -> list[dict[str, Any]]:
        return list(self.client.get(f"/_apicanary/rollouts/{rollout_id}/events")["events"])

    def intent(self, rollout_id: str, kind: str) -> Document:
        body = {"kind": kind}
        return dict(self.client.post(f"/_apicanary/rollouts/{rollout_id}/intents", body))

    def drive(self, rollout_id: str, on_tick: OnTick) -> Document:
        while True:
            document = self.get(rollout_id)
            on_tick(document)
            if document.get("terminal"):
                return document
            time.sleep(POLL_S)

    def alias_marker(self, function: str, alias: str) -> dict[str, Any] | None:
        return None

    def abort_by_alias(self, function: str, alias: str) -> dict[str, Any]:
        raise BadInputError("give a ROLLOUT_ID (or --backend aws --function F --alias A)")

    def adopt(
        self, *, function: str | None, alias: str, api: str | None = None, stage: str | None = None
    ) -> Document:
        raise BadInputError(
            "give a ROLLOUT_ID: the local server keeps its own rollouts",
            hint="--function/--api without an id resumes a rollout recorded on AWS (--backend aws)",
        )
