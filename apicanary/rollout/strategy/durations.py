"""Durations in rollout strategies, and the two clocks they are measured on.

Two distinct types keep the time scale (``--time-scale X``: X strategy seconds pass per wall
second) from leaking where it does not belong:

- :data:`StrategySeconds` — pauses, minimum dwell, maximum step extension. Divided by the time
  scale to get wall seconds (``Strategy.wall_seconds``).
- :data:`WallSeconds` — hook timeouts: real time a real hook gets, never scaled.

The analysis' statistical requirements (alpha, the smallest regression of interest) are not
durations at all: they are met by a number of requests, so no clock applies to them.

User-facing spelling (:func:`parse_duration`): a number of seconds (``300``, ``2.5``) or a
string of one or more ``<number><unit>`` parts with units ``s``, ``m``, ``h``, ``d``
(``"30s"``, ``"5m"``, ``"1h30m"``); a bare numeric string (``"300"``) also means seconds.
"""

from __future__ import annotations

import math
import re
from typing import NewType

StrategySeconds = NewType("StrategySeconds", float)
"""Seconds of strategy time: scaled by the time scale (pauses, dwell, step extension)."""

WallSeconds = NewType("WallSeconds", float)
"""Seconds of wall-clock time: never scaled (hook timeouts)."""

_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[smhd])+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

DURATION_SYNTAX = "a number of seconds or a string like '30s', '5m', '1h', '1h30m'"


class DurationSyntaxError(ValueError):
    """``value`` is not a duration in any accepted spelling."""


def parse_duration(value: object) -> float:
    """Seconds denoted by ``value``; ``DurationSyntaxError`` if it is not a duration.

    Accepts non-negative finite ints/floats (not bools) and the strings described in the
    module docstring. Range checks (``> 0``, upper limits) are the caller's.
    """
    if isinstance(value, bool):
        raise DurationSyntaxError(value)
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds) or seconds < 0:
            raise DurationSyntaxError(value)
        return seconds
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return float(text)
        if _WHOLE.fullmatch(text):
            return sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text))
    raise DurationSyntaxError(value)


def format_duration(seconds: float) -> str:
    """A short human spelling: ``300 → '5m'``, ``5400 → '1h30m'``, ``2.5 → '2.5s'``.

    Whole numbers of seconds are split into h/m/s parts; anything else is ``'<g>s'``. Meant
    for summaries, not for persistence (the journal stores plain seconds).
    """
    if not math.isfinite(seconds) or seconds != int(seconds) or seconds < 0:
        return f"{seconds:g}s"
    rest = int(seconds)
    if rest == 0:
        return "0s"
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
