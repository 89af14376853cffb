"""What a pre-flight check reports: one :class:`Finding` per thing looked at.

The vocabulary of both doctors, the project's (:mod:`apicanary.project.doctor`, pure, over the
template) and AWS's (:mod:`apicanary.platform.aws.doctor`, read-only calls), so
``apicanary doctor`` renders and counts them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: ``error``: the rollout would fail or be unsafe; ``warning``: look first; ``ok``: checked.
Level = Literal["error", "warning", "ok"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of a check: its ``level``, the ``check`` name, what was seen, what to do."""

    level: Level
    check: str
    message: str
    hint: str = ""
