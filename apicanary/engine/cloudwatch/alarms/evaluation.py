"""One evaluation of an alarm: what it sees in the metric store, and what it decides.

:func:`evaluation_slots` reads the evaluation range (the last N + 2 complete periods) of the
alarm's metric or metric-math expression; :func:`evaluate` applies
``EvaluateLowSampleCountPercentile``, asks the pure :func:`~.decide.decide` for the new state
and writes the ``StateReasonData`` CloudWatch records with it. No side effect.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from apicanary.engine.cloudwatch import queries
from apicanary.engine.cloudwatch.alarms.config import AlarmConfig
from apicanary.engine.cloudwatch.alarms.decide import (
    Decision,
    Slot,
    decide,
    evaluation_range,
    iso_time,
    json_text,
)
from apicanary.engine.cloudwatch.metrics.store import MetricStore
from apicanary.engine.cloudwatch.values import MetricKey, parse_percentile


def evaluation_slots(metrics: MetricStore, config: AlarmConfig, now: float) -> list[Slot]:
    """The evaluation range at ``now``: the last N + 2 complete periods, oldest first."""
    period = config.period
    end = math.floor(now / period) * period
    count = evaluation_range(config.evaluation_periods)
    start = end - count * period
    values: dict[float, tuple[float, float | None]] = {}
    if config.metrics is None:
        stat = config.stat
        assert stat is not None and config.namespace and config.metric_name
        key: MetricKey = (config.namespace, config.metric_name, config.dimensions)
        quantiles = parse_percentile(stat) is not None
        for ts, agg in metrics.aggregates(
            key, start, end, period, quantiles=quantiles, unit=config.unit
        ):
            values[ts] = (agg.stat(stat), float(agg.count))
    else:
        results = queries.evaluate_queries(metrics, config.metrics, start, end)
        if results:
            for ts, value in results[0][2].items():
                values[ts] = (value, None)
    slots = []
    for i in range(count):
        ts = float(start + i * period)
        found = values.get(ts)
        slots.append(Slot(ts, found[0], found[1]) if found is not None else Slot(ts, None, None))
    return slots


def evaluate(metrics: MetricStore, config: AlarmConfig, now: float) -> tuple[Decision, str]:
    """The decision for ``config`` at ``now`` and its StateReasonData JSON (no side effect)."""
    slots = evaluation_slots(metrics, config, now)
    if _low_sample_count(config, slots):
        return Decision(None, ""), ""
    decision = decide(
        slots,
        threshold=config.threshold,
        operator=config.comparison_operator,
        evaluation_periods=config.evaluation_periods,
        datapoints_to_alarm=config.datapoints_to_alarm,
        treat_missing=config.treat_missing_data,
    )
    return decision, _reason_data(config, slots, decision, now)


def _low_sample_count(config: AlarmConfig, slots: Sequence[Slot]) -> bool:
    """EvaluateLowSampleCountPercentile=ignore: skip while a percentile datapoint among
    the newest N has fewer than 10 / (1 - p) samples (p99 → 1,000)."""
    if config.evaluate_low_sample_count_percentile != "ignore":
        return False
    q = parse_percentile(config.extended_statistic or "")
    if q is None or q >= 1.0:
        return False
    needed = 10.0 / (1.0 - q)
    recent = [s for s in slots if s.value is not None][-config.evaluation_periods :]
    return any(s.sample_count is not None and s.sample_count < needed for s in recent)


def _reason_data(config: AlarmConfig, slots: Sequence[Slot], decision: Decision, now: float) -> str:
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": iso_time(now),
        "startDate": iso_time(slots[0].timestamp) if slots else iso_time(now),
    }
    if config.statistic:
        data["statistic"] = config.statistic
    if config.extended_statistic:
        data["extendedStatistic"] = config.extended_statistic
    if config.unit:
        data["unit"] = config.unit
    data["period"] = config.period
    data["recentDatapoints"] = [s.value for s in slots if s.value is not None]
    data["threshold"] = config.threshold
    if decision.evaluated:
        evaluated = []
        for s in reversed(decision.evaluated):
            item: dict[str, Any] = {"timestamp": iso_time(s.timestamp)}
            if s.sample_count is not None:
                item["sampleCount"] = s.sample_count
            item["value"] = s.value
            evaluated.append(item)
        data["evaluatedDatapoints"] = evaluated
    return json_text(data)
