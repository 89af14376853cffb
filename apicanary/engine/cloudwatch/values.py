"""Value types of the CloudWatch data model, shared by the metric store, metric math and alarms.

A metric is identified by ``(namespace, metric name, dimensions)`` where dimensions are a
frozen, name-sorted tuple of ``(name, value)`` pairs (:data:`MetricKey`). Two dimension sets
are different metrics even if one contains the other, exactly as in CloudWatch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apicanary.errors import AwsApiError
from apicanary.sketch import QuantileSketch

Dimensions = tuple[tuple[str, str], ...]
MetricKey = tuple[str, str, Dimensions]
"""``(namespace, metric_name, dimensions)``; build it once with :func:`metric_key`."""

Point = tuple[MetricKey, float, float, str]
"""One observation for :meth:`MetricStore.put_many`: ``(key, timestamp, value, unit)``."""

DimensionsLike = Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[Mapping[str, str]]
"""``{"FunctionName": "api"}``, ``[("FunctionName", "api")]`` or AWS's
``[{"Name": "FunctionName", "Value": "api"}]``."""

BASIC_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")

UNITS = frozenset(
    [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ]
)

_PERCENTILE = re.compile(r"^p(\d{1,3}(?:\.\d{1,10})?)$")


def dimensions_of(dimensions: DimensionsLike | None) -> Dimensions:
    """Normalise any accepted dimension spelling to the frozen sorted tuple."""
    if not dimensions:
        return ()
    pairs: list[tuple[str, str]] = []
    if isinstance(dimensions, Mapping):
        pairs = [(str(k), str(v)) for k, v in dimensions.items()]
    else:
        for item in dimensions:
            if isinstance(item, Mapping):
                pairs.append((str(item["Name"]), str(item["Value"])))
            else:
                name, value = item
                pairs.append((str(name), str(value)))
    return tuple(sorted(pairs))


def metric_key(namespace: str, name: str, dimensions: DimensionsLike | None = None) -> MetricKey:
    """The key of a metric; build it once and reuse it on the hot path."""
    return (namespace, name, dimensions_of(dimensions))


def dimensions_to_aws(dimensions: Dimensions) -> list[dict[str, str]]:
    return [{"Name": n, "Value": v} for n, v in dimensions]


def parse_percentile(stat: str) -> float | None:
    """``"p99.9"`` -> 0.999; ``None`` if ``stat`` is not a percentile in [p0, p100]."""
    match = _PERCENTILE.match(stat)
    if not match:
        return None
    value = float(match.group(1))
    if value > 100.0:
        return None
    return value / 100.0


def check_statistic(stat: str, parameter: str = "Stat") -> None:
    """Raise CloudWatch's error unless ``stat`` is a basic statistic or a ``pNN`` percentile."""
    if stat in BASIC_STATISTICS or parse_percentile(stat) is not None:
        return
    raise AwsApiError(
        "InvalidParameterValue",
        f"The value {stat} for parameter {parameter} is not supported.",
    )


@dataclass(slots=True)
class Aggregate:
    """Statistics of the samples in one period: exact count/sum/min/max, sketched quantiles.

    ``sketch`` is ``None`` when quantiles were not asked for, or when every sample had the
    same value (then every quantile is that value).
    """

    count: int
    total: float
    minimum: float
    maximum: float
    sketch: QuantileSketch | None = None

    def stat(self, stat: str) -> float:
        """The value of a basic statistic or a percentile (``"p99"``) for this period."""
        if stat == "Sum":
            return self.total
        if stat == "Average":
            return self.total / self.count
        if stat == "SampleCount":
            return float(self.count)
        if stat == "Minimum":
            return self.minimum
        if stat == "Maximum":
            return self.maximum
        q = parse_percentile(stat)
        if q is None:
            raise ValueError(f"unknown statistic {stat!r}")
        return self.quantile(q)

    def quantile(self, q: float) -> float:
        if q <= 0.0:
            return self.minimum
        if q >= 1.0:
            return self.maximum
        if self.sketch is None or self.minimum == self.maximum:
            return self.minimum
        estimate = self.sketch.quantile(q)
        return min(self.maximum, max(self.minimum, estimate))


@dataclass(frozen=True, slots=True)
class Datapoint:
    """One period of :meth:`MetricStore.statistics`; ``timestamp`` is the period start."""

    timestamp: float
    sample_count: float
    sum: float
    minimum: float
    maximum: float
    unit: str
    extended: Mapping[str, float] = field(default_factory=dict)
    statistics: tuple[str, ...] = BASIC_STATISTICS

    @property
    def average(self) -> float:
        return self.sum / self.sample_count if self.sample_count else math.nan

    def to_aws(self) -> dict[str, Any]:
        """The datapoint as GetMetricStatistics returns it (only the requested statistics)."""
        values = {
            "SampleCount": self.sample_count,
            "Average": self.average,
            "Sum": self.sum,
            "Minimum": self.minimum,
            "Maximum": self.maximum,
        }
        out: dict[str, Any] = {"Timestamp": self.timestamp, "Unit": self.unit}
        for name in self.statistics:
            out[name] = values[name]
        if self.extended:
            out["ExtendedStatistics"] = dict(self.extended)
        return out
