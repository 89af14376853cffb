"""Alarm check (pure): any alarm in ALARM fails the canary at once (DESIGN.md §4 guard step).

``INSUFFICIENT_DATA`` is not a failure (as CloudWatch treats missing data as not breaching by
default), but it is named in the reason so that it is never silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from apicanary.rollout.analysis.verdict import Outcome, Verdict


class AlarmState(StrEnum):
    """CloudWatch alarm states."""

    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


def check_alarms(states: Mapping[str, AlarmState | str]) -> Verdict:
    """``fail`` if any alarm is in ALARM, else ``pass``; evidence = alarms in ALARM, limit 1."""
    parsed = {name: AlarmState(str(state)) for name, state in states.items()}
    firing = sorted(n for n, s in parsed.items() if s is AlarmState.ALARM)
    missing = sorted(n for n, s in parsed.items() if s is AlarmState.INSUFFICIENT_DATA)
    if firing:
        return Verdict(
            Outcome.FAIL,
            "alarms",
            float(len(firing)),
            1.0,
            f"{len(firing)} of {len(parsed)} alarm(s) in ALARM: {', '.join(firing)}",
        )
    reason = f"no alarm in ALARM ({len(parsed)} watched)"
    if missing:
        reason += f"; INSUFFICIENT_DATA (not treated as failing): {', '.join(missing)}"
    return Verdict(Outcome.PASS, "alarms", 0.0, 1.0, reason)
