"""``EngineCloudWatch``: the CloudWatch endpoint's backend over the local engine.

Implements :class:`~apicanary.server.cloudwatch.api.CloudWatchBackend` with the engine's
:class:`~apicanary.engine.cloudwatch.metrics.store.MetricStore` (``engine.metrics``) and
:class:`~apicanary.engine.cloudwatch.alarms.service.AlarmEngine` (``engine.alarms``). Every
read first drains the engine's :class:`~apicanary.engine.cloudwatch.feed.MetricFeed`, so
gateway and Lambda traffic is visible to the very next query, not only after the next
housekeeping tick.

Errors are CloudWatch's codes (``InvalidParameterValue``, ``InvalidParameterCombination``,
``MissingParameter``, ``ValidationError``, ``InvalidNextToken``, ``ResourceNotFound``). Local
deviation, shared with the alarm engine: any whole ``Period`` ≥ 1 s is accepted.

Pagination (ListMetrics, DescribeAlarms, DescribeAlarmHistory, GetMetricData) uses opaque
offset tokens: a page boundary can shift if data changes between calls, as CloudWatch warns.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

from apicanary.engine.cloudwatch.put_data import check_dimensions, samples_of
from apicanary.engine.cloudwatch.values import MetricKey
from apicanary.engine.engine import Engine
from apicanary.errors import AwsApiError

MAX_STATISTIC_DATAPOINTS = 1440
MAX_GET_METRIC_DATA_POINTS = 100_800
LIST_METRICS_PAGE = 500
RECENTLY_ACTIVE_SECONDS = 3 * 3600
METRIC_ALARM = "MetricAlarm"
COMPOSITE_ALARM = "CompositeAlarm"
ALARM_TYPES = (COMPOSITE_ALARM, METRIC_ALARM)


def _schema(value: Any, member: str, constraint: str) -> AwsApiError:
    return AwsApiError(
        "ValidationError",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}",
    )


def _bounded(params: dict[str, Any], key: str, member: str, lo: int, hi: int, default: int) -> int:
    value = params.get(key)
    if value is None:
        return default
    if not lo <= int(value) <= hi:
        raise _schema(value, member, f"Member must have value between {lo} and {hi}, inclusive")
    return int(value)


def _offset(params: dict[str, Any], operation: str) -> int:
    """The offset encoded in ``NextToken`` (0 without one); a foreign token is rejected."""
    token = params.get("NextToken")
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(str(token).encode()).decode().partition(":")
        if kind != operation or not number.isdigit():
            raise ValueError(token)
        return int(number)
    except ValueError:
        raise AwsApiError(
            "InvalidNextToken", "The service couldn't process the NextToken."
        ) from None


def _token(operation: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{operation}:{offset}".encode()).decode()


def _page(
    items: Sequence[Any], params: dict[str, Any], operation: str, size: int
) -> tuple[list[Any], str | None]:
    start = _offset(params, operation)
    end = start + size
    return list(items[start:end]), _token(operation, end) if end < len(items) else None


def _alarm_types(params: dict[str, Any]) -> tuple[str, ...]:
    """The AlarmTypes asked for (default: metric alarms only, as CloudWatch)."""
    types = tuple(params.get("AlarmTypes") or (METRIC_ALARM,))
    for value in types:
        if value not in ALARM_TYPES:
            raise _schema(
                value,
                "alarmTypes",
                f"Member must satisfy enum value set: [{', '.join(ALARM_TYPES)}]",
            )
    return types


class EngineCloudWatch:
    """CloudWatch (metrics + metric alarms) over one :class:`Engine`; see the module doc."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._metrics = engine.metrics
        self._alarms = engine.alarms

    def _fresh(self) -> None:
        """Make pending gateway/Lambda records visible before a read."""
        self._engine.feed.drain()

    # -- metrics ----------------------------------------------------------------------------

    def put_metric_data(self, params: dict[str, Any]) -> None:
        """Validate the whole request, then store every sample (all or nothing)."""
        namespace, samples = samples_of(params, self._engine.clock.now())
        for s in samples:
            self._metrics.put(
                namespace, s.name, s.dimensions, s.value, s.timestamp, s.unit, s.count
            )

    def get_metric_data(self, params: dict[str, Any]) -> dict[str, Any]:
        """GetMetricData; ``MaxDatapoints`` caps the datapoints per page (``NextToken``)."""
        self._fresh()
        limit = _bounded(
            params, "MaxDatapoints", "maxDatapoints", 1, MAX_GET_METRIC_DATA_POINTS,
            MAX_GET_METRIC_DATA_POINTS,
        )  # fmt: skip
        skip = _offset(params, "GetMetricData")
        answer = self._metrics.get_metric_data(
            params["MetricDataQueries"],
            float(params["StartTime"]),
            float(params["EndTime"]),
            scan_by=str(params.get("ScanBy") or "TimestampDescending"),
        )
        results: list[dict[str, Any]] = answer["MetricDataResults"]
        total = sum(len(r["Timestamps"]) for r in results)
        if skip == 0 and total <= limit:
            return answer
        position, end = 0, skip + limit
        for result in results:
            count = len(result["Timestamps"])
            lo, hi = max(0, skip - position), max(0, min(count, end - position))
            if hi < count:
                result["StatusCode"] = "PartialData"
            result["Timestamps"] = result["Timestamps"][lo:hi]
            result["Values"] = result["Values"][lo:hi]
            position += count
        if end < total:
            answer["NextToken"] = _token("GetMetricData", end)
        return answer

    def get_metric_statistics(self, params: dict[str, Any]) -> dict[str, Any]:
        """GetMetricStatistics: basic statistics or percentiles (exactly one of the two lists)."""
        self._fresh()
        stats: list[str] = list(params.get("Statistics") or [])
        extended: list[str] = list(params.get("ExtendedStatistics") or [])
        if bool(stats) == bool(extended):
            raise AwsApiError(
                "InvalidParameterCombination",
                "Must specify either Statistics or ExtendedStatistics, but not both.",
            )
        if len(stats) > 5:
            raise _schema(stats, "statistics", "Member must have length less than or equal to 5")
        if len(extended) > 10:
            raise _schema(
                extended, "extendedStatistics", "Member must have length less than or equal to 10"
            )
        start, end = float(params["StartTime"]), float(params["EndTime"])
        period = params["Period"]
        if period < 1 or int(period) != period:
            raise AwsApiError(
                "InvalidParameterValue",
                f"The parameter Period must be a positive integer number of seconds, got {period}.",
            )
        requested = math.ceil((end - start) / period) if end > start else 0
        if requested > MAX_STATISTIC_DATAPOINTS:
            raise AwsApiError(
                "InvalidParameterCombination",
                f"You have requested up to {requested:,} datapoints, which exceeds the limit of "
                f"{MAX_STATISTIC_DATAPOINTS:,}. You may reduce the datapoints requested by "
                "increasing Period, or decreasing the time range.",
            )
        dims = check_dimensions(params.get("Dimensions"), "Dimensions")
        datapoints = self._metrics.statistics(
            params["Namespace"],
            params["MetricName"],
            dims,
            start,
            end,
            int(period),
            stats=stats,
            extended=extended,
            unit=params.get("Unit"),
        )
        return {
            "Label": params["MetricName"],
            "Datapoints": [d.to_aws() for d in datapoints],
        }

    def list_metrics(self, params: dict[str, Any]) -> dict[str, Any]:
        """ListMetrics with dimension filters, ``RecentlyActive=PT3H`` and 500-metric pages."""
        self._fresh()
        filters: list[dict[str, Any]] = list(params.get("Dimensions") or [])
        if len(filters) > 10:
            raise _schema(filters, "dimensions", "Member must have length less than or equal to 10")
        recently = params.get("RecentlyActive")
        if recently is not None and recently != "PT3H":
            raise _schema(recently, "recentlyActive", "Member must satisfy enum value set: [PT3H]")
        metrics = self._metrics.list_metrics(
            params.get("Namespace"), params.get("MetricName"), filters or None
        )
        if recently is not None:
            now = self._engine.clock.now()
            metrics = [m for m in metrics if self._active_since(m, now - RECENTLY_ACTIVE_SECONDS)]
        page, token = _page(metrics, params, "ListMetrics", LIST_METRICS_PAGE)
        out: dict[str, Any] = {"Metrics": page}
        if token:
            out["NextToken"] = token
        return out

    def _active_since(self, metric: dict[str, Any], since: float) -> bool:
        key: MetricKey = (
            metric["Namespace"],
            metric["MetricName"],
            tuple((d["Name"], d["Value"]) for d in metric["Dimensions"]),
        )
        now = self._engine.clock.now()
        return bool(self._metrics.aggregates(key, since, now + 1, 60))

    # -- alarms -----------------------------------------------------------------------------

    def put_metric_alarm(self, params: dict[str, Any]) -> None:
        self._alarms.put_metric_alarm(params)

    def describe_alarms(self, params: dict[str, Any]) -> dict[str, Any]:
        """Metric alarms only (no composite alarms locally); pages of ``MaxRecords`` (≤ 100)."""
        types = _alarm_types(params)
        size = _bounded(params, "MaxRecords", "maxRecords", 1, 100, 50)
        related = params.get("ChildrenOfAlarmName") or params.get("ParentsOfAlarmName")
        alarms: list[dict[str, Any]] = []
        if METRIC_ALARM in types and not related:
            alarms = self._alarms.describe_alarms(
                alarm_names=params.get("AlarmNames"),
                alarm_name_prefix=params.get("AlarmNamePrefix"),
                state_value=params.get("StateValue"),
                action_prefix=params.get("ActionPrefix"),
            )
        page, token = _page(alarms, params, "DescribeAlarms", size)
        out: dict[str, Any] = {"MetricAlarms": page}
        if COMPOSITE_ALARM in types:
            out["CompositeAlarms"] = []
        if token:
            out["NextToken"] = token
        return out

    def describe_alarm_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """History items newest first (``ScanBy``), pages of ``MaxRecords`` (≤ 100)."""
        types = _alarm_types(params)
        size = _bounded(params, "MaxRecords", "maxRecords", 1, 100, 100)
        items: list[dict[str, Any]] = []
        if METRIC_ALARM in types:
            items = self._alarms.describe_alarm_history(
                alarm_name=params.get("AlarmName"),
                history_item_type=params.get("HistoryItemType"),
                start_date=params.get("StartDate"),
                end_date=params.get("EndDate"),
                scan_by=str(params.get("ScanBy") or "TimestampDescending"),
            )
        page, token = _page(items, params, "DescribeAlarmHistory", size)
        out: dict[str, Any] = {"AlarmHistoryItems": page}
        if token:
            out["NextToken"] = token
        return out

    def set_alarm_state(self, params: dict[str, Any]) -> None:
        reason = str(params["StateReason"])
        if len(reason) > 1023:
            raise _schema(
                reason[:32] + "...",
                "stateReason",
                "Member must have length less than or equal to 1023",
            )
        self._alarms.set_alarm_state(
            params["AlarmName"], params["StateValue"], reason, params.get("StateReasonData")
        )

    def delete_alarms(self, params: dict[str, Any]) -> None:
        self._alarms.delete_alarms(list(params["AlarmNames"]))
