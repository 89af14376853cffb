"""Adopting a rollout recorded elsewhere (pure): the document a controller on another machine
starts from when it resumes a rollout it did not start.

The record (``platform/aws/rollout_log.py``) keeps the target, the strategy, the status, the
phase, the step and when it started, the weight and the start time; it does not keep the
analysis. The adopted document therefore starts a fresh analysis with the strategy's
false-rollback budget split as at a start, and a telemetry cursor at the rollout's creation
(the platform says how to write one),
so the evidence since the start is read again (from the logs) and judged as one sequence:
the tests' guarantees hold as if the controller had never stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apicanary.rollout.analysis.canary import AnalysisConfig, CanaryAnalysis
from apicanary.rollout.state import Progress, RolloutState
from apicanary.rollout.strategy.types import Strategy


def fresh_analysis(strategy: Strategy) -> CanaryAnalysis:
    """The analysis a rollout of ``strategy`` starts with (the budget split in two)."""
    half = strategy.analysis.alpha / 2
    return CanaryAnalysis(AnalysisConfig(alpha_errors=half, alpha_latency=half))


def adopted_document(recorded: Mapping[str, Any], now: float, cursor: Any) -> dict[str, Any]:
    """The document to journal for ``recorded`` (a rollout document without its analysis);
    ``cursor``: the platform's telemetry cursor at the rollout's creation.

    Raises ``KeyError``/``ValueError`` on a document that is not a rollout's.
    """
    state = RolloutState.from_dict({**recorded, "analysis": {}, "cursor": None})
    analysis = fresh_analysis(state.strategy)
    state.analysis = analysis.to_dict()
    state.cursor = cursor
    state.progress = Progress()
    state.lease_until = None  # the marker's deadline is renewed by this controller's writes
    state.last_error = None
    state.next_wake = now
    state.updated_at = now
    return state.to_dict()


__all__ = ["adopted_document", "fresh_analysis"]
