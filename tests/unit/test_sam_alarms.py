from __future__ import annotations

from typing import Any

import pytest

from apicanary.errors import TemplateError
from apicanary.project.cw_alarm import put_metric_alarm_input

BASE: dict[str, Any] = {
    "MetricName": "Errors",
    "Namespace": "AWS/Lambda",
    "Statistic": "Sum",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 1,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
}


def convert(**changes: Any) -> dict[str, Any]:
    props = {k: v for k, v in {**BASE, **changes}.items() if v is not None}
    return put_metric_alarm_input(props, "a", "R.A.Properties")


def test_single_metric_alarm_is_put_metric_alarm_input() -> None:
    out = convert(
        ExtendedStatistic="p99",
        Statistic=None,
        TreatMissingData="breaching",
        ActionsEnabled="false",
        AlarmActions=["arn:aws:sns:us-east-1:123456789012:t"],
        Unit="Count",
        Tags=[{"Key": "team", "Value": "orders"}],
        Period="10",
    )
    assert out == {
        "AlarmName": "a",
        "MetricName": "Errors",
        "Namespace": "AWS/Lambda",
        "ExtendedStatistic": "p99",
        "Period": 10,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "breaching",
        "ActionsEnabled": False,
        "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:t"],
        "Unit": "Count",
        "Tags": [{"Key": "team", "Value": "orders"}],
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"Period": 45},
            "R.A.Properties.Period: 45 is not a valid period: must be 10, 20, 30 or a multiple "
            "of 60",
        ),
        (
            {"EvaluationPeriods": 0},
            "R.A.Properties.EvaluationPeriods: 0 is out of range: must be >= 1",
        ),
        (
            {"EvaluationPeriods": 1441},
            "R.A.Properties.EvaluationPeriods: EvaluationPeriods * Period = 86460 s",
        ),
        (
            {"EvaluationPeriods": 2, "DatapointsToAlarm": 3},
            "R.A.Properties.DatapointsToAlarm: 3 is out of range: must be 1..2 "
            "(at most EvaluationPeriods)",
        ),
        (
            {"Statistic": "Median"},
            'R.A.Properties.Statistic: "Median" is not allowed: must be one of SampleCount',
        ),
        (
            {"ExtendedStatistic": "p99"},
            "R.A.Properties: exactly one of Statistic and ExtendedStatistic",
        ),
        ({"ComparisonOperator": ">="}, 'R.A.Properties.ComparisonOperator: ">=" is not allowed'),
        ({"ComparisonOperator": None}, "R.A.Properties.ComparisonOperator: is required"),
        (
            {"TreatMissingData": "zero"},
            'R.A.Properties.TreatMissingData: "zero" is not allowed: must be one of missing, '
            "notBreaching, breaching, ignore",
        ),
        ({"Threshold": None}, "R.A.Properties.Threshold: is required (or ThresholdMetricId)"),
        ({"Threshold": "high"}, 'R.A.Properties.Threshold: "high" is not a number'),
        ({"MetricName": None}, "R.A.Properties.MetricName: is required"),
        (
            {"Dimensions": [{"Name": "A"}]},
            'R.A.Properties.Dimensions[0]: {"Name": "A"} must have exactly Name and Value',
        ),
        (
            {"Dimensions": [{"Name": "A", "Value": "b"}] * 31},
            "R.A.Properties.Dimensions: has 31 entries: at most 30",
        ),
        (
            {"Metric": "x"},
            "R.A.Properties.Metric: is not an AWS::CloudWatch::Alarm property; allowed: ",
        ),
        (
            {"Metrics": [{"Id": "m", "Expression": "1"}]},
            "R.A.Properties.MetricName: cannot be combined with Metrics",
        ),
    ],
)
def test_alarm_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError) as info:
        convert(**changes)
    assert str(info.value).startswith(message)


def _math(*queries: dict[str, Any]) -> dict[str, Any]:
    return convert(
        MetricName=None, Namespace=None, Statistic=None, Period=None, Metrics=list(queries)
    )


STAT = {"Metric": {"MetricName": "Errors", "Namespace": "AWS/Lambda"}, "Period": 60, "Stat": "Sum"}


def test_metric_math_alarm() -> None:
    out = _math(
        {"Id": "e", "MetricStat": STAT, "ReturnData": "false"}, {"Id": "r", "Expression": "e*2"}
    )
    assert out["Metrics"] == [
        {"Id": "e", "ReturnData": False, "MetricStat": STAT},
        {"Id": "r", "Expression": "e*2"},
    ]


@pytest.mark.parametrize(
    ("queries", "message"),
    [
        ([], "R.A.Properties.Metrics: has 0 entries: must be 1..10"),
        (
            [{"Id": "E", "Expression": "1"}],
            'R.A.Properties.Metrics[0].Id: "E" is not valid: an Id starts with a lower-case',
        ),
        ([{"Id": "e"}], "R.A.Properties.Metrics[0]: exactly one of MetricStat and Expression"),
        (
            [{"Id": "e", "MetricStat": STAT}, {"Id": "f", "Expression": "e"}],
            "R.A.Properties.Metrics: 2 entries return data (e, f): exactly one must have "
            "ReturnData true",
        ),
        (
            [{"Id": "e", "Expression": "1", "ReturnData": False}, {"Id": "e", "Expression": "2"}],
            "R.A.Properties.Metrics: Id 'e' is used more than once",
        ),
        (
            [{"Id": "e", "MetricStat": {**STAT, "Period": 7}}],
            "R.A.Properties.Metrics[0].MetricStat.Period: 7 is not a valid period",
        ),
        (
            [{"Id": "e", "MetricStat": {"Period": 60, "Stat": "Sum"}}],
            "R.A.Properties.Metrics[0].MetricStat.Metric: is required",
        ),
    ],
)
def test_metric_math_errors(queries: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(TemplateError) as info:
        _math(*queries)
    assert str(info.value).startswith(message)
