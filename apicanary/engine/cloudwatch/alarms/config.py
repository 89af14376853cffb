"""PutMetricAlarm request validation → :class:`AlarmConfig` (pure).

Error codes are CloudWatch's: schema violations are ``ValidationError`` with AWS's
"1 validation error detected: ..." wording; semantic checks use ``InvalidParameterValue``,
``InvalidParameterCombination`` and ``MissingParameter``. Messages quoted from AWS:
"Exactly one element of the metrics list should return data."; the others are written in
AWS's style and marked [Unverified] where their exact wording is not recorded.

Local deviation (documented): ``Period`` may be any whole number of seconds ≥ 1, not only
10, 20, 30 or a multiple of 60, so that local alarms can react within seconds. The AWS
constraint ``EvaluationPeriods x Period ≤ 86,400`` is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apicanary.engine.cloudwatch import queries
from apicanary.engine.cloudwatch.alarms.decide import OPERATORS, TREAT_MISSING
from apicanary.engine.cloudwatch.values import (
    BASIC_STATISTICS,
    UNITS,
    Dimensions,
    dimensions_of,
    parse_percentile,
)
from apicanary.errors import AwsApiError

ANOMALY_OPERATORS = (
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)
MAX_ALARM_METRICS = 10
MAX_ACTIONS = 5
MAX_SPAN_SECONDS = 86400

_SINGLE_METRIC_FIELDS = (
    "MetricName",
    "Namespace",
    "Dimensions",
    "Period",
    "Unit",
    "Statistic",
    "ExtendedStatistic",
)


def _schema(value: Any, member: str, constraint: str) -> AwsApiError:
    shown = "null" if value is None else f"'{value}'"
    return AwsApiError(
        "ValidationError",
        f"1 validation error detected: Value {shown} at '{member}' failed to satisfy "
        f"constraint: {constraint}",
    )


def _enum(value: Any, member: str, allowed: Sequence[str]) -> AwsApiError:
    return _schema(value, member, f"Member must satisfy enum value set: [{', '.join(allowed)}]")


@dataclass(frozen=True, slots=True)
class AlarmConfig:
    """A validated metric alarm. ``request`` is the normalised PutMetricAlarm input."""

    name: str
    description: str | None
    actions_enabled: bool
    ok_actions: tuple[str, ...]
    alarm_actions: tuple[str, ...]
    insufficient_data_actions: tuple[str, ...]
    namespace: str | None
    metric_name: str | None
    dimensions: Dimensions
    statistic: str | None
    extended_statistic: str | None
    period: int
    unit: str | None
    metrics: tuple[Mapping[str, Any], ...] | None
    evaluation_periods: int
    datapoints_to_alarm: int
    datapoints_to_alarm_given: bool
    threshold: float
    comparison_operator: str
    treat_missing_data: str
    evaluate_low_sample_count_percentile: str | None
    request: Mapping[str, Any]

    @property
    def stat(self) -> str | None:
        """The single-metric statistic (basic or ``pNN``); ``None`` for metric math."""
        return self.statistic or self.extended_statistic

    def describe(self) -> dict[str, Any]:
        """The configuration members of a DescribeAlarms ``MetricAlarm``."""
        out: dict[str, Any] = {
            "AlarmName": self.name,
            "ActionsEnabled": self.actions_enabled,
            "OKActions": list(self.ok_actions),
            "AlarmActions": list(self.alarm_actions),
            "InsufficientDataActions": list(self.insufficient_data_actions),
            "EvaluationPeriods": self.evaluation_periods,
            "Threshold": self.threshold,
            "ComparisonOperator": self.comparison_operator,
            "TreatMissingData": self.treat_missing_data,
        }
        if self.description is not None:
            out["AlarmDescription"] = self.description
        if self.datapoints_to_alarm_given:
            out["DatapointsToAlarm"] = self.datapoints_to_alarm
        if self.metrics is not None:
            out["Metrics"] = [dict(q) for q in self.metrics]
        else:
            out["MetricName"] = self.metric_name
            out["Namespace"] = self.namespace
            out["Dimensions"] = [{"Name": n, "Value": v} for n, v in self.dimensions]
            out["Period"] = self.period
            if self.statistic:
                out["Statistic"] = self.statistic
            if self.extended_statistic:
                out["ExtendedStatistic"] = self.extended_statistic
            if self.unit:
                out["Unit"] = self.unit
        if self.evaluate_low_sample_count_percentile:
            out["EvaluateLowSampleCountPercentile"] = self.evaluate_low_sample_count_percentile
        return out


def _int(request: Mapping[str, Any], field: str, member: str, minimum: int) -> int | None:
    value = request.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise _schema(value, member, "Member must be an integer")
    if value < minimum:
        raise _schema(value, member, f"Member must have value greater than or equal to {minimum}")
    return int(value)


def _actions(request: Mapping[str, Any], field: str, member: str) -> tuple[str, ...]:
    actions = list(request.get(field) or [])
    if len(actions) > MAX_ACTIONS:
        raise _schema(
            actions, member, f"Member must have length less than or equal to {MAX_ACTIONS}"
        )
    return tuple(str(a) for a in actions)


def parse_alarm(request: Mapping[str, Any]) -> AlarmConfig:
    """Validate a PutMetricAlarm request (AWS member names) into an :class:`AlarmConfig`."""
    name = request.get("AlarmName")
    if not name:
        raise _schema(None, "alarmName", "Member must not be null")
    if len(str(name)) > 255:
        raise _schema(name, "alarmName", "Member must have length less than or equal to 255")
    description = request.get("AlarmDescription")
    if description is not None and len(str(description)) > 1024:
        raise _schema(
            description, "alarmDescription", "Member must have length less than or equal to 1024"
        )

    evaluation_periods = _int(request, "EvaluationPeriods", "evaluationPeriods", 1)
    if evaluation_periods is None:
        raise _schema(None, "evaluationPeriods", "Member must not be null")
    given_m = _int(request, "DatapointsToAlarm", "datapointsToAlarm", 1)
    if given_m is not None and given_m > evaluation_periods:
        # [Unverified] wording
        raise AwsApiError(
            "ValidationError",
            f"DatapointsToAlarm ({given_m}) must be less than or equal to EvaluationPeriods "
            f"({evaluation_periods}).",
        )

    operator = request.get("ComparisonOperator")
    if operator is None:
        raise _schema(None, "comparisonOperator", "Member must not be null")
    if operator in ANOMALY_OPERATORS:
        raise AwsApiError(
            "InvalidParameterValue",
            f"The comparison operator {operator} needs an anomaly detection band "
            "(ThresholdMetricId), which the local engine does not support.",
        )
    if operator not in OPERATORS:
        raise _enum(operator, "comparisonOperator", [*OPERATORS, *ANOMALY_OPERATORS])
    if request.get("ThresholdMetricId"):
        raise AwsApiError(
            "InvalidParameterValue",
            "ThresholdMetricId (anomaly detection) is not supported by the local engine.",
        )
    threshold = request.get("Threshold")
    if threshold is None:
        raise AwsApiError("MissingParameter", "The parameter Threshold is required.")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise _schema(threshold, "threshold", "Member must be a number")

    treat = request.get("TreatMissingData") or "missing"
    if treat not in TREAT_MISSING:
        # [Unverified] wording
        raise AwsApiError(
            "InvalidParameterValue",
            f"The value {treat} for parameter TreatMissingData is not supported. Supported "
            "values are missing, notBreaching, breaching and ignore.",
        )
    low_sample = request.get("EvaluateLowSampleCountPercentile") or None
    if low_sample is not None and low_sample not in ("evaluate", "ignore"):
        raise AwsApiError(
            "ValidationError",
            f"Option {low_sample} is not supported. Supported options for parameter "
            "EvaluateLowSampleCountPercentile are evaluate and ignore.",
        )

    metrics_raw = request.get("Metrics")
    statistic = request.get("Statistic")
    extended = request.get("ExtendedStatistic")
    unit = request.get("Unit")
    metrics: tuple[Mapping[str, Any], ...] | None = None
    namespace = metric_name = None
    dims: Dimensions = ()
    if metrics_raw:
        present = [f for f in _SINGLE_METRIC_FIELDS if request.get(f)]
        if present:
            raise AwsApiError(
                "InvalidParameterCombination",
                "Metrics cannot be used with MetricName, Namespace, Dimensions, Period, Unit, "
                "Statistic or ExtendedStatistic.",
            )
        metrics, period = _parse_metrics(metrics_raw)
    else:
        metric_name = request.get("MetricName")
        namespace = request.get("Namespace")
        if not metric_name or not namespace:
            raise AwsApiError(
                "ValidationError", "Exactly one element of the metrics list should return data."
            )
        raw_dims = request.get("Dimensions") or []
        if len(raw_dims) > 30:
            raise _schema(
                raw_dims, "dimensions", "Member must have length less than or equal to 30"
            )
        dims = dimensions_of(raw_dims)
        found_period = _int(request, "Period", "period", 1)
        if found_period is None:
            raise AwsApiError("MissingParameter", "The parameter Period is required.")
        period = found_period
        if statistic and extended:
            raise AwsApiError(
                "InvalidParameterCombination",
                "Exactly one of Statistic and ExtendedStatistic must be specified, not both.",
            )
        if not statistic and not extended:
            raise AwsApiError(
                "MissingParameter", "The parameter Statistic or ExtendedStatistic is required."
            )
        if statistic and statistic not in BASIC_STATISTICS:
            raise _enum(statistic, "statistic", BASIC_STATISTICS)
        if extended and parse_percentile(str(extended)) is None:
            raise AwsApiError(
                "InvalidParameterValue",
                f"The value {extended} for parameter ExtendedStatistic is not supported.",
            )
        if unit is not None and unit not in UNITS:
            raise _enum(unit, "unit", sorted(UNITS))

    if evaluation_periods * period > MAX_SPAN_SECONDS:
        # [Unverified] wording
        raise AwsApiError(
            "ValidationError",
            f"The product of EvaluationPeriods ({evaluation_periods}) and Period ({period}) "
            f"must not exceed {MAX_SPAN_SECONDS} seconds (1 day).",
        )

    return AlarmConfig(
        name=str(name),
        description=None if description is None else str(description),
        actions_enabled=bool(request.get("ActionsEnabled", True)),
        ok_actions=_actions(request, "OKActions", "oKActions"),
        alarm_actions=_actions(request, "AlarmActions", "alarmActions"),
        insufficient_data_actions=_actions(
            request, "InsufficientDataActions", "insufficientDataActions"
        ),
        namespace=namespace,
        metric_name=metric_name,
        dimensions=dims,
        statistic=statistic or None,
        extended_statistic=extended or None,
        period=period,
        unit=unit,
        metrics=metrics,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=given_m if given_m is not None else evaluation_periods,
        datapoints_to_alarm_given=given_m is not None,
        threshold=float(threshold),
        comparison_operator=str(operator),
        treat_missing_data=str(treat),
        evaluate_low_sample_count_percentile=low_sample,
        request=dict(request),
    )


def _parse_metrics(raw: Sequence[Mapping[str, Any]]) -> tuple[tuple[Mapping[str, Any], ...], int]:
    metrics = tuple(dict(q) for q in raw)
    returning = [q for q in metrics if q.get("ReturnData", True)]
    if len(returning) != 1:
        raise AwsApiError(
            "ValidationError", "Exactly one element of the metrics list should return data."
        )
    queries.validate_queries(metrics, where="Metrics")
    periods = {int(q["MetricStat"]["Period"]) for q in metrics if q.get("MetricStat")}
    stats = sum(1 for q in metrics if q.get("MetricStat"))
    if stats > MAX_ALARM_METRICS:
        # [Unverified] wording
        raise AwsApiError(
            "ValidationError",
            f"The Metrics list of an alarm may contain at most {MAX_ALARM_METRICS} metrics; "
            f"it has {stats}.",
        )
    if len(periods) > 1:
        # [Unverified] wording
        raise AwsApiError(
            "ValidationError",
            "All metrics of an alarm must have the same Period; got "
            f"{', '.join(str(p) for p in sorted(periods))}.",
        )
    if not periods:
        expression_periods = {int(q["Period"]) for q in metrics if q.get("Period")}
        if len(expression_periods) != 1:
            raise AwsApiError(
                "MissingParameter",
                "The parameter Period is required for an expression that uses no metric.",
            )
        periods = expression_periods
    return metrics, periods.pop()
