"""Leaf checks for strategy specs: one value in, a clean value out, or a message.

Each check raises :class:`Invalid` with a message that names the value as the user wrote it
and what is allowed (``150 is out of range: must be 0..100``); the caller adds the path.
The pydantic models in ``spec.py`` wrap these, and so does the SAM adapter (``resolve.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from urllib.parse import urlsplit

from apicanary.arns import is_function_reference
from apicanary.rollout.strategy.durations import (
    DURATION_SYNTAX,
    DurationSyntaxError,
    StrategySeconds,
    WallSeconds,
    parse_duration,
)
from apicanary.rollout.strategy.suggest import did_you_mean
from apicanary.rollout.strategy.types import Mode, OnUnverified

MAX_HOOK_TIMEOUT = WallSeconds(3600.0)
"""CodeDeploy fails a hook that has not reported back within one hour; so do we."""


class Invalid(ValueError):
    """A value failed a check; ``message`` names the value and what is allowed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def show(value: object) -> str:
    """The value as the user would recognise it: ``150``, ``'ten'``, ``true``, ``null``."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def number(value: object, allowed: str) -> float:
    """``value`` as a float if it is an int or float (not a bool); else :class:`Invalid`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{show(value)} is not a number: must be {allowed}")
    try:
        return float(value)
    except OverflowError:
        return math.inf


def weight(value: object) -> float:
    """A traffic percentage, 0..100 inclusive."""
    result = number(value, "a number 0..100")
    if not 0.0 <= result <= 100.0:
        raise Invalid(f"{show(value)} is out of range: must be 0..100")
    return result


def _seconds(value: object) -> float:
    try:
        return parse_duration(value)
    except (DurationSyntaxError, OverflowError):
        raise Invalid(f"{show(value)} is not a duration: must be {DURATION_SYNTAX}") from None


def pause_duration(value: object) -> StrategySeconds:
    """A timed pause: a duration > 0."""
    seconds = _seconds(value)
    if seconds <= 0:
        raise Invalid(
            f"{show(value)} is out of range: must be > 0 (omit it to pause until resumed)"
        )
    return StrategySeconds(seconds)


def dwell(value: object) -> StrategySeconds:
    """A minimum dwell or maximum extension: a duration >= 0."""
    return StrategySeconds(_seconds(value))


def hook_timeout(value: object) -> WallSeconds:
    """A hook timeout: > 0 and at most one hour."""
    seconds = _seconds(value)
    if not 0 < seconds <= MAX_HOOK_TIMEOUT:
        raise Invalid(f"{show(value)} is out of range: must be > 0 and at most 1h")
    return WallSeconds(seconds)


def alpha(value: object) -> float:
    """The false-rollback budget: 0 < alpha <= 0.5."""
    result = number(value, "a probability > 0 and <= 0.5")
    if not 0.0 < result <= 0.5:
        raise Invalid(f"{show(value)} is out of range: must be > 0 and <= 0.5")
    return result


def min_regression(value: object) -> float:
    """The smallest regression of interest, a multiple of the stable error rate: > 1."""
    result = number(value, "a multiple of the stable error rate > 1")
    if not 1.0 < result < math.inf:
        raise Invalid(f"{show(value)} is out of range: must be a finite multiple > 1")
    return result


def percentile(value: object) -> float:
    """A latency percentile: 0 < p < 100."""
    result = number(value, "a percentile > 0 and < 100")
    if not 0.0 < result < 100.0:
        raise Invalid(f"{show(value)} is out of range: must be > 0 and < 100")
    return result


def time_scale(value: object) -> float:
    """Strategy seconds per wall second: finite and > 0."""
    result = number(value, "a number > 0")
    if not 0.0 < result < math.inf:
        raise Invalid(f"{show(value)} is out of range: must be a finite number > 0")
    return result


def flag(value: object) -> bool:
    """A boolean written as true/false (not 'yes', not 1)."""
    if not isinstance(value, bool):
        raise Invalid(f"{show(value)} is not a boolean: must be true or false")
    return value


def text(value: object, what: str, max_length: int) -> str:
    """A non-empty string of at most ``max_length`` characters."""
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise Invalid(f"{show(value)} is not {what}: must be 1..{max_length} characters")
    return value


def choice(value: object, allowed: Iterable[str]) -> str:
    """One of ``allowed`` exactly, with a did-you-mean on a near miss."""
    options = list(allowed)
    if isinstance(value, str) and value in options:
        return value
    hint = did_you_mean(value, options) if isinstance(value, str) else ""
    raise Invalid(f"{show(value)} is not allowed: must be one of {', '.join(options)}{hint}")


def mode(value: object) -> Mode:
    """alias | stage | both."""
    return Mode(choice(value, [m.value for m in Mode]))


def on_unverified(value: object) -> OnUnverified:
    """stop | promote-unverified."""
    return OnUnverified(choice(value, [o.value for o in OnUnverified]))


def url(value: object) -> str:
    """An absolute http(s) URL with a host."""
    if isinstance(value, str) and not any(c.isspace() for c in value):
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.hostname:
            return value
    raise Invalid(f"{show(value)} is not an http(s) URL: must look like https://host/path")


def function_name(value: object) -> str:
    """A Lambda function name (optionally ``:qualifier``) or function ARN."""
    if isinstance(value, str) and is_function_reference(value):
        return value
    raise Invalid(
        f"{show(value)} is not a Lambda function name: must be 1..64 letters, digits, "
        "'-' or '_' (optionally ':alias' or ':version'), or a function ARN"
    )


def alarm_name(value: object) -> str:
    """A CloudWatch alarm name: 1..255 characters."""
    return text(value, "an alarm name", 255)
