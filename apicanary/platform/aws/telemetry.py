"""CloudWatch telemetry for a canary, as pure functions: which metrics, queries and windows.

What is measured (aws-semantics §1.6, §2.5, §2.8), per 1-minute period, both arms at once:

* alias mode — ``AWS/Lambda`` ``Invocations`` (Sum) and ``Errors`` (Sum) under
  ``{FunctionName=f, Resource=f:alias, ExecutedVersion=v}`` for the stable and canary versions:
  the alias's traffic split by the version that actually ran.
* stage mode — ``AWS/ApiGateway`` ``Count`` (Sum) and ``5XXError`` (Sum) under
  ``{ApiName, Stage}``, with ``Stage=<stage>`` for the stable arm and the canary's own stage
  value for the canary arm. AWS does not document that value; it is **discovered** with
  ``ListMetrics`` (:func:`discover_canary_stage`) and, until CloudWatch lists it (new metrics
  take minutes to appear there), the commonly observed ``<stage>/Canary`` is queried.
  ``<stage>`` is taken to count production requests only.

Freshness: CloudWatch publishes a minute's datapoints late. A period counts as complete once
CloudWatch has data for a later minute of the same series (measured: the publisher is past
it), or else ``delay_s`` after it ended (:func:`complete_until`, :func:`fresh_boundary`);
windows are cut at that boundary and the cursor never moves past it, so no period is read
twice or half-read. The boundary is the evidence watermark the controller waits for.

Latency — stated honestly: CloudWatch keeps aggregates, not requests, so the per-request slow
counts of a :class:`~apicanary.model.Window` (warm requests above the stable
p90/p99 in force) cannot be derived exactly, and cold starts cannot be told apart. Windows
built here carry requests and errors only; ``warm`` and the slow counts are 0, i.e. *no
latency evidence*, never "fast". Latency is compared with percentile statistics instead
(:func:`percentile_series`, ``CloudWatchReader.read_latency_percentiles``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apicanary.model import ArmCounts, Window

PERIOD_S = 60
DEFAULT_DELAY_S = 180.0
CANARY_STAGE_SUFFIX = "/Canary"

# query ids (CloudWatch: must start with a lower-case letter)
STABLE_REQUESTS = "stableRequests"
STABLE_ERRORS = "stableErrors"
CANARY_REQUESTS = "canaryRequests"
CANARY_ERRORS = "canaryErrors"


@dataclass(frozen=True, slots=True)
class Series:
    """One metric statistic to fetch, under the query id ``id``."""

    id: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str = "Sum"


def alias_series(function: str, alias: str, stable: str, canary: str) -> list[Series]:
    """Invocations and Errors of each arm, by executed version under the alias's Resource."""

    def dims(version: str) -> tuple[tuple[str, str], ...]:
        return (
            ("FunctionName", function),
            ("Resource", f"{function}:{alias}"),
            ("ExecutedVersion", version),
        )

    return [
        Series(STABLE_REQUESTS, "AWS/Lambda", "Invocations", dims(stable)),
        Series(STABLE_ERRORS, "AWS/Lambda", "Errors", dims(stable)),
        Series(CANARY_REQUESTS, "AWS/Lambda", "Invocations", dims(canary)),
        Series(CANARY_ERRORS, "AWS/Lambda", "Errors", dims(canary)),
    ]


def stage_series(api_name: str, stage: str, canary_stage: str) -> list[Series]:
    """Count and 5XXError of the production stage and of its canary."""

    def dims(value: str) -> tuple[tuple[str, str], ...]:
        return (("ApiName", api_name), ("Stage", value))

    return [
        Series(STABLE_REQUESTS, "AWS/ApiGateway", "Count", dims(stage)),
        Series(STABLE_ERRORS, "AWS/ApiGateway", "5XXError", dims(stage)),
        Series(CANARY_REQUESTS, "AWS/ApiGateway", "Count", dims(canary_stage)),
        Series(CANARY_ERRORS, "AWS/ApiGateway", "5XXError", dims(canary_stage)),
    ]


def percentile_series(
    target_dims: Sequence[tuple[str, tuple[tuple[str, str], ...]]],
    namespace: str,
    metric: str,
    percentiles: Sequence[float],
) -> list[Series]:
    """``pNN`` of ``metric`` for each ``(arm, dimensions)``; ids are ``<arm>P<NN>``."""
    out: list[Series] = []
    for arm, dims in target_dims:
        for p in percentiles:
            label = f"{p:g}".replace(".", "_")
            out.append(Series(f"{arm}P{label}", namespace, metric, dims, f"p{p:g}"))
    return out


def metric_queries(series: Iterable[Series], period: int = PERIOD_S) -> list[dict[str, Any]]:
    """``MetricDataQueries`` for GetMetricData: one MetricStat per series (no math, so any
    CloudWatch-compatible endpoint can answer)."""
    return [
        {
            "Id": s.id,
            "MetricStat": {
                "Metric": {
                    "Namespace": s.namespace,
                    "MetricName": s.metric,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in s.dimensions],
                },
                "Period": period,
                "Stat": s.stat,
            },
            "ReturnData": True,
        }
        for s in series
    ]


def fresh_boundary(now: float, delay_s: float, period: int = PERIOD_S) -> float:
    """The end of the last period whose data is complete at ``now`` (a period boundary)."""
    return float(math.floor((now - delay_s) / period) * period)


def complete_until(
    results: Mapping[str, Mapping[float, float]], now: float, delay_s: float
) -> float:
    """The watermark: the start of the newest period with request data (every earlier one
    is complete), or the :func:`fresh_boundary` if that is later."""
    empty: Mapping[float, float] = {}
    stamps = [*results.get(STABLE_REQUESTS, empty), *results.get(CANARY_REQUESTS, empty)]
    newest = max(stamps, default=float("-inf"))
    return max(fresh_boundary(now, delay_s), min(newest, period_floor(now)))


def period_floor(t: float, period: int = PERIOD_S) -> float:
    return float(math.floor(t / period) * period)


def collect_results(pages: Iterable[Mapping[str, Any]]) -> dict[str, dict[float, float]]:
    """``{query id: {period start (epoch s): value}}`` merged over GetMetricData pages."""
    out: dict[str, dict[float, float]] = {}
    for page in pages:
        for result in page.get("MetricDataResults") or []:
            values = out.setdefault(str(result["Id"]), {})
            stamps, values_ = result.get("Timestamps") or [], result.get("Values") or []
            for ts, value in zip(stamps, values_, strict=False):
                values[_epoch(ts)] = float(value)
    return out


def _epoch(ts: Any) -> float:
    if isinstance(ts, int | float):
        return float(ts)
    return float(ts.timestamp())


def _count(values: Mapping[float, float], ts: float) -> int:
    return max(0, round(values.get(ts, 0.0)))


def fold_windows(
    results: Mapping[str, Mapping[float, float]], start: float, end: float
) -> list[Window]:
    """One :class:`Window` per period in ``[start, end)`` that saw a request, oldest first.

    Errors are capped at the requests of the same arm and period (the two metrics can be
    published at slightly different times); warm and slow counts are 0 (module docstring).
    """
    empty: Mapping[float, float] = {}
    periods = sorted(
        ts
        for ts in {*results.get(STABLE_REQUESTS, empty), *results.get(CANARY_REQUESTS, empty)}
        if start <= ts < end
    )
    windows: list[Window] = []
    for ts in periods:
        arms: list[ArmCounts] = []
        for req_id, err_id in ((STABLE_REQUESTS, STABLE_ERRORS), (CANARY_REQUESTS, CANARY_ERRORS)):
            requests = _count(results.get(req_id, empty), ts)
            errors = min(requests, _count(results.get(err_id, empty), ts))
            arms.append(ArmCounts(requests=requests, errors=errors))
        if arms[0].requests or arms[1].requests:
            windows.append(Window(stable=arms[0], canary=arms[1]))
    return windows


def discover_canary_stage(metrics: Iterable[Mapping[str, Any]], stage: str) -> str | None:
    """The ``Stage`` dimension value of ``stage``'s canary among ListMetrics results.

    Candidates are ``{ApiName, Stage}`` metrics whose Stage is ``<stage>/<something>``;
    ``<stage>/Canary`` (any case) wins, otherwise a single candidate is taken; several
    unknown candidates give ``None`` (ambiguous: nothing is assumed).
    """
    candidates: set[str] = set()
    for metric in metrics:
        dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions") or []}
        value = dims.get("Stage", "")
        if set(dims) == {"ApiName", "Stage"} and value.startswith(f"{stage}/"):
            candidates.add(value)
    for value in sorted(candidates):
        if value.lower() == f"{stage}{CANARY_STAGE_SUFFIX}".lower():
            return value
    return next(iter(candidates)) if len(candidates) == 1 else None


def latest_values(results: Mapping[str, Mapping[float, float]]) -> dict[str, float]:
    """The most recent value of each query (for percentile look-ups)."""
    return {key: values[max(values)] for key, values in results.items() if values}


__all__ = [
    "CANARY_ERRORS",
    "CANARY_REQUESTS",
    "CANARY_STAGE_SUFFIX",
    "DEFAULT_DELAY_S",
    "PERIOD_S",
    "STABLE_ERRORS",
    "STABLE_REQUESTS",
    "Series",
    "alias_series",
    "collect_results",
    "complete_until",
    "discover_canary_stage",
    "fold_windows",
    "fresh_boundary",
    "latest_values",
    "metric_queries",
    "percentile_series",
    "period_floor",
    "stage_series",
]
