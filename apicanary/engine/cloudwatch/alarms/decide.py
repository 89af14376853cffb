"""Pure CloudWatch alarm decision: M of N datapoints, TreatMissingData, StateReason text.

Input is the *evaluation range*: the values of the last ``R`` periods, oldest first, ``None``
for a period without a datapoint. ``R = N + 2`` ([Unverified] beyond the reference's example
"range 5 for N = 3"). Rules (reference §4.2):

1. If the range holds at least N real datapoints, the most recent N real ones are evaluated
   and TreatMissingData is not used: ALARM iff at least M breach, else OK.
2. If it holds none: ``missing`` → INSUFFICIENT_DATA, ``ignore`` → keep the current state,
   ``breaching`` → ALARM, ``notBreaching`` → OK.
3. Otherwise (1 ≤ real < N), as few missing slots as possible are filled (N - real):
   ``breaching``/``notBreaching`` fill them bad/good and count M of N;
   ``missing``/``ignore`` evaluate what exists, with CloudWatch's premature-alarm guard: the
   alarm goes to ALARM if at least M real points breach, or if the oldest breaching real point
   is at least M periods old (it sits in the M-th newest slot or earlier) and every slot newer
   than it is breaching or missing (``- - X - -`` → ALARM). If every real point breaches but
   neither holds (``- - - - X``) the state is kept (not yet ALARM, no evidence for OK);
   otherwise the real points are counted M-of-(their number) → OK.

StateReason wording follows AWS's ("Threshold Crossed: 1 out of the last 1 datapoints
[5.0 (26/11/26 09:00:00)] was greater than or equal to the threshold (1.0) (minimum 1
datapoint for OK -> ALARM transition)."); the texts for filled and guard cases are
[Unverified] but built the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
STATES = (OK, ALARM, INSUFFICIENT_DATA)

OPERATORS = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}
TREAT_MISSING = ("missing", "notBreaching", "breaching", "ignore")
RANGE_EXTRA = 2


def evaluation_range(evaluation_periods: int) -> int:
    """Number of periods fetched for an alarm with ``evaluation_periods`` (N)."""
    return evaluation_periods + RANGE_EXTRA


def breaches(value: float, operator: str, threshold: float) -> bool:
    """Whether ``value`` (left operand) crosses ``threshold`` under ``operator``."""
    if operator == "GreaterThanOrEqualToThreshold":
        return value >= threshold
    if operator == "GreaterThanThreshold":
        return value > threshold
    if operator == "LessThanThreshold":
        return value < threshold
    if operator == "LessThanOrEqualToThreshold":
        return value <= threshold
    raise ValueError(f"unsupported comparison operator {operator!r}")


@dataclass(frozen=True, slots=True)
class Slot:
    """One period of the evaluation range: its start and datapoint (``None`` = missing)."""

    timestamp: float
    value: float | None
    sample_count: float | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one evaluation. ``state is None`` means: keep the current state."""

    state: str | None
    reason: str
    evaluated: tuple[Slot, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


def format_number(value: float) -> str:
    """A double the way CloudWatch (Java) prints it: ``5.0``, ``0.25``, ``1.0E-4``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        text = repr(float(value))
        return text if "e" not in text else _java_sci(value)
    return _java_sci(value)


def _java_sci(value: float) -> str:
    mantissa, exponent = f"{value:.16E}".split("E")
    digits = mantissa.rstrip("0")
    if digits.endswith("."):
        digits += "0"
    # shortest round-trip mantissa
    for places in range(1, 17):
        candidate = f"{value:.{places}E}"
        if float(candidate) == value:
            m, e = candidate.split("E")
            digits = m.rstrip("0")
            if digits.endswith("."):
                digits += "0"
            exponent = e
            break
    return f"{digits}E{int(exponent)}"


def format_time(timestamp: float) -> str:
    """``dd/MM/yy HH:mm:ss`` in UTC, as in AWS's StateReason."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%d/%m/%y %H:%M:%S")


def iso_time(timestamp: float) -> str:
    """``2024-04-16T08:42:00.000+0000``, as in AWS's StateReasonData."""
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def json_text(data: Any) -> str:
    """Compact JSON, keys in insertion order: how CloudWatch writes its JSON-in-a-string fields
    (StateReasonData, history data)."""
    return json.dumps(data, separators=(",", ":"), sort_keys=False)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _listing(slots: Sequence[Slot]) -> str:
    return ", ".join(
        f"{format_number(s.value)} ({format_time(s.timestamp)})"
        for s in slots
        if s.value is not None
    )


def decide(
    slots: Sequence[Slot],
    *,
    threshold: float,
    operator: str,
    evaluation_periods: int,
    datapoints_to_alarm: int,
    treat_missing: str,
) -> Decision:
    """Decide the alarm state from the evaluation range ``slots`` (oldest first)."""
    n, m = evaluation_periods, datapoints_to_alarm
    words = OPERATORS[operator]
    real = [s for s in slots if s.value is not None]

    def bad(slot: Slot) -> bool:
        assert slot.value is not None
        return breaches(slot.value, operator, threshold)

    if not real:
        if treat_missing == "missing":
            return Decision(
                INSUFFICIENT_DATA,
                f"Insufficient Data: {_plural(len(slots), 'datapoint')} "
                f"{'was' if len(slots) == 1 else 'were'} unknown.",
            )
        if treat_missing == "ignore":
            return Decision(None, "")
        fill = "Breaching" if treat_missing == "breaching" else "NonBreaching"
        state = ALARM if treat_missing == "breaching" else OK
        return Decision(
            state,
            f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} and "
            f"{_plural(n, 'missing datapoint')} {'was' if n == 1 else 'were'} treated as "
            f"[{fill}].",
        )

    if len(real) >= n:
        evaluated = real[-n:]
        return _counted(evaluated, bad, n, m, threshold, words, filled=0, fill_bad=False)

    filled = n - len(real)
    if treat_missing in ("breaching", "notBreaching"):
        return _counted(
            real,
            bad,
            n,
            m,
            threshold,
            words,
            filled=filled,
            fill_bad=treat_missing == "breaching",
        )

    # missing / ignore with some data: evaluate what exists, with the premature-alarm guard.
    breaching_real = [s for s in real if bad(s)]
    if len(breaching_real) >= m:
        return _counted(real, bad, len(real), m, threshold, words, filled=0, fill_bad=False)
    guard = _guard_fires(slots, bad, m)
    if guard is not None:
        newer_missing = sum(1 for s in slots[guard + 1 :] if s.value is None)
        return _counted(
            [s for s in slots[guard:] if s.value is not None],
            bad,
            len(slots) - guard,
            m,
            threshold,
            words,
            filled=newer_missing,
            fill_bad=True,
        )
    if len(breaching_real) == len(real):
        # Only recent breaching points: too early to alarm, no evidence for OK (premature-
        # alarm guard): the state is kept.
        return Decision(None, "")
    return _counted(real, bad, len(real), m, threshold, words, filled=0, fill_bad=False)


def _guard_fires(slots: Sequence[Slot], bad: Any, m: int) -> int | None:
    """Index of the oldest breaching real slot if it is ≥ M periods old and everything
    newer is breaching or missing; else ``None``."""
    oldest = next((i for i, s in enumerate(slots) if s.value is not None and bad(s)), None)
    if oldest is None:
        return None
    age = len(slots) - oldest  # the newest slot is 1 period old
    if age < m:
        return None
    if all(s.value is None or bad(s) for s in slots[oldest + 1 :]):
        return oldest
    return None


def _counted(
    evaluated: Sequence[Slot],
    bad: Any,
    total: int,
    m: int,
    threshold: float,
    words: str,
    *,
    filled: int,
    fill_bad: bool,
) -> Decision:
    """M-of-``total`` count over ``evaluated`` real points plus ``filled`` filled points."""
    newest_first = list(reversed(evaluated))
    breaching = [s for s in newest_first if bad(s)]
    good = [s for s in newest_first if not bad(s)]
    n_bad = len(breaching) + (filled if fill_bad else 0)
    fill_note = ""
    if filled:
        fill_note = (
            f" and {_plural(filled, 'missing datapoint')} {'was' if filled == 1 else 'were'} "
            f"treated as [{'Breaching' if fill_bad else 'NonBreaching'}]"
        )
    thr = format_number(threshold)
    if n_bad >= m:
        shown = breaching
        count = n_bad
        verb = "was" if count == 1 else "were"
        reason = (
            f"Threshold Crossed: {count} out of the last {total} datapoints [{_listing(shown)}] "
            f"{verb} {words} the threshold ({thr}){fill_note} "
            f"(minimum {_plural(m, 'datapoint')} for OK -> ALARM transition)."
        )
        return Decision(ALARM, reason, tuple(evaluated))
    count = total - n_bad
    need = total - m + 1
    verb = "was" if count == 1 else "were"
    reason = (
        f"Threshold Crossed: {count} out of the last {total} datapoints [{_listing(good)}] "
        f"{verb} not {words} the threshold ({thr}){fill_note} "
        f"(minimum {_plural(max(1, need), 'datapoint')} for ALARM -> OK transition)."
    )
    return Decision(OK, reason, tuple(evaluated))
