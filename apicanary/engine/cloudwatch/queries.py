"""The read APIs' rules: GetMetricData (validate the MetricDataQuery list, fetch MetricStats,
evaluate expressions), GetMetricStatistics' parameters, ListMetrics' filter.

Pure with respect to I/O: the statistics come from a :class:`StatSource` (the metric store).
Messages follow CloudWatch's style; the exact wording of the errors marked [Unverified] in
the code is plausible, not recorded from AWS.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from apicanary.engine.cloudwatch.expressions import syntax
from apicanary.engine.cloudwatch.expressions.evaluator import (
    Context,
    Series,
    SeriesArray,
    Value,
    evaluate,
)
from apicanary.engine.cloudwatch.expressions.syntax import MathError, Node
from apicanary.engine.cloudwatch.values import (
    BASIC_STATISTICS,
    MetricKey,
    check_statistic,
    dimensions_of,
    dimensions_to_aws,
    parse_percentile,
)
from apicanary.errors import AwsApiError

MAX_QUERIES = 500
MAX_GRID = 100_800
_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")


class StatSource(Protocol):
    def stat_series(
        self,
        key: MetricKey,
        start: float,
        end: float,
        period: int,
        stat: str,
        unit: str | None = None,
    ) -> dict[float, float]: ...


def _validation(message: str) -> AwsApiError:
    return AwsApiError("ValidationError", message)


def validate_queries(
    queries: Sequence[Mapping[str, Any]], where: str = "MetricDataQueries"
) -> dict[str, Node]:
    """Check ids, MetricStat/Expression exclusivity, stats and expressions; returns the
    parsed expressions by id. Raises :class:`AwsApiError` as CloudWatch would."""
    if not queries:
        raise AwsApiError("MissingParameter", f"The parameter {where} is required.")
    if len(queries) > MAX_QUERIES:
        raise _validation(
            f"The collection {where} must not have a size greater than {MAX_QUERIES}."
        )
    seen: set[str] = set()
    parsed: dict[str, Node] = {}
    for n, query in enumerate(queries, start=1):
        member = f"{where}.member.{n}"
        qid = query.get("Id")
        if not qid:
            raise AwsApiError("MissingParameter", f"The parameter {member}.Id is required.")
        if not _ID.match(str(qid)):
            # [Unverified] wording
            raise _validation(
                f"The value {qid} for parameter {member}.Id is not valid: an Id must start "
                "with a lowercase letter and contain only letters, numbers and underscores."
            )
        if qid in seen:
            raise _validation(f"The value {qid} for parameter {member}.Id is not unique.")
        seen.add(qid)
        stat, expression = query.get("MetricStat"), query.get("Expression")
        if (stat is None) == (expression is None):
            raise _validation(
                f"Exactly one of MetricStat and Expression must be specified for {member}."
            )
        if stat is not None:
            metric = stat.get("Metric") or {}
            if not metric.get("Namespace") or not metric.get("MetricName"):
                raise AwsApiError(
                    "MissingParameter",
                    f"The parameters {member}.MetricStat.Metric.Namespace and MetricName "
                    "are required.",
                )
            period = stat.get("Period")
            if period is None or int(period) != period or period < 1:
                raise _validation(
                    f"The value {period} for parameter {member}.MetricStat.Period is not "
                    "valid: it must be a positive integer number of seconds."
                )
            if not stat.get("Stat"):
                raise AwsApiError(
                    "MissingParameter", f"The parameter {member}.MetricStat.Stat is required."
                )
            check_statistic(str(stat["Stat"]), f"{member}.MetricStat.Stat")
        else:
            try:
                parsed[qid] = syntax.parse(str(expression))
            except MathError as exc:
                raise _validation(f"Error in expression '{qid}': {exc}") from None
    for qid, node in parsed.items():
        for ref in syntax.references(node):
            if ref not in seen:
                raise _validation(f"Error in expression '{qid}': Unrecognized metric id {ref}")
    _order(queries, parsed)
    return parsed


def _order(queries: Sequence[Mapping[str, Any]], parsed: Mapping[str, Node]) -> list[str]:
    """Expression ids in dependency order; a cycle is a ValidationError."""
    stat_ids = [q["Id"] for q in queries if "MetricStat" in q and q["MetricStat"] is not None]
    deps: dict[str, set[str]] = {}
    for qid, node in parsed.items():
        refs = syntax.references(node)
        if syntax.uses_metrics_function(node):
            refs |= set(stat_ids)
        deps[qid] = {r for r in refs if r in parsed}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(qid: str) -> None:
        mark = state.get(qid, 0)
        if mark == 2:
            return
        if mark == 1:
            raise _validation(f"Error in expression '{qid}': Circular dependency detected")
        state[qid] = 1
        for dep in sorted(deps[qid]):
            visit(dep)
        state[qid] = 2
        order.append(qid)

    for qid in parsed:
        visit(qid)
    return order


def grid_of(start: float, end: float, period: int) -> list[float]:
    first = math.floor(start / period) * period
    count = max(0, min(MAX_GRID, math.ceil((end - first) / period)))
    return [float(first + i * period) for i in range(count)]


def evaluate_queries(
    source: StatSource,
    queries: Sequence[Mapping[str, Any]],
    start: float,
    end: float,
) -> list[tuple[str, str, Series]]:
    """Every query with ReturnData (default true), as ``(id, label, series)``, in order.

    A ``METRICS()`` expression returning an array yields one result per series (same id).
    """
    parsed = validate_queries(queries)
    values: dict[str, Value] = {}
    labels: dict[str, str] = {}
    metric_queries: list[tuple[str, str, Series]] = []
    periods: list[int] = []
    for query in queries:
        stat = query.get("MetricStat")
        if stat is None:
            continue
        metric = stat["Metric"]
        key: MetricKey = (
            metric["Namespace"],
            metric["MetricName"],
            dimensions_of(metric.get("Dimensions")),
        )
        period = int(stat["Period"])
        periods.append(period)
        series = source.stat_series(key, start, end, period, str(stat["Stat"]), stat.get("Unit"))
        values[query["Id"]] = series
        labels[query["Id"]] = str(query.get("Label") or metric["MetricName"])
        metric_queries.append((query["Id"], labels[query["Id"]], series))
    expression_period = [int(q["Period"]) for q in queries if q.get("Period")]
    period = min(periods or expression_period or [60])
    grid = grid_of(start, end, period)
    ctx = Context(values, metric_queries, grid)
    for qid in _order(queries, parsed):
        try:
            values[qid] = evaluate(parsed[qid], ctx)
        except MathError as exc:
            raise _validation(f"Error in expression '{qid}': {exc}") from None
    results: list[tuple[str, str, Series]] = []
    for query in queries:
        if not query.get("ReturnData", True):
            continue
        qid = query["Id"]
        value = values[qid]
        label = str(query.get("Label") or labels.get(qid) or qid)
        if isinstance(value, SeriesArray):
            for item_label, series in value.items:
                results.append((qid, item_label, series))
        elif isinstance(value, dict):
            results.append((qid, label, value))
        else:
            scalar = float(value)
            series = {ts: scalar for ts in grid} if math.isfinite(scalar) else {}
            results.append((qid, label, series))
    return results


def get_metric_data(
    source: StatSource,
    queries: Sequence[Mapping[str, Any]],
    start: float,
    end: float,
    *,
    scan_by: str = "TimestampDescending",
) -> dict[str, Any]:
    """The GetMetricData response: ``{"MetricDataResults": [...], "Messages": []}``."""
    if start >= end:
        raise _validation("The parameter StartTime must be less than the parameter EndTime.")
    if scan_by not in ("TimestampDescending", "TimestampAscending"):
        raise _validation(
            f"1 validation error detected: Value '{scan_by}' at 'scanBy' failed to satisfy "
            "constraint: Member must satisfy enum value set: "
            "[TimestampDescending, TimestampAscending]"
        )
    descending = scan_by == "TimestampDescending"
    out: list[dict[str, Any]] = []
    for qid, label, series in evaluate_queries(source, queries, start, end):
        stamps = [ts for ts in sorted(series, reverse=descending) if ts < end]
        out.append(
            {
                "Id": qid,
                "Label": label,
                "Timestamps": stamps,
                "Values": [series[ts] for ts in stamps],
                "StatusCode": "Complete",
            }
        )
    return {"MetricDataResults": out, "Messages": []}


def check_statistics_request(
    start: float, end: float, stats: Sequence[str], extended: Sequence[str]
) -> list[tuple[str, float]]:
    """GetMetricStatistics' checks; returns the asked percentiles as ``(label, q)``."""
    if start >= end:
        raise AwsApiError(
            "InvalidParameterValue",
            "The parameter StartTime must be less than the parameter EndTime.",
        )
    for stat in stats:
        if stat not in BASIC_STATISTICS:
            raise AwsApiError(
                "InvalidParameterValue",
                f"The value {stat} for parameter Statistics is not supported.",
            )
    quantiles: list[tuple[str, float]] = []
    for stat in extended:
        q = parse_percentile(stat)
        if q is None:
            check_statistic(stat, "ExtendedStatistics")
            continue
        quantiles.append((stat, q))
    return quantiles


def list_metrics(
    keys: Iterable[MetricKey],
    namespace: str | None,
    metric_name: str | None,
    dimensions: Sequence[Mapping[str, str]] | Mapping[str, str | None] | None,
) -> list[dict[str, Any]]:
    """ListMetrics over the metrics ``keys``: sorted, filtered like CloudWatch.

    A dimension filter ``{"Name": n}`` (or ``{n: None}``) matches metrics having dimension
    ``n`` with any value; ``{"Name": n, "Value": v}`` (or ``{n: v}``) requires the value.
    """
    wanted: list[tuple[str, str | None]] = []
    if isinstance(dimensions, Mapping):
        wanted = [(k, v) for k, v in dimensions.items()]
    elif dimensions:
        wanted = [(d["Name"], d.get("Value")) for d in dimensions]
    out: list[dict[str, Any]] = []
    for ns, name, dims in sorted(keys):
        if namespace is not None and ns != namespace:
            continue
        if metric_name is not None and name != metric_name:
            continue
        have = dict(dims)
        if any(n not in have or (v is not None and have[n] != v) for n, v in wanted):
            continue
        out.append({"Namespace": ns, "MetricName": name, "Dimensions": dimensions_to_aws(dims)})
    return out
