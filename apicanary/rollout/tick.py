"""One tick's context: the rollout being changed, the typed parts it is judged with, the
handles it acts through, and the journal events it produces.

Every ``reconcile_*`` step of the controller, every step runner (``steps.py``) and every
action (``actions.py``) takes this one object instead of passing the same values around.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apicanary.platform.base import Platform
from apicanary.rollout.analysis.canary import CanaryAnalysis
from apicanary.rollout.hooks import Webhooks
from apicanary.rollout.routers import Router
from apicanary.rollout.state import RolloutState
from apicanary.rollout.strategy.types import Strategy
from apicanary.rollout.target import RolloutTarget

JournalEvent = tuple[str, str, dict[str, Any]]
"""(kind, message, data), appended to the journal with the state that explains it."""


@dataclass(slots=True)
class Tick:
    state: RolloutState
    analysis: CanaryAnalysis
    router: Router
    platform: Platform
    webhooks: Webhooks
    now: float
    events: list[JournalEvent] = field(default_factory=list)

    @property
    def strategy(self) -> Strategy:
        return self.state.strategy

    @property
    def target(self) -> RolloutTarget:
        return self.state.target

    def record(self, kind: str, message: str, **data: Any) -> None:
        """Journal an event with this tick's state."""
        self.events.append((kind, message, data))


__all__ = ["JournalEvent", "Tick"]
