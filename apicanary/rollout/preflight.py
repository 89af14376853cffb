"""Before a rollout starts: is the target free, in the state the rollout assumes, and quiet?

Refused (``BadInputError`` with a hint): an alias whose marker lease says another controller
is watching it; an alias already split to another version; in alias mode, an alias that does
not serve the ``from`` version; a stage that already has a canary (unless forced); an alarm
of the strategy already in ALARM (unless forced). An alias left half-shifted by an abandoned
rollout (lease expired) is rolled back first, and the journal says so.
"""

from __future__ import annotations

from apicanary.errors import BadInputError
from apicanary.platform.base import Mode, Platform
from apicanary.rollout import actions, lease
from apicanary.rollout.strategy.types import Strategy
from apicanary.rollout.target import RolloutTarget


def check_start(
    platform: Platform, now: float, target: RolloutTarget, strategy: Strategy, *, force: bool
) -> str:
    """Raise if the rollout must not start; returns a note for the journal ("" usually)."""
    alias = platform.get_alias(target.function, target.alias)
    healed = ""
    if target.mode is not Mode.STAGE:
        state = lease.judge(alias.description, now)
        if state.judgement == "watched":
            raise BadInputError(
                f"alias {target.function}:{target.alias}: {state.reason}",
                hint="wait for it, or 'apicanary rollout abort' it where it runs",
            )
        if state.judgement == "abandoned" and state.marker is not None:
            actions.roll_back_marker(platform, target.function, target.alias, state.marker)
            healed = f" (first rolled back abandoned {state.reason.split(' left', 1)[0]})"
            alias = platform.get_alias(target.function, target.alias)
    if alias.canary is not None and alias.canary != target.to_version:
        raise BadInputError(
            f"alias {target.function}:{target.alias} is already split ({alias.primary} + "
            f"{alias.canary} at {alias.weight:.0%})",
            hint="finish or undo that split first (apicanary doctor shows it)",
        )
    if target.mode is Mode.ALIAS and alias.primary != target.from_version:
        raise BadInputError(
            f"alias {target.function}:{target.alias} serves {alias.primary}, not "
            f"{target.from_version}"
        )
    if target.mode is not Mode.ALIAS:
        assert target.api_id and target.stage
        stage = platform.get_stage(target.api_id, target.stage)
        if stage.canary_percent is not None and stage.canary_percent > 0 and not force:
            raise BadInputError(
                f"stage {target.stage} already has a canary at {stage.canary_percent}%",
                hint="remove it, or pass --force to take it over",
            )
    if strategy.alarms:
        states = platform.alarm_states(list(strategy.alarms))
        firing = [name for name, value in states.items() if value == "ALARM"]
        if firing and not force:
            raise BadInputError(
                f"alarm(s) already in ALARM before any traffic moved: {', '.join(firing)}",
                hint="fix what they report, or pass --force to start anyway",
            )
    return healed


__all__ = ["check_start"]
