"""PutMetricData's rules, CloudWatch's way: the whole request is checked before anything is
stored, and every error names the member (``MetricData.member.2.Value``) as CloudWatch does.

:func:`samples_of` turns a PutMetricData ``params`` dict (botocore's input shape, timestamps as
epoch seconds) into :class:`Sample` rows for :meth:`MetricStore.put`. It raises
:class:`~apicanary.errors.AwsApiError` and has no side effects. The single checks are the ones
:meth:`MetricStore.put` applies to one value.

How each datum form becomes samples:

* ``Value`` → one sample.
* ``Values`` (+ ``Counts``, default 1 each) → each value observed ``count`` times; a zero count
  adds nothing. Counts must be whole numbers locally (the store counts samples as integers).
* ``StatisticValues`` → samples that reproduce ``SampleCount`` and ``Sum`` exactly and
  ``Minimum`` / ``Maximum`` whenever the set is consistent (``min`` once, ``max`` once, the
  remaining ``n - 2`` samples at ``(sum - min - max) / (n - 2)``). CloudWatch itself cannot give
  percentiles of statistic sets; here they are estimates over those samples.

Message wording marked [Unverified] is written in CloudWatch's style, not recorded from AWS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apicanary.engine.cloudwatch.values import UNITS, Dimensions
from apicanary.errors import AwsApiError

MAX_DATUMS = 1000
MAX_VALUES = 150
MAX_DIMENSIONS = 30
MAX_NAME = 255
MAX_DIMENSION_VALUE = 1024
MAX_PAST_SECONDS = 14 * 86400
MAX_FUTURE_SECONDS = 2 * 3600
TOO_LARGE = 2.0**360
TOO_SMALL = 2.0**-360
STORAGE_RESOLUTIONS = (1, 60)


@dataclass(frozen=True, slots=True)
class Sample:
    """``value`` observed ``count`` times at ``timestamp`` (epoch seconds)."""

    name: str
    dimensions: Dimensions
    value: float
    timestamp: float
    unit: str
    count: int = 1


def invalid(message: str) -> AwsApiError:
    return AwsApiError("InvalidParameterValue", message)


def invalid_value(value: Any, member: str) -> AwsApiError:
    return invalid(f"The value {value} for parameter {member} is invalid.")


def check_namespace(namespace: Any) -> str:
    """A PutMetricData namespace: 1-255 characters, not starting with ``:`` nor ``AWS/``."""
    if not isinstance(namespace, str) or not namespace:
        raise AwsApiError("MissingParameter", "The parameter Namespace is required.")
    if len(namespace) > MAX_NAME or namespace.startswith(":") or namespace.startswith("AWS/"):
        raise invalid_value(namespace, "Namespace")
    return namespace


def check_value(value: Any, member: str) -> float:
    """A finite number within CloudWatch's range (|v| ≤ 2^360; 0 or |v| ≥ 2^-360)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_value(value, member)
    number = float(value)
    magnitude = abs(number)
    if not math.isfinite(number) or magnitude > TOO_LARGE or 0.0 < magnitude < TOO_SMALL:
        raise invalid_value(value, member)
    return number


def check_unit(unit: Any, member: str) -> str:
    """One of CloudWatch's units (``None`` is the unit ``"None"``)."""
    if unit not in UNITS:
        raise invalid_value(unit, member)
    return str(unit)


def check_dimension_count(count: int, member: str) -> None:
    if count > MAX_DIMENSIONS:
        raise invalid(
            f"The collection {member} must not have a size greater than {MAX_DIMENSIONS}."
        )


def check_dimensions(raw: Any, member: str) -> Dimensions:
    """``[{Name, Value}]`` → the frozen sorted tuple; ≤ 30, names unique, lengths checked."""
    items = list(raw or [])
    check_dimension_count(len(items), member)
    pairs: dict[str, str] = {}
    for n, item in enumerate(items, start=1):
        where = f"{member}.member.{n}"
        name, value = item.get("Name"), item.get("Value")
        if not isinstance(name, str) or not name:
            raise AwsApiError("MissingParameter", f"The parameter {where}.Name is required.")
        if not isinstance(value, str) or not value:
            raise AwsApiError("MissingParameter", f"The parameter {where}.Value is required.")
        if len(name) > MAX_NAME or name.startswith(":"):
            raise invalid_value(name, f"{where}.Name")
        if len(value) > MAX_DIMENSION_VALUE:
            raise invalid_value(value, f"{where}.Value")
        if name in pairs:
            # [Unverified] wording
            raise invalid(f"The collection {member} must not contain duplicate names ({name}).")
        pairs[name] = value
    return tuple(sorted(pairs.items()))


def check_timestamp(raw: Any, member: str, now: float) -> float:
    """The datum's time (default ``now``): at most two weeks old, two hours ahead."""
    if raw is None:
        return now
    ts = float(raw)
    if ts < now - MAX_PAST_SECONDS or ts > now + MAX_FUTURE_SECONDS:
        # [Unverified] wording
        raise invalid(
            f"The parameter {member} must specify a time no more than two weeks in the past "
            "and no more than two hours in the future."
        )
    return ts


def _count(raw: Any, member: str) -> int:
    number = check_value(raw, member)
    if number < 0 or number != int(number):
        raise invalid_value(raw, member)
    return int(number)


def _value_samples(datum: Mapping[str, Any], member: str) -> list[tuple[float, int]]:
    """``(value, count)`` pairs of one datum, exactly one form of value given."""
    given = [k for k in ("Value", "StatisticValues", "Values") if datum.get(k) is not None]
    if "Values" in given and not datum["Values"]:
        given.remove("Values")
    if len(given) > 1:
        first, second = given[0], given[1]
        raise AwsApiError(
            "InvalidParameterCombination",
            f"The parameters {member}.{first} and {member}.{second} are mutually exclusive "
            "and you have specified both.",
        )
    if not given:
        # [Unverified] wording
        raise AwsApiError(
            "MissingParameter",
            f"One of the parameters {member}.Value, {member}.StatisticValues or "
            f"{member}.Values is required.",
        )
    if given[0] == "Value":
        return [(check_value(datum["Value"], f"{member}.Value"), 1)]
    if given[0] == "Values":
        return _values_and_counts(datum, member)
    return _statistic_set(datum["StatisticValues"], f"{member}.StatisticValues")


def _values_and_counts(datum: Mapping[str, Any], member: str) -> list[tuple[float, int]]:
    values: Sequence[Any] = datum["Values"]
    counts: Sequence[Any] | None = datum.get("Counts")
    if len(values) > MAX_VALUES:
        raise invalid(f"The collection {member}.Values must not have a size greater than 150.")
    if counts and len(counts) != len(values):
        # [Unverified] wording
        raise invalid(
            f"The parameters {member}.Values and {member}.Counts must be of the same size."
        )
    out: list[tuple[float, int]] = []
    for i, raw in enumerate(values, start=1):
        value = check_value(raw, f"{member}.Values.member.{i}")
        count = _count(counts[i - 1], f"{member}.Counts.member.{i}") if counts else 1
        if count:
            out.append((value, count))
    return out


def _statistic_set(stats: Mapping[str, Any], member: str) -> list[tuple[float, int]]:
    fields = {}
    for name in ("SampleCount", "Sum", "Minimum", "Maximum"):
        if stats.get(name) is None:
            raise AwsApiError("MissingParameter", f"The parameter {member}.{name} is required.")
        fields[name] = check_value(stats[name], f"{member}.{name}")
    n = _count(stats["SampleCount"], f"{member}.SampleCount")
    total, lo, hi = fields["Sum"], fields["Minimum"], fields["Maximum"]
    if n < 1:
        raise invalid_value(stats["SampleCount"], f"{member}.SampleCount")
    if lo > hi:
        # [Unverified] wording
        raise invalid(f"The parameter {member}.Minimum must not be greater than {member}.Maximum.")
    if n == 1:
        return [(total, 1)]
    if n == 2:
        return [(lo, 1), (total - lo, 1)]
    return [(lo, 1), (hi, 1), ((total - lo - hi) / (n - 2), n - 2)]


def samples_of(params: Mapping[str, Any], now: float) -> tuple[str, list[Sample]]:
    """The namespace and every sample of a PutMetricData request (validated as a whole)."""
    namespace = check_namespace(params.get("Namespace"))
    data: Sequence[Mapping[str, Any]] = params.get("MetricData") or []
    if not data:
        raise AwsApiError("MissingParameter", "The parameter MetricData is required.")
    if len(data) > MAX_DATUMS:
        raise invalid(f"The collection MetricData must not have a size greater than {MAX_DATUMS}.")
    samples: list[Sample] = []
    for n, datum in enumerate(data, start=1):
        member = f"MetricData.member.{n}"
        name = datum.get("MetricName")
        if not isinstance(name, str) or not name:
            raise AwsApiError("MissingParameter", f"The parameter {member}.MetricName is required.")
        if len(name) > MAX_NAME:
            raise invalid_value(name, f"{member}.MetricName")
        dims = check_dimensions(datum.get("Dimensions"), f"{member}.Dimensions")
        ts = check_timestamp(datum.get("Timestamp"), f"{member}.Timestamp", now)
        unit = check_unit(datum.get("Unit") or "None", f"{member}.Unit")
        resolution = datum.get("StorageResolution")
        if resolution is not None and resolution not in STORAGE_RESOLUTIONS:
            raise invalid_value(resolution, f"{member}.StorageResolution")
        for value, count in _value_samples(datum, member):
            samples.append(Sample(name, dims, value, ts, unit, count))
    return namespace, samples
