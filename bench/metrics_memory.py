"""Metric store memory and ingestion cost under sustained load (a script, not a test).

Simulates 1,000 requests/s, 8 metric points per request (the gateway's Lambda + API Gateway
metrics over two dimension sets), on a virtual clock, as fast as the CPU allows. Prints:

- ingestion cost of ``put_many`` in µs/point (tracemalloc off);
- traced memory (tracemalloc) and live buckets after 1 simulated minute and after 1 hour;
- the cost of a ``flush()`` to SQLite every 5 simulated seconds.

Usage: ``.venv/bin/python bench/metrics_memory.py [--minutes 60]``
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable

from apicanary.clock import VirtualClock
from apicanary.engine.cloudwatch.metrics.buckets import DEFAULT_TIERS
from apicanary.engine.cloudwatch.metrics.store import MetricStore
from apicanary.engine.cloudwatch.values import MetricKey, Point, metric_key
from apicanary.store import Store

T0 = 1_800_000_000.0
RATE = 1000


def request_keys() -> list[tuple[MetricKey, str]]:
    fn = {"FunctionName": "api"}
    alias = {"FunctionName": "api", "Resource": "api:live", "ExecutedVersion": "8"}
    stage = {"ApiName": "shop", "Stage": "prod"}
    return [
        (metric_key("AWS/Lambda", "Invocations", fn), "Count"),
        (metric_key("AWS/Lambda", "Errors", fn), "Count"),
        (metric_key("AWS/Lambda", "Duration", fn), "Milliseconds"),
        (metric_key("AWS/Lambda", "Invocations", alias), "Count"),
        (metric_key("AWS/Lambda", "Errors", alias), "Count"),
        (metric_key("AWS/Lambda", "Duration", alias), "Milliseconds"),
        (metric_key("AWS/ApiGateway", "Count", stage), "Count"),
        (metric_key("AWS/ApiGateway", "Latency", stage), "Milliseconds"),
    ]


def second_of_traffic(second: int, rng: random.Random) -> list[Point]:
    keys = request_keys()
    (inv, c), (err, _), (dur, ms), (inv2, _), (err2, _), (dur2, _), (cnt, _), (lat, _) = keys
    points: list[Point] = []
    base = T0 + second
    for i in range(RATE):
        ts = base + i / RATE
        duration = rng.lognormvariate(3.0, 0.6)
        error = 1.0 if rng.random() < 0.01 else 0.0
        points += [
            (inv, ts, 1.0, c),
            (err, ts, error, c),
            (dur, ts, duration, ms),
            (inv2, ts, 1.0, c),
            (err2, ts, error, c),
            (dur2, ts, duration, ms),
            (cnt, ts, 1.0, c),
            (lat, ts, duration + 2.0, ms),
        ]
    return points


def simulate(
    metrics: MetricStore,
    clock: VirtualClock,
    seconds: range,
    batches: list[list[Point]],
    on_second: Callable[[int], None] | None = None,
) -> float:
    """Feed ``seconds`` of traffic (reusing precomputed batches); returns put_many seconds."""
    spent = 0.0
    for second in seconds:
        template = batches[second % len(batches)]
        shift = second - (second % len(batches))
        batch = [(k, ts + shift, v, u) for k, ts, v, u in template]
        began = time.perf_counter()
        metrics.put_many(batch)
        spent += time.perf_counter() - began
        clock.advance(1)
        if second % 5 == 4:
            metrics.flush()
        if on_second is not None:
            on_second(second)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=60)
    args = parser.parse_args()
    rng = random.Random(42)
    batches = [second_of_traffic(s, rng) for s in range(60)]
    points_per_second = len(batches[0])

    # 1. ingestion cost, no tracing
    clock = VirtualClock(T0)
    metrics = MetricStore(clock)
    spent = simulate(metrics, clock, range(60), batches)
    print(
        f"ingestion: {spent * 1e6 / (60 * points_per_second):.2f} µs/point "
        f"({points_per_second} points/s, put_many batches of one simulated second)"
    )

    # 2. flush cost to SQLite
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        clock = VirtualClock(T0)
        metrics = MetricStore(clock, store)
        flush_times: list[float] = []
        for second in range(60):
            metrics.put_many(batches[second])
            clock.advance(1)
            if second % 5 == 4:
                began = time.perf_counter()
                rows = metrics.flush()
                flush_times.append((time.perf_counter() - began) * 1e3)
        print(
            f"flush to SQLite every 5 s: median {sorted(flush_times)[len(flush_times) // 2]:.1f}"
            f" ms, max {max(flush_times):.1f} ms ({rows} rows in the last one)"
        )
        store.close()

    # 3. memory after 1 min and after N min
    tracemalloc.start()
    clock = VirtualClock(T0)
    metrics = MetricStore(clock)
    baseline = tracemalloc.get_traced_memory()[0]
    marks = {60: "1 min", args.minutes * 60: f"{args.minutes} min"}

    def report(second: int) -> None:
        done = second + 1
        if done in marks:
            current = tracemalloc.get_traced_memory()[0] - baseline
            print(
                f"after {marks[done]:>7}: {current / 2**20:7.1f} MiB traced, "
                f"{metrics.bucket_count():6d} live buckets, {metrics.series_count()} metrics"
            )

    began = time.perf_counter()
    simulate(metrics, clock, range(args.minutes * 60), batches, report)
    tracemalloc.stop()
    bound = sum(int(t.retention // t.resolution) + 1 for t in DEFAULT_TIERS)
    print(
        f"bound: {bound} buckets per metric ({bound * metrics.series_count()} for "
        f"{metrics.series_count()} metrics), reached after 15 days; "
        f"simulation took {time.perf_counter() - began:.0f} s"
    )


if __name__ == "__main__":
    main()
