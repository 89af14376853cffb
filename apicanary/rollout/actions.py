"""Ending a release: promote or roll back, traffic first, bookkeeping second.

Each action first makes the platform say what it should (an absolute, read-back write through
the router) and only then records the outcome in the state and the journal: if the write
fails, the state still says what is really in force and the next tick repeats the write.
"""

from __future__ import annotations

from typing import Any

from apicanary.errors import BadInputError
from apicanary.platform.base import Platform
from apicanary.platform.marker import Marker
from apicanary.rollout import lease
from apicanary.rollout.routers import AliasRouter
from apicanary.rollout.state import Status
from apicanary.rollout.tick import Tick


def promote(tick: Tick) -> None:
    """The canary becomes the version every request gets; the rollout ends promoted."""
    tick.router.promote()
    state, target = tick.state, tick.target
    unverified = " (unverified: the guard could not confirm it)" if state.unverified else ""
    state.end(Status.PROMOTED, "promoted" + unverified, tick.now, share=100.0)
    tick.record(
        "promoted",
        f"{target.function}:{target.alias} now serves {target.to_version}"
        + (" (unverified)" if state.unverified else ""),
        unverified=state.unverified,
    )


def roll_back(tick: Tick, reason: str, status: Status = Status.ROLLED_BACK) -> None:
    """Every request goes to the stable version again; the rollout ends with ``status``."""
    tick.router.rollback()
    tick.state.end(status, reason, tick.now, share=0.0)
    tick.record(status.value, f"rolled back: {reason}", reason=reason)


def roll_back_marker(platform: Platform, function: str, alias: str, marker: Marker) -> None:
    """Put ``function:alias`` back on the marker's ``from`` version, marker removed."""
    AliasRouter(platform, function, alias, marker.from_version, marker.to_version).rollback()


def abort_by_alias(platform: Platform, now: float, function: str, alias: str) -> dict[str, Any]:
    """Roll back whatever rollout marker is on ``function:alias`` (from any machine)."""
    current = platform.get_alias(function, alias)
    state = lease.judge(current.description, now)
    if state.marker is None:
        raise BadInputError(f"alias {function}:{alias} carries no rollout marker")
    roll_back_marker(platform, function, alias, state.marker)
    return {
        "rolloutId": state.marker.rollout_id,
        "function": function,
        "alias": alias,
        "rolledBackTo": state.marker.from_version,
        "wasAbandoned": state.judgement == "abandoned",
    }


__all__ = ["abort_by_alias", "promote", "roll_back", "roll_back_marker"]
