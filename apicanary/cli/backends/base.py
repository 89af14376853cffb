"""What the rollout commands need from a backend: one small protocol, two implementations
(``local.py``: a running ``apicanary serve``; ``aws.py``: a controller in this process).

Every document returned is the rollout's public JSON document with its ``view``
(``rollout/views.py``), whichever backend produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

Document = dict[str, Any]
OnTick = Callable[[Document], None]


class RolloutBackend(Protocol):
    name: str
    waits_by_default: bool  # `rollout start` blocks unless --no-wait (the controller is here)

    def start(self, request: Mapping[str, Any]) -> Document: ...

    def get(self, rollout_id: str) -> Document: ...

    def list_all(self) -> list[Document]:
        """Every rollout, newest first."""
        ...

    def events(self, rollout_id: str) -> list[dict[str, Any]]: ...

    def intent(self, rollout_id: str, kind: str) -> Document:
        """Record a human intent; returns the rollout as it was before it is acted on."""
        ...

    def drive(self, rollout_id: str, on_tick: OnTick) -> Document:
        """Wait for the rollout to end, passing each new state to ``on_tick``."""
        ...

    def alias_marker(self, function: str, alias: str) -> dict[str, Any] | None:
        """Who is shifting ``function:alias`` according to its marker; None where the backend
        keeps no markers (local: the server knows its own rollouts)."""
        ...

    def abort_by_alias(self, function: str, alias: str) -> dict[str, Any]:
        """Roll back the rollout whose marker is on ``function:alias`` (AWS only)."""
        ...

    def adopt(
        self, *, function: str | None, alias: str, api: str | None = None, stage: str | None = None
    ) -> Document:
        """Take over the rollout recorded for the target on the platform itself (AWS only:
        a machine without the journal resumes it)."""
        ...
