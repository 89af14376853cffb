"""The metric store: ingestion (the hot path), roll-ups into coarser tiers, queries, flush.

:meth:`MetricStore.put_many` takes prebuilt keys and does no validation and no I/O
(measured 1-2.5 µs per point on a loaded 2-core box, see ``bench/metrics_memory.py``).
Changed buckets are remembered and :meth:`MetricStore.flush` — to be called periodically by
the engine, e.g. every 1-5 s from a background task, and once at shutdown — writes them to
SQLite in one transaction (:mod:`.tables`) and expires old buckets from memory and disk. A new
``MetricStore`` on the same :class:`Store` reloads everything still within retention. All
methods are thread-safe (one lock; ``put_many`` takes it once per batch).

Queries use the coarsest tier whose resolution divides the period (the 1 s tier for periods
not yet rolled up); periods older than that tier's retention have no datapoint (as in
CloudWatch). Periods are aligned to multiples of the period since the epoch (so 10-second alarm
periods start at :00, :10...); a datapoint's timestamp is its period's start. Timestamps are
epoch seconds (floats) throughout.

Over 400 lines because ingestion, roll-up and queries share one lock and one set of series;
splitting them would spread that invariant over modules.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from apicanary.clock import Clock
from apicanary.engine.cloudwatch import put_data, queries
from apicanary.engine.cloudwatch.metrics import tables
from apicanary.engine.cloudwatch.metrics.buckets import (
    DEFAULT_TIERS,
    Bucket,
    DirtyEntry,
    Series,
    Tier,
    aggregate,
    expire,
    merge_into,
    roll_up,
)
from apicanary.engine.cloudwatch.values import (
    BASIC_STATISTICS,
    Aggregate,
    Datapoint,
    DimensionsLike,
    MetricKey,
    Point,
    dimensions_of,
    parse_percentile,
)
from apicanary.errors import AwsApiError
from apicanary.sketch import INV_LOG_GAMMA, QuantileSketch
from apicanary.store import Store

__all__ = ["MetricStore"]

ROLLUP_GRACE = 2
"""Seconds after which a 1-second bucket is considered closed and rolled up."""


class MetricStore:
    """In-memory CloudWatch metrics with rollups, optionally persisted to a :class:`Store`."""

    def __init__(
        self,
        clock: Clock,
        store: Store | None = None,
        *,
        tiers: Sequence[Tier] = DEFAULT_TIERS,
    ) -> None:
        ordered = tuple(sorted(tiers, key=lambda t: t.resolution))
        for finer, coarser in itertools.pairwise(ordered):
            if coarser.resolution % finer.resolution or coarser.retention < finer.retention:
                raise ValueError("each tier must refine the next and be kept no longer")
        if not ordered or ordered[0].resolution != 1:
            raise ValueError("the finest tier must have a 1-second resolution")
        self._clock = clock
        self._store = store
        self._tiers = ordered
        self._resolutions = tuple(t.resolution for t in ordered)
        self._lock = threading.Lock()
        self._series: dict[MetricKey, Series] = {}
        self._dirty: list[DirtyEntry] = []
        self._retry_rows: list[tables.Row] = []
        self._next_id = 1
        self._rolled_until = int(clock.now() // 1) - ROLLUP_GRACE
        if store is not None:
            store.migrate(tables.COMPONENT, tables.MIGRATIONS)
            loaded = tables.load(store, ordered, clock.now(), self._rolled_until)
            self._series, self._rolled_until, self._next_id = (
                loaded.series,
                loaded.rolled_until,
                loaded.next_id,
            )

    # -- ingestion --------------------------------------------------------------------------

    def put(
        self,
        namespace: str,
        name: str,
        dimensions: DimensionsLike | None,
        value: float,
        timestamp: float | None = None,
        unit: str = "None",
        count: int = 1,
    ) -> None:
        """PutMetricData for one value observed ``count`` times; validates like CloudWatch."""
        if not namespace or not name:
            raise AwsApiError(
                "MissingParameter", "The parameters Namespace and MetricName are required."
            )
        dims = dimensions_of(dimensions)
        put_data.check_dimension_count(len(dims), "Dimensions")
        value = put_data.check_value(value, "Value")
        put_data.check_unit(unit, "Unit")
        if count < 1:
            raise put_data.invalid_value(count, "Counts")
        ts = put_data.check_timestamp(timestamp, "Timestamp", self._clock.now())
        key: MetricKey = (namespace, name, dims)
        with self._lock:
            series = self._series.get(key)
            if series is not None and series.unit != unit:
                series.unit = unit
                series.persisted = False
        if count == 1:
            self.put_many([(key, ts, value, unit)])
        else:
            self._put_repeated(key, ts, value, unit, count)

    def put_many(self, points: Iterable[Point]) -> None:
        """Ingest ``(key, timestamp, value, unit)`` points: no validation, no I/O.

        The caller guarantees finite values and sane timestamps. ``unit`` is recorded when a
        metric is first seen (one unit per metric, as the engine emits them). Only the 1-second
        tier is touched here; closed seconds are rolled into coarser tiers by :meth:`flush`
        (or the next query). A late point, for a second already rolled up, takes the slow path.
        """
        dirty = self._dirty
        log = math.log
        ceil = math.ceil
        inv = INV_LOG_GAMMA
        with self._lock:
            series_map = self._series
            rolled_until = self._rolled_until
            for key, ts, value, unit in points:
                series = series_map.get(key)
                if series is None:
                    series = self._new_series(key, unit)
                second = int(ts)  # timestamps are positive: truncation is floor
                if second < rolled_until:
                    self._put_late(series, second, value, 1)
                    continue
                buckets = series.tiers[0]
                bucket = buckets.get(second)
                if bucket is None:
                    buckets[second] = bucket = Bucket(value)
                    dirty.append((series, 0, second, bucket))
                    continue
                sketch = bucket.sketch
                if sketch is None:
                    if value != bucket.lo:
                        sketch = bucket.sketch = QuantileSketch()
                        sketch.add(bucket.lo, bucket.count)
                        sketch.add(value)
                # Invariant: buckets of open seconds always hold a live QuantileSketch (only
                # closed buckets are compacted to bytes), so no isinstance on the hot path.
                elif value > 0.0:
                    k = ceil(log(value) * inv)
                    sketch.count += 1  # type: ignore[union-attr,operator,method-assign]
                    positive = sketch.positive  # type: ignore[union-attr]
                    positive[k] = positive.get(k, 0) + 1
                else:
                    sketch.add(value)  # type: ignore[union-attr]
                bucket.count += 1
                bucket.total += value
                if value < bucket.lo:
                    bucket.lo = value
                elif value > bucket.hi:
                    bucket.hi = value
                if not bucket.dirty:
                    bucket.dirty = True
                    dirty.append((series, 0, second, bucket))

    def put_buckets(self, buckets: Iterable[tuple[MetricKey, int, Bucket, str]]) -> None:
        """Ingest prebuilt 1-second buckets ``(key, second, bucket, unit)`` (the metric feed's
        per-second folds): each is merged exactly, as its samples one by one would be. A
        bucket may be shared by several keys; it is never kept or changed here."""
        with self._lock:
            series_map = self._series
            rolled_until = self._rolled_until
            dirty = self._dirty
            for key, second, bucket, unit in buckets:
                series = series_map.get(key)
                if series is None:
                    series = self._new_series(key, unit)
                if second < rolled_until:
                    for index, res in enumerate(self._resolutions):
                        merge_into(series, index, second - second % res, bucket, dirty)
                else:
                    merge_into(series, 0, second, bucket, dirty)

    def _put_repeated(self, key: MetricKey, ts: float, value: float, unit: str, n: int) -> None:
        with self._lock:
            series = self._series.get(key) or self._new_series(key, unit)
            second = int(ts // 1)
            if second < self._rolled_until:
                self._put_late(series, second, value, n)
            else:
                merge_into(series, 0, second, Bucket.repeated(value, n), self._dirty)

    def _put_late(self, series: Series, second: int, value: float, n: int) -> None:
        """A sample for an already rolled-up second goes into every tier (lock held)."""
        for index, res in enumerate(self._resolutions):
            start = second - second % res
            merge_into(series, index, start, Bucket.repeated(value, n), self._dirty)

    def _roll_up(self, now: float) -> None:
        """Fold every 1-second bucket of a closed second into the coarser tiers (lock held).

        Seconds before ``floor(now) - ROLLUP_GRACE`` are closed; later samples for them take
        the late path in :meth:`put_many`, so every tier stays an exact aggregate.
        """
        until = int(now // 1) - ROLLUP_GRACE
        if until > self._rolled_until:
            roll_up(
                self._series.values(), self._rolled_until, until, self._resolutions, self._dirty
            )
            self._rolled_until = until

    def _new_series(self, key: MetricKey, unit: str) -> Series:
        series = Series(self._next_id, key, unit, len(self._tiers))
        self._next_id += 1
        self._series[key] = series
        return series

    # -- queries ----------------------------------------------------------------------------

    def aggregates(
        self,
        key: MetricKey,
        start: float,
        end: float,
        period: int,
        *,
        quantiles: bool = False,
        unit: str | None = None,
    ) -> list[tuple[float, Aggregate]]:
        """Per-period aggregates of ``key`` for periods starting in ``[floor(start), end)``.

        Periods are aligned to multiples of ``period``; periods without samples are omitted;
        ascending timestamps. ``quantiles`` asks for merged sketches (costlier).
        """
        if period < 1 or int(period) != period:
            raise AwsApiError(
                "InvalidParameterValue",
                f"The parameter Period must be a positive integer number of seconds, got {period}.",
            )
        period = int(period)
        now = self._clock.now()
        coarse = max(i for i, res in enumerate(self._resolutions) if period % res == 0)
        first = math.floor(start / period) * period
        with self._lock:
            self._roll_up(now)
            series = self._series.get(key)
            if series is None or (unit is not None and series.unit != unit):
                return []
            if not any(series.tiers):
                return []
            newest = max(max(b) + self._resolutions[i] for i, b in enumerate(series.tiers) if b)
            oldest = now - self._tiers[coarse].retention
            fine_oldest = now - self._tiers[0].retention
            first = max(first, math.ceil(oldest / period) * period)
            last = min(end, newest)
            rolled = self._rolled_until
            out: list[tuple[float, Aggregate]] = []
            window = first
            while window < last:
                if window + period <= rolled or coarse == 0:
                    index = coarse
                elif window >= fine_oldest:
                    index = 0  # not fully rolled up yet: the 1-second tier has it all
                else:
                    window += period
                    continue
                agg = aggregate(
                    series.tiers[index],
                    window,
                    window + period,
                    self._resolutions[index],
                    quantiles,
                )
                if agg is not None:
                    out.append((float(window), agg))
                window += period
            return out

    def statistics(
        self,
        namespace: str,
        name: str,
        dimensions: DimensionsLike | None,
        start: float,
        end: float,
        period: int,
        stats: Sequence[str] = BASIC_STATISTICS,
        extended: Sequence[str] = (),
        unit: str | None = None,
    ) -> list[Datapoint]:
        """GetMetricStatistics: one :class:`Datapoint` per non-empty period, ascending."""
        quantiles = queries.check_statistics_request(start, end, stats, extended)
        key: MetricKey = (namespace, name, dimensions_of(dimensions))
        with self._lock:
            series = self._series.get(key)
            series_unit = series.unit if series is not None else "None"
        rows = self.aggregates(key, start, end, period, quantiles=bool(quantiles), unit=unit)
        return [
            Datapoint(
                timestamp=ts,
                sample_count=float(agg.count),
                sum=agg.total,
                minimum=agg.minimum,
                maximum=agg.maximum,
                unit=series_unit,
                extended={label: agg.quantile(q) for label, q in quantiles},
                statistics=tuple(stats),
            )
            for ts, agg in rows
        ]

    def stat_series(
        self,
        key: MetricKey,
        start: float,
        end: float,
        period: int,
        stat: str,
        unit: str | None = None,
    ) -> dict[float, float]:
        """``{period start: value of stat}`` for the non-empty periods (metric math input)."""
        quantiles = parse_percentile(stat) is not None
        rows = self.aggregates(key, start, end, period, quantiles=quantiles, unit=unit)
        return {ts: agg.stat(stat) for ts, agg in rows}

    def get_metric_data(
        self,
        metric_queries: Sequence[Mapping[str, Any]],
        start: float,
        end: float,
        *,
        scan_by: str = "TimestampDescending",
    ) -> dict[str, Any]:
        """GetMetricData (MetricStat and metric-math Expression queries).

        Returns ``{"MetricDataResults": [{Id, Label, Timestamps, Values, StatusCode}],
        "Messages": []}`` with timestamps descending by default, as AWS does.
        """
        return queries.get_metric_data(self, metric_queries, start, end, scan_by=scan_by)

    def list_metrics(
        self,
        namespace: str | None = None,
        metric_name: str | None = None,
        dimensions: Sequence[Mapping[str, str]] | Mapping[str, str | None] | None = None,
    ) -> list[dict[str, Any]]:
        """ListMetrics: metrics with retained data, filtered like CloudWatch.

        A dimension filter ``{"Name": n}`` (or ``{n: None}``) matches metrics having dimension
        ``n`` with any value; ``{"Name": n, "Value": v}`` (or ``{n: v}``) requires the value.
        """
        with self._lock:
            keys = [s.key for s in self._series.values() if any(s.tiers)]
        return queries.list_metrics(keys, namespace, metric_name, dimensions)

    # -- maintenance ------------------------------------------------------------------------

    def bucket_count(self) -> int:
        """Live buckets in memory, all tiers and metrics (the memory-bound witness)."""
        with self._lock:
            return sum(len(b) for s in self._series.values() for b in s.tiers)

    def series_count(self) -> int:
        with self._lock:
            return len(self._series)

    def flush(self, now: float | None = None) -> int:
        """Persist changed buckets, expire old ones (memory and disk); returns rows written.

        Call it periodically off the hot path (every 1-5 s) and at shutdown. Without a
        :class:`Store` it only expires.
        """
        now = self._clock.now() if now is None else now
        cutoffs = [
            math.floor((now - t.retention) / t.resolution) * t.resolution for t in self._tiers
        ]
        with self._lock:
            self._roll_up(now)
            rolled_until = self._rolled_until
            dirty, self._dirty = self._dirty, []
            rows: list[tables.Row] = self._retry_rows
            self._retry_rows = []
            for series, index, start, bucket in dirty:
                bucket.dirty = False
                if start < cutoffs[index]:
                    continue
                rows.append(tables.bucket_row(series, self._resolutions[index], start, bucket))
            new_series = [s for s in self._series.values() if not s.persisted]
            dropped = expire(self._series, cutoffs)
            for s in new_series:
                s.persisted = True
        if self._store is None:
            return 0
        try:
            expiry = list(zip(self._tiers, cutoffs, strict=True))
            tables.write(self._store, rows, new_series, dropped, expiry, rolled_until)
        except BaseException:
            with self._lock:
                self._retry_rows = rows + self._retry_rows
                for s in new_series:
                    s.persisted = False
            raise
        return len(rows)
