"""Verdicts of the pure judges: ``pass | fail | need-more-data``, with evidence, limit and reason.

Every verdict names the values and the limit it was judged against (house rule for messages,
and detection-limits.md §7: the reason a rollout rolled back must be readable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What a judge concluded."""

    PASS = "pass"
    FAIL = "fail"
    NEED_MORE_DATA = "need-more-data"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judge's conclusion.

    ``check`` is ``errors``, ``latency``, ``alarms`` or ``guard``; ``evidence`` is the value
    compared with ``threshold`` (an e-value for the sequential tests, the number of alarms in
    ALARM for the alarm check, canary requests served for the guard).
    """

    outcome: Outcome
    check: str
    evidence: float
    threshold: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (infinite evidence is written as ``null``)."""
        return {
            "outcome": self.outcome.value,
            "check": self.check,
            "evidence": self.evidence if math.isfinite(self.evidence) else None,
            "threshold": self.threshold if math.isfinite(self.threshold) else None,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """Inverse of :meth:`to_dict`."""
        ev = data["evidence"]
        th = data["threshold"]
        return cls(
            outcome=Outcome(data["outcome"]),
            check=str(data["check"]),
            evidence=math.inf if ev is None else float(ev),
            threshold=math.inf if th is None else float(th),
            reason=str(data["reason"]),
        )


def fmt_evalue(value: float) -> str:
    """An e-value as people read it: ``212``, ``37.4``, ``1.73``, ``4.1e+07``."""
    if not math.isfinite(value):
        return "inf"
    if value >= 1e6:
        return f"{value:.2g}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_rate(numerator: int, denominator: int) -> str:
    """``2.31%`` (or ``n/a`` with no requests)."""
    if denominator <= 0:
        return "n/a"
    return f"{100.0 * numerator / denominator:.2f}%"
