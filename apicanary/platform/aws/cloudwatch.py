"""Reading a rollout's evidence and alarms from CloudWatch, for the AWS platform.

:class:`CloudWatchReader` makes the calls (GetMetricData, ListMetrics, DescribeAlarms, and
GetRestApi for an API's name); which metrics, queries and windows is decided by the pure
functions of :mod:`apicanary.platform.aws.telemetry`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apicanary.clock import Clock
from apicanary.errors import AwsApiError, BadInputError
from apicanary.platform.aws import telemetry as tm
from apicanary.platform.aws.clients import AwsClients
from apicanary.platform.aws.errors import aws_call, paginate
from apicanary.platform.base import TelemetryBatch, TelemetryTarget


class CloudWatchReader:
    """Telemetry windows, latency percentiles and alarm states of a canary on AWS.

    ``delay_s``: how long after a minute ends its CloudWatch datapoints are taken as complete
    (``TelemetryBatch.fresh_until`` lags ``now`` by this much). ``api_names`` caches REST API
    id → name (metrics are dimensioned by name); :meth:`AwsPlatform.find_api` fills it too.
    """

    def __init__(self, clients: AwsClients, clock: Clock, delay_s: float) -> None:
        self.clients = clients
        self.clock = clock
        self.delay_s = delay_s
        self.api_names: dict[str, str] = {}
        self._canary_stage_dims: dict[tuple[str, str], str] = {}

    def _api_name(self, target: TelemetryTarget) -> str:
        if target.api_name:
            return target.api_name
        if not target.api_id:
            raise BadInputError("stage-mode telemetry needs the API name or id")
        if target.api_id not in self.api_names:
            data = aws_call(self.clients.apigateway, "get_rest_api", restApiId=target.api_id)
            self.api_names[target.api_id] = str(data.get("name") or target.api_id)
        return self.api_names[target.api_id]

    def canary_stage_dimension(self, api_name: str, stage: str) -> str:
        """The canary's ``Stage`` dimension value: discovered with ListMetrics (then cached),
        else the conventional ``<stage>/Canary`` until CloudWatch lists one."""
        key = (api_name, stage)
        if key in self._canary_stage_dims:
            return self._canary_stage_dims[key]
        metrics = paginate(
            self.clients.cloudwatch,
            "list_metrics",
            "Metrics",
            Namespace="AWS/ApiGateway",
            MetricName="Count",
            Dimensions=[{"Name": "ApiName", "Value": api_name}],
        )
        found = tm.discover_canary_stage(metrics, stage)
        if found is None:
            return f"{stage}{tm.CANARY_STAGE_SUFFIX}"
        self._canary_stage_dims[key] = found
        return found

    def _series(self, target: TelemetryTarget) -> list[tm.Series]:
        if target.mode == "stage":
            if not target.stage:
                raise BadInputError("stage-mode telemetry needs the stage name")
            api_name = self._api_name(target)
            canary_stage = self.canary_stage_dimension(api_name, target.stage)
            return tm.stage_series(api_name, target.stage, canary_stage)
        return tm.alias_series(
            target.function, target.alias, target.stable_version, target.canary_version
        )

    def _metric_data(
        self, queries: list[dict[str, Any]], start: float, end: float
    ) -> dict[str, dict[float, float]]:
        pages: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = aws_call(
                self.clients.cloudwatch,
                "get_metric_data",
                MetricDataQueries=queries,
                StartTime=start,
                EndTime=end,
                ScanBy="TimestampAscending",
                NextToken=token,
            )
            pages.append(page)
            token = page.get("NextToken")
            if not token:
                return tm.collect_results(pages)

    def read_telemetry(self, target: TelemetryTarget, cursor: Any) -> TelemetryBatch:
        """Windows (one per CloudWatch minute with traffic) completed since ``cursor``.

        ``cursor=None`` starts at the current minute: data from before the call is not
        returned. ``fresh_until`` (the watermark) is measured: the start of the newest minute
        CloudWatch already has data for (every earlier minute is complete), or else the last
        period boundary ``delay_s`` ago (:func:`~apicanary.platform.aws.telemetry.complete_until`).
        """
        now = self.clock.now()
        start = tm.period_floor(now) if cursor is None else float(cursor)
        if tm.period_floor(now) <= start:  # still in the first minute: nothing can be complete
            return TelemetryBatch(cursor=start, fresh_until=start, windows=())
        queries = tm.metric_queries(self._series(target))
        results = self._metric_data(queries, start, now)
        fresh = max(start, tm.complete_until(results, now, self.delay_s))
        windows = tm.fold_windows(results, start, fresh)
        return TelemetryBatch(cursor=fresh, fresh_until=fresh, windows=tuple(windows))

    def read_latency_percentiles(
        self,
        target: TelemetryTarget,
        start: float,
        end: float,
        percentiles: Sequence[float] = (90.0, 99.0),
    ) -> dict[str, dict[str, float]]:
        """``{"stable"|"canary": {"p90": ms, ...}}`` over ``[start, end)`` (whole minutes).

        Alias mode: Lambda ``Duration`` by executed version; stage mode: API Gateway
        ``Latency``. An arm without data in the range is missing from the answer.
        """
        start = tm.period_floor(start)
        span = max(tm.PERIOD_S, int(tm.period_floor(end) - start))
        series = self._series(target)
        namespace, metric = (
            ("AWS/ApiGateway", "Latency") if target.mode == "stage" else ("AWS/Lambda", "Duration")
        )
        arms = [("stable", series[0].dimensions), ("canary", series[2].dimensions)]
        wanted = tm.percentile_series(arms, namespace, metric, percentiles)
        results = self._metric_data(tm.metric_queries(wanted, span), start, start + span)
        latest = tm.latest_values(results)
        out: dict[str, dict[str, float]] = {}
        for s in wanted:
            if s.id in latest:
                out.setdefault(s.id.split("P", 1)[0], {})[s.stat] = latest[s.id]
        return out

    def alarm_states(self, names: Sequence[str]) -> Mapping[str, str]:
        """``{name: state}`` for metric and composite alarms; unknown names raise."""
        states: dict[str, str] = {}
        wanted = list(dict.fromkeys(names))
        for at in range(0, len(wanted), 100):  # DescribeAlarms takes at most 100 names
            chunk = wanted[at : at + 100]
            for key in ("MetricAlarms", "CompositeAlarms"):
                for alarm in paginate(
                    self.clients.cloudwatch,
                    "describe_alarms",
                    key,
                    AlarmNames=chunk,
                    AlarmTypes=["MetricAlarm", "CompositeAlarm"],
                ):
                    states[str(alarm["AlarmName"])] = str(alarm["StateValue"])
        missing = [name for name in wanted if name not in states]
        if missing:
            raise AwsApiError(
                "ResourceNotFound",
                f"CloudWatch has no alarm named {', '.join(missing)}",
                404,
            )
        return {name: states[name] for name in wanted}
