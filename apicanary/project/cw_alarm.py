"""``AWS::CloudWatch::Alarm`` properties → a validated ``PutMetricAlarm`` input.

CloudFormation's property names are PutMetricAlarm's own, so the mapping is one-to-one; this
module resolves intrinsics, coerces numbers and booleans, and enforces the rules of
aws-semantics §4.1 (single metric xor ``Metrics``, Statistic xor ExtendedStatistic, valid
periods, ``DatapointsToAlarm ≤ EvaluationPeriods``, one ``ReturnData`` expression...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apicanary.project.fields import (
    as_bool,
    as_float,
    as_int,
    as_list,
    as_mapping,
    as_str,
    as_str_list,
    child,
    fail,
    show,
)
from apicanary.project.intrinsics import Resolver
from apicanary.project.specs import AlarmSpec

STATISTICS: Final = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
COMPARISONS: Final = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)
MISSING_DATA: Final = ("missing", "notBreaching", "breaching", "ignore")
PROPERTIES: Final = frozenset(
    {
        "AlarmName",
        "AlarmDescription",
        "ActionsEnabled",
        "AlarmActions",
        "OKActions",
        "InsufficientDataActions",
        "MetricName",
        "Namespace",
        "Statistic",
        "ExtendedStatistic",
        "Dimensions",
        "Period",
        "Unit",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "Threshold",
        "ThresholdMetricId",
        "ComparisonOperator",
        "TreatMissingData",
        "EvaluateLowSampleCountPercentile",
        "Metrics",
        "Tags",
    }
)
_ONE_DAY: Final = 86_400


def alarm_spec(resolver: Resolver, lid: str, properties: Mapping[str, Any]) -> AlarmSpec:
    """Alarm ``lid`` (its ``properties`` as written) as an :class:`AlarmSpec`.

    The name is ``AlarmName`` or else the logical id (1-255 characters).
    """
    base = f"Resources.{lid}.Properties"
    name = resolver.alarm_name(lid)
    as_str(name, child(base, "AlarmName"), pattern=r".{1,255}", allowed="1-255 characters")
    props = as_mapping(resolver.resolve(properties, base), base)
    return AlarmSpec(lid, name, put_metric_alarm_input(props, name, base))


def put_metric_alarm_input(props: Mapping[str, Any], alarm_name: str, path: str) -> dict[str, Any]:
    """Resolved alarm ``props`` (at ``path``) as PutMetricAlarm keyword arguments."""
    unknown = sorted(set(props) - PROPERTIES)
    if unknown:
        raise fail(
            child(path, unknown[0]),
            f"is not an AWS::CloudWatch::Alarm property; allowed: {', '.join(sorted(PROPERTIES))}",
        )
    out: dict[str, Any] = {"AlarmName": alarm_name}
    for key in (
        "AlarmDescription",
        "Unit",
        "ThresholdMetricId",
        "EvaluateLowSampleCountPercentile",
    ):
        if key in props:
            out[key] = as_str(props[key], child(path, key))
    for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        if key in props:
            out[key] = as_str_list(props[key], child(path, key))
    if "ActionsEnabled" in props:
        out["ActionsEnabled"] = as_bool(props["ActionsEnabled"], child(path, "ActionsEnabled"))
    if "Tags" in props:
        out["Tags"] = _name_values(props["Tags"], child(path, "Tags"), "Key")
    out["ComparisonOperator"] = _choice(props, "ComparisonOperator", COMPARISONS, path)
    out["EvaluationPeriods"] = as_int(
        _required(props, "EvaluationPeriods", path), child(path, "EvaluationPeriods"), low=1
    )
    if "DatapointsToAlarm" in props:
        out["DatapointsToAlarm"] = as_int(
            props["DatapointsToAlarm"],
            child(path, "DatapointsToAlarm"),
            low=1,
            high=out["EvaluationPeriods"],
            unit="(at most EvaluationPeriods)",
        )
    if "TreatMissingData" in props:
        out["TreatMissingData"] = _choice(props, "TreatMissingData", MISSING_DATA, path)
    if "Threshold" in props:
        out["Threshold"] = as_float(props["Threshold"], child(path, "Threshold"))
    elif "ThresholdMetricId" not in props:
        raise fail(child(path, "Threshold"), "is required (or ThresholdMetricId)")
    if "Metrics" in props:
        _metric_math(props, path, out)
    else:
        _single_metric(props, path, out)
    return out


def _single_metric(props: Mapping[str, Any], path: str, out: dict[str, Any]) -> None:
    out["MetricName"] = as_str(_required(props, "MetricName", path), child(path, "MetricName"))
    out["Namespace"] = as_str(_required(props, "Namespace", path), child(path, "Namespace"))
    if "Dimensions" in props:
        out["Dimensions"] = _name_values(props["Dimensions"], child(path, "Dimensions"), "Name")
    if ("Statistic" in props) == ("ExtendedStatistic" in props):
        raise fail(path, "exactly one of Statistic and ExtendedStatistic is required")
    if "Statistic" in props:
        out["Statistic"] = _choice(props, "Statistic", STATISTICS, path)
    else:
        out["ExtendedStatistic"] = as_str(
            props["ExtendedStatistic"], child(path, "ExtendedStatistic")
        )
    out["Period"] = _period(_required(props, "Period", path), child(path, "Period"))
    _check_window(out, path)


def _metric_math(props: Mapping[str, Any], path: str, out: dict[str, Any]) -> None:
    clash = [k for k in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic") if k in props]
    if clash:
        raise fail(child(path, clash[0]), "cannot be combined with Metrics (metric math)")
    metrics_path = child(path, "Metrics")
    queries = as_list(props["Metrics"], metrics_path)
    if not 1 <= len(queries) <= 10:
        raise fail(metrics_path, f"has {len(queries)} entries: must be 1..10")
    out["Metrics"] = [_query(q, child(metrics_path, i)) for i, q in enumerate(queries)]
    ids = [q["Id"] for q in out["Metrics"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise fail(metrics_path, f"Id {duplicates[0]!r} is used more than once")
    returned = [q["Id"] for q in out["Metrics"] if q.get("ReturnData", True)]
    if len(returned) != 1:
        raise fail(
            metrics_path,
            f"{len(returned)} entries return data ({', '.join(returned) or 'none'}): exactly one "
            "must have ReturnData true (set ReturnData: false on the others)",
        )
    if "Period" in props:
        out["Period"] = _period(props["Period"], child(path, "Period"))


def _query(value: Any, path: str) -> dict[str, Any]:
    query = as_mapping(value, path)
    out: dict[str, Any] = {
        "Id": as_str(
            _required(query, "Id", path),
            child(path, "Id"),
            pattern=r"[a-z][a-zA-Z0-9_]{0,254}",
            allowed="an Id starts with a lower-case letter, then letters, digits or '_'",
        )
    }
    if ("MetricStat" in query) == ("Expression" in query):
        raise fail(path, "exactly one of MetricStat and Expression is required")
    for key in ("Expression", "Label", "AccountId"):
        if key in query:
            out[key] = as_str(query[key], child(path, key))
    if "ReturnData" in query:
        out["ReturnData"] = as_bool(query["ReturnData"], child(path, "ReturnData"))
    if "Period" in query:
        out["Period"] = _period(query["Period"], child(path, "Period"))
    if "MetricStat" in query:
        out["MetricStat"] = _metric_stat(query["MetricStat"], child(path, "MetricStat"))
    return out


def _metric_stat(value: Any, path: str) -> dict[str, Any]:
    stat = as_mapping(value, path)
    metric_path = child(path, "Metric")
    metric = as_mapping(_required(stat, "Metric", path), metric_path)
    out_metric: dict[str, Any] = {
        "MetricName": as_str(
            _required(metric, "MetricName", metric_path), child(metric_path, "MetricName")
        ),
        "Namespace": as_str(
            _required(metric, "Namespace", metric_path), child(metric_path, "Namespace")
        ),
    }
    if "Dimensions" in metric:
        out_metric["Dimensions"] = _name_values(
            metric["Dimensions"], child(metric_path, "Dimensions"), "Name"
        )
    out: dict[str, Any] = {
        "Metric": out_metric,
        "Period": _period(_required(stat, "Period", path), child(path, "Period")),
        "Stat": as_str(_required(stat, "Stat", path), child(path, "Stat")),
    }
    if "Unit" in stat:
        out["Unit"] = as_str(stat["Unit"], child(path, "Unit"))
    return out


def _name_values(value: Any, path: str, key_field: str) -> list[dict[str, str]]:
    items = as_list(value, path)
    if len(items) > 30:
        raise fail(path, f"has {len(items)} entries: at most 30 are allowed")
    result = []
    for i, item in enumerate(items):
        item_path = child(path, i)
        entry = as_mapping(item, item_path)
        if set(entry) != {key_field, "Value"}:
            raise fail(item_path, f"{show(entry)} must have exactly {key_field} and Value")
        result.append(
            {
                key_field: as_str(entry[key_field], child(item_path, key_field)),
                "Value": as_str(entry["Value"], child(item_path, "Value")),
            }
        )
    return result


def _period(value: Any, path: str) -> int:
    period = as_int(value, path, low=1, unit="seconds")
    if period not in (10, 20, 30) and period % 60:
        raise fail(path, f"{period} is not a valid period: must be 10, 20, 30 or a multiple of 60")
    return period


def _check_window(out: Mapping[str, Any], path: str) -> None:
    window = out["EvaluationPeriods"] * out["Period"]
    if window > _ONE_DAY:
        raise fail(
            child(path, "EvaluationPeriods"),
            f"EvaluationPeriods * Period = {window} s is out of range: must be at most 86400 s",
        )


def _choice(props: Mapping[str, Any], key: str, allowed: tuple[str, ...], path: str) -> str:
    value = as_str(_required(props, key, path), child(path, key))
    if value not in allowed:
        raise fail(
            child(path, key), f"{show(value)} is not allowed: must be one of {', '.join(allowed)}"
        )
    return value


def _required(props: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in props:
        raise fail(child(path, key), "is required")
    return props[key]
