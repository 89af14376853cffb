"""PutMetricData validation and the samples each datum form becomes (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from apicanary.engine.cloudwatch.put_data import Sample, samples_of
from apicanary.errors import AwsApiError

NOW = 1_750_000_000.0


def _one(datum: dict[str, Any]) -> list[Sample]:
    namespace, samples = samples_of({"Namespace": "App", "MetricData": [datum]}, NOW)
    assert namespace == "App"
    return samples


def _error(params: dict[str, Any]) -> AwsApiError:
    with pytest.raises(AwsApiError) as info:
        samples_of(params, NOW)
    return info.value


def test_value_defaults() -> None:
    (sample,) = _one({"MetricName": "m", "Value": 2.5})
    assert sample == Sample("m", (), 2.5, NOW, "None", 1)


def test_values_with_counts_skip_zero_counts() -> None:
    samples = _one({"MetricName": "m", "Values": [1.0, 2.0, 3.0], "Counts": [2.0, 0.0, 1.0]})
    assert [(s.value, s.count) for s in samples] == [(1.0, 2), (3.0, 1)]


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        ({"SampleCount": 1.0, "Sum": 4.0, "Minimum": 4.0, "Maximum": 4.0}, [(4.0, 1)]),
        ({"SampleCount": 2.0, "Sum": 5.0, "Minimum": 1.0, "Maximum": 4.0}, [(1.0, 1), (4.0, 1)]),
        (
            {"SampleCount": 5.0, "Sum": 15.0, "Minimum": 1.0, "Maximum": 5.0},
            [(1.0, 1), (5.0, 1), (3.0, 3)],
        ),
    ],
)
def test_statistic_sets_keep_count_sum_min_max(
    stats: dict[str, float], expected: list[tuple[float, int]]
) -> None:
    samples = _one({"MetricName": "m", "StatisticValues": stats})
    assert [(s.value, s.count) for s in samples] == expected
    assert sum(s.value * s.count for s in samples) == stats["Sum"]
    assert sum(s.count for s in samples) == stats["SampleCount"]


def test_dimensions_are_sorted_and_unique() -> None:
    dims = [{"Name": "b", "Value": "2"}, {"Name": "a", "Value": "1"}]
    (sample,) = _one({"MetricName": "m", "Value": 1.0, "Dimensions": dims})
    assert sample.dimensions == (("a", "1"), ("b", "2"))
    twice = _error(
        {"Namespace": "App", "MetricData": [
            {"MetricName": "m", "Value": 1.0, "Dimensions": [dims[0], dims[0]]}]}
    )  # fmt: skip
    assert twice.code == "InvalidParameterValue"


@pytest.mark.parametrize(
    ("params", "code", "needle"),
    [
        ({"Namespace": "AWS/Lambda", "MetricData": [{"MetricName": "m", "Value": 1.0}]},
         "InvalidParameterValue", "Namespace"),
        ({"Namespace": "App", "MetricData": []}, "MissingParameter", "MetricData"),
        ({"Namespace": "App", "MetricData": [{"MetricName": "m"}]},
         "MissingParameter", "MetricData.member.1.Value"),
        ({"Namespace": "App", "MetricData": [{"MetricName": "m", "Value": float("nan")}]},
         "InvalidParameterValue", "MetricData.member.1.Value"),
        ({"Namespace": "App", "MetricData": [{"MetricName": "m", "Value": 1e-200}]},
         "InvalidParameterValue", "MetricData.member.1.Value"),
        ({"Namespace": "App", "MetricData": [{"MetricName": "m", "Values": [1.0],
          "Counts": [1.5]}]}, "InvalidParameterValue", "Counts.member.1"),
        ({"Namespace": "App", "MetricData": [{"MetricName": "m", "Values": [1.0] * 151}]},
         "InvalidParameterValue", "Values"),
        ({"Namespace": "App", "MetricData": [{"MetricName": "m", "StatisticValues":
          {"SampleCount": 2.0, "Sum": 1.0, "Minimum": 3.0, "Maximum": 1.0}}]},
         "InvalidParameterValue", "Minimum"),
        ({"Namespace": "App", "MetricData": [{"MetricName": "m", "StatisticValues":
          {"SampleCount": 2.0, "Sum": 1.0, "Minimum": 0.0}}]},
         "MissingParameter", "StatisticValues.Maximum"),
        ({"Namespace": "App", "MetricData": [{"MetricName": "m", "Value": 1.0,
          "Timestamp": NOW + 3 * 3600}]}, "InvalidParameterValue", "Timestamp"),
        ({"Namespace": "App", "MetricData": [{"MetricName": "m", "Value": 1.0,
          "StorageResolution": 5}]}, "InvalidParameterValue", "StorageResolution"),
        ({"Namespace": "App", "MetricData": [{"MetricName": "m", "Value": 1.0}] * 1001},
         "InvalidParameterValue", "MetricData"),
        ({"Namespace": "App", "MetricData": [{"MetricName": "m", "Value": 1.0}, {"MetricName":
          "m", "Value": 1.0, "Dimensions": [{"Name": "d", "Value": "x"}] * 31}]},
         "InvalidParameterValue", "MetricData.member.2.Dimensions"),
    ],
)  # fmt: skip
def test_invalid_requests(params: dict[str, Any], code: str, needle: str) -> None:
    error = _error(params)
    assert error.code == code
    assert needle in error.message
