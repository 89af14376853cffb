"""The metric feed's per-second fold stores exactly what the point-by-point path stores."""

from __future__ import annotations

import math
import random

from apicanary.clock import VirtualClock
from apicanary.engine.cloudwatch.feed import MetricFeed, gateway_points, lambda_points
from apicanary.engine.cloudwatch.fold import fold
from apicanary.engine.cloudwatch.metrics.store import MetricStore
from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.gateway.messages import RequestRecord

T0 = 1_800_000_000.0
QUANTILES = (0.0, 0.1, 0.5, 0.9, 0.99, 1.0)


def _request(rng: random.Random, at: float, kind: str | None = None) -> RequestRecord:
    return RequestRecord(
        timestamp=at,
        request_id=f"r{rng.random()}",
        api_id="a1",
        api_name=rng.choice(("orders", "users")),
        stage="prod",
        is_canary=rng.random() < 0.3,
        deployment_id="d1",
        resource_path="/x",
        method="GET",
        function_name="fn",
        qualifier="live",
        executed_version="1",
        status=rng.choice((200, 200, 200, 404, 502, 504)),
        latency_ms=rng.choice((1.0, rng.uniform(0.5, 40.0))),
        integration_latency_ms=rng.uniform(0.2, 30.0),
        cold_start=False,
        error_type=None,
        api_kind=kind or rng.choice(("REST", "REST", "HTTP")),  # HTTP APIs: ApiId dimensions
    )


def _invocation(rng: random.Random, at: float) -> LambdaInvocation:
    throttled = rng.random() < 0.1
    return LambdaInvocation(
        timestamp=at,
        request_id=f"i{rng.random()}",
        function_name="fn",
        qualifier=rng.choice(("live", "2", None)),
        executed_version=rng.choice(("1", "2")),
        duration_ms=0.0 if throttled else rng.choice((3.0, rng.uniform(0.1, 90.0))),
        function_error="Unhandled" if rng.random() < 0.2 else None,
        error_type=None,
        throttled=throttled,
        cold_start=False,
        init_duration_ms=None,
    )


def _records(seed: int, n: int, start: float) -> list[RequestRecord | LambdaInvocation]:
    rng = random.Random(seed)
    out: list[RequestRecord | LambdaInvocation] = []
    for _ in range(n):
        at = start + rng.uniform(0.0, 6.0)
        out.append(_request(rng, at) if rng.random() < 0.5 else _invocation(rng, at))
    return out


def _snapshot(store: MetricStore, start: float, end: float) -> dict[object, list[object]]:
    out: dict[object, list[object]] = {}
    for key in sorted(store._series):  # every series the store holds
        rows = store.aggregates(key, start, end, 1, quantiles=True)
        out[key] = [
            (
                ts,
                agg.count,
                round(agg.total, 6),
                agg.minimum,
                agg.maximum,
                *(agg.quantile(q) for q in QUANTILES),
            )
            for ts, agg in rows
        ]
    return out


def test_fold_matches_point_by_point_ingestion_exactly() -> None:
    clock = VirtualClock(T0 + 10)
    by_point, by_fold = MetricStore(clock), MetricStore(clock)
    feed = MetricFeed(by_fold)
    # three drains: new buckets, then buckets that already exist, then late samples for
    # seconds the store has already rolled up (they go into every tier)
    batches = [_records(1, 600, T0 + 5), _records(2, 600, T0 + 5), _records(3, 300, T0 - 200)]
    for batch in batches:
        for record in batch:
            points = (
                gateway_points(record)
                if isinstance(record, RequestRecord)
                else lambda_points(record)
            )
            by_point.put_many(points)
            feed.add(record)
        assert feed.drain() == len(batch)
    expected = _snapshot(by_point, T0 - 300, T0 + 20)
    assert len(expected) > 20 and any(expected.values())
    assert _snapshot(by_fold, T0 - 300, T0 + 20) == expected
    hourly = {k: by_point.aggregates(k, T0 - 3600, T0 + 3600, 3600) for k in by_point._series}
    folded = {k: by_fold.aggregates(k, T0 - 3600, T0 + 3600, 3600) for k in by_fold._series}
    assert {k: [(t, a.count) for t, a in v] for k, v in folded.items()} == {
        k: [(t, a.count) for t, a in v] for k, v in hourly.items()
    }


def test_one_bucket_per_metric_and_second_however_many_requests() -> None:
    rng = random.Random(4)
    records = [_request(rng, T0 + 0.001 * i, "REST") for i in range(900)]  # one second
    folded = fold(records)
    # one bucket per group (2 APIs x canary or not) x 2 dimension sets x 5 metrics
    assert len(folded) == 2 * 2 * 2 * 5
    total = sum(b.count for key, _, b, _ in folded if key[1] == "Count" and len(key[2]) == 2)
    assert total == 900
    assert not any(math.isnan(b.total) for _, _, b, _ in folded)
