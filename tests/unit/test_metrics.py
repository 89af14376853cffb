"""Metric store: exact statistics, period merging, rollups, persistence, bounded memory."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from apicanary.clock import VirtualClock
from apicanary.engine.cloudwatch.metrics.buckets import DEFAULT_TIERS
from apicanary.engine.cloudwatch.metrics.store import MetricStore
from apicanary.engine.cloudwatch.values import metric_key
from apicanary.errors import AwsApiError
from apicanary.sketch import ALPHA
from apicanary.store import Store

T0 = 1_800_000_000.0  # aligned to 3600 s
NS = "AWS/Lambda"
DIMS = {"FunctionName": "api", "Resource": "api:live"}
KEY = metric_key(NS, "Duration", DIMS)


def test_metric_key_normalises_every_spelling() -> None:
    as_aws = [{"Name": "Resource", "Value": "api:live"}, {"Name": "FunctionName", "Value": "api"}]
    assert metric_key(NS, "Duration", as_aws) == KEY
    assert metric_key(NS, "Duration", [("Resource", "api:live"), ("FunctionName", "api")]) == KEY
    assert KEY[2] == (("FunctionName", "api"), ("Resource", "api:live"))


def test_exact_counts_sums_min_max_over_any_period() -> None:
    clock = VirtualClock(T0)
    metrics = MetricStore(clock)
    # 10 points per second for 30 s: value = second index + 1
    metrics.put_many(
        (KEY, T0 + s + i / 10, float(s + 1), "Milliseconds") for s in range(30) for i in range(10)
    )
    clock.advance(30)
    one = metrics.statistics(NS, "Duration", DIMS, T0, T0 + 30, 1)
    assert [d.sample_count for d in one] == [10.0] * 30
    assert [d.sum for d in one] == [10.0 * (s + 1) for s in range(30)]
    ten = metrics.statistics(NS, "Duration", DIMS, T0, T0 + 30, 10)
    assert [d.timestamp for d in ten] == [T0, T0 + 10, T0 + 20]
    assert [(d.sample_count, d.minimum, d.maximum) for d in ten] == [
        (100.0, 1.0, 10.0),
        (100.0, 11.0, 20.0),
        (100.0, 21.0, 30.0),
    ]
    assert ten[0].average == 5.5
    minute = metrics.statistics(NS, "Duration", DIMS, T0, T0 + 60, 60, stats=["Sum"])
    assert minute[0].sum == sum(10.0 * (s + 1) for s in range(30))
    assert minute[0].to_aws() == {"Timestamp": T0, "Unit": "Milliseconds", "Sum": 4650.0}
    # other dimension sets are other metrics
    assert metrics.statistics(NS, "Duration", {"FunctionName": "api"}, T0, T0 + 60, 60) == []


def test_percentiles_merge_across_buckets_within_bound() -> None:
    clock = VirtualClock(T0)
    metrics = MetricStore(clock)
    values = [float(v) for v in range(1, 1001)]
    metrics.put_many((KEY, T0 + (v % 60), v, "Milliseconds") for v in values)
    clock.advance(120)
    for period in (60, 120, 3600):
        (dp,) = metrics.statistics(
            NS, "Duration", DIMS, T0, T0 + 3600, period, extended=["p50", "p90", "p99", "p99.9"]
        )
        for label, truth in (("p50", 500.0), ("p90", 900.0), ("p99", 990.0), ("p99.9", 999.0)):
            assert abs(dp.extended[label] - truth) <= ALPHA * truth * (1 + 1e-9), (period, label)
        assert dp.to_aws()["ExtendedStatistics"]["p50"] == dp.extended["p50"]


def test_constant_buckets_need_no_sketch_but_answer_percentiles() -> None:
    clock = VirtualClock(T0)
    metrics = MetricStore(clock)
    inv = metric_key(NS, "Invocations", DIMS)
    metrics.put_many((inv, T0 + i / 100, 1.0, "Count") for i in range(500))
    metrics.put_many([(inv, T0 + 6, 3.0, "Count")])
    clock.advance(10)
    (dp,) = metrics.statistics(NS, "Invocations", DIMS, T0, T0 + 10, 10, extended=["p50", "p100"])
    assert dp.extended == {"p50": 1.0, "p100": 3.0}
    assert dp.sum == 503.0


def test_rollups_equal_fine_data_and_late_points_reach_every_tier() -> None:
    clock = VirtualClock(T0)
    metrics = MetricStore(clock)
    metrics.put_many((KEY, T0 + i * 0.5, float(i % 7), "Milliseconds") for i in range(7200))
    clock.advance(3600 + 10)
    metrics.flush()  # rolls up everything closed
    late = T0 + 100.5
    metrics.put_many([(KEY, late, 1000.0, "Milliseconds")])  # long-running invocation
    coarse = metrics.statistics(NS, "Duration", DIMS, T0, T0 + 3600, 60, extended=["p99"])
    fine = metrics.aggregates(KEY, T0, T0 + 3600, 1)
    assert len(coarse) == 60
    assert coarse[1].sample_count == 121 and coarse[1].maximum == 1000.0
    assert sum(d.sample_count for d in coarse) == 7201
    assert sum(a.count for _, a in fine) == 7201
    (hour,) = metrics.statistics(NS, "Duration", DIMS, T0, T0 + 3600, 3600)
    assert hour.sample_count == 7201 and hour.maximum == 1000.0


def test_query_before_flush_still_sees_everything() -> None:
    clock = VirtualClock(T0)
    metrics = MetricStore(clock)
    metrics.put_many((KEY, T0 + s, 2.0, "Milliseconds") for s in range(180))
    clock.advance(181)
    minutes = metrics.statistics(NS, "Duration", DIMS, T0, T0 + 180, 60, stats=["SampleCount"])
    assert [d.sample_count for d in minutes] == [60.0, 60.0, 60.0]


def test_validation_errors_are_cloudwatch_codes() -> None:
    clock = VirtualClock(T0)
    metrics = MetricStore(clock)
    with pytest.raises(AwsApiError) as err:
        metrics.put(NS, "Duration", DIMS, math.nan, T0)
    assert err.value.code == "InvalidParameterValue"
    with pytest.raises(AwsApiError) as err:
        metrics.put(NS, "Duration", DIMS, 1.0, T0, unit="Furlongs")
    assert err.value.code == "InvalidParameterValue"
    with pytest.raises(AwsApiError) as err:
        metrics.statistics(NS, "Duration", DIMS, T0 + 10, T0, 60)
    assert err.value.message == "The parameter StartTime must be less than the parameter EndTime."
    with pytest.raises(AwsApiError) as err:
        metrics.statistics(NS, "Duration", DIMS, T0, T0 + 10, 60, extended=["tm90"])
    assert err.value.code == "InvalidParameterValue"


def test_put_with_count_and_list_metrics() -> None:
    clock = VirtualClock(T0)
    metrics = MetricStore(clock)
    metrics.put(NS, "Errors", DIMS, 1.0, T0, unit="Count", count=5)
    metrics.put(NS, "Errors", {"FunctionName": "api"}, 0.0, T0, unit="Count")
    metrics.put("Custom", "Orders", None, 3.0, T0)
    clock.advance(5)
    (dp,) = metrics.statistics(NS, "Errors", DIMS, T0, T0 + 5, 5)
    assert (dp.sample_count, dp.sum, dp.unit) == (5.0, 5.0, "Count")
    assert len(metrics.list_metrics()) == 3
    assert [m["Dimensions"] for m in metrics.list_metrics(namespace=NS)] == [
        [{"Name": "FunctionName", "Value": "api"}],
        [{"Name": "FunctionName", "Value": "api"}, {"Name": "Resource", "Value": "api:live"}],
    ]
    assert len(metrics.list_metrics(dimensions=[{"Name": "Resource"}])) == 1
    assert metrics.list_metrics(dimensions={"Resource": "api:other"}) == []
    assert metrics.list_metrics(metric_name="Orders")[0]["Namespace"] == "Custom"


def test_history_survives_restart(tmp_path: Path) -> None:
    clock = VirtualClock(T0)
    store = Store(tmp_path)
    metrics = MetricStore(clock, store)
    metrics.put_many((KEY, T0 + i * 0.25, float(i), "Milliseconds") for i in range(2400))
    clock.advance(700)
    assert metrics.flush() > 0
    metrics.put_many([(KEY, T0 + 650, 7.0, "Milliseconds")])
    metrics.flush()
    before = metrics.statistics(NS, "Duration", DIMS, T0, T0 + 700, 60, extended=["p90"])
    before_fine = metrics.statistics(NS, "Duration", DIMS, T0, T0 + 700, 10)
    store.close()

    store = Store(tmp_path)
    reopened = MetricStore(clock, store)
    assert reopened.statistics(NS, "Duration", DIMS, T0, T0 + 700, 60, extended=["p90"]) == before
    assert reopened.statistics(NS, "Duration", DIMS, T0, T0 + 700, 10) == before_fine
    assert reopened.list_metrics() == metrics.list_metrics()
    # new data after restart goes on the same series
    reopened.put_many([(KEY, T0 + 700.5, 1.0, "Milliseconds")])
    clock.advance(10)
    reopened.flush()
    assert store.query_one("SELECT COUNT(*) FROM metric_series")[0] == 1
    store.close()


def test_expiry_removes_old_buckets_from_memory_and_disk(tmp_path: Path) -> None:
    clock = VirtualClock(T0)
    store = Store(tmp_path)
    metrics = MetricStore(clock, store)
    metrics.put_many([(KEY, T0, 1.0, "Milliseconds")])
    clock.advance(60)
    metrics.flush()
    assert metrics.bucket_count() == 3
    clock.advance(16 * 86400)
    metrics.flush()
    assert metrics.bucket_count() == 0 and metrics.series_count() == 0
    assert store.query_one("SELECT COUNT(*) FROM metric_buckets")[0] == 0
    assert metrics.list_metrics() == []
    store.close()


def test_one_hour_at_1000_points_per_second_keeps_buckets_bounded() -> None:
    """Sustained load, virtual clock: live buckets never exceed the retention bound."""
    clock = VirtualClock(T0)
    metrics = MetricStore(clock)
    keys = [metric_key(NS, name, DIMS) for name in ("Duration", "Invocations")]
    per_metric_bound = sum(
        math.ceil(t.retention / t.resolution) + 1 for t in DEFAULT_TIERS
    )  # 10,801 + 1,441 + 361
    began = time.perf_counter()
    peak = 0
    for second in range(3600):
        base = T0 + second
        batch = [
            (keys[i & 1], base + i / 1000, 1.0 + (i % 97), "Milliseconds") for i in range(1000)
        ]
        metrics.put_many(batch)
        clock.advance(1)
        if second % 60 == 59:
            metrics.flush()
            peak = max(peak, metrics.bucket_count())
    elapsed = time.perf_counter() - began
    assert peak <= len(keys) * per_metric_bound
    # after 1 h: 1-s buckets for the whole hour, 60 one-minute and 1-2 one-hour buckets
    assert metrics.bucket_count() <= len(keys) * (3600 + 61 + 2)
    assert elapsed < 30


def test_restart_mid_second_and_compacted_buckets(tmp_path: Path) -> None:
    """Open buckets reloaded after a restart accept points; closed ones are compact bytes."""
    clock = VirtualClock(T0)
    store = Store(tmp_path)
    metrics = MetricStore(clock, store)
    metrics.put_many((KEY, T0 + i / 100, 1.0 + i, "Milliseconds") for i in range(300))
    clock.advance(3.5)
    metrics.flush()
    store.close()
    store = Store(tmp_path)
    reopened = MetricStore(clock, store)
    reopened.put_many((KEY, T0 + 2.5 + i / 100, 5.0 + i, "Milliseconds") for i in range(10))
    reopened.put_many([(KEY, T0 + 0.5, 2.0, "Milliseconds")])  # late: closed second
    clock.advance(10)
    (dp,) = reopened.statistics(NS, "Duration", DIMS, T0, T0 + 10, 10, extended=["p100"])
    assert dp.sample_count == 311 and dp.extended["p100"] == 300.0
    (minute,) = reopened.statistics(NS, "Duration", DIMS, T0, T0 + 60, 60, stats=["SampleCount"])
    assert minute.sample_count == 311
    store.close()
