"""CloudWatch-style metric store: 1-second buckets, exact rollups, quantile sketches, SQLite.

Data model
----------
A metric is ``(namespace, name, dimensions)`` (:data:`MetricKey`). Each sample lands, at
ingestion, in a 1-second bucket, later rolled up into each coarser *tier*; a bucket holds
SampleCount, Sum, Minimum, Maximum and a
:class:`~apicanary.sketch.QuantileSketch` (relative error ≤ 1 %; no sketch
while every sample of the bucket has the same value, which keeps counters like
``Invocations`` small).

Retention schedule (:data:`DEFAULT_TIERS`; finer than CloudWatch's 60 s, same idea as its
high-resolution rollups)::

    resolution   kept for     buckets per metric, at most
    1 s          3 hours      10,800
    60 s         24 hours      1,440      (an alarm spans at most 1 day: N x Period ≤ 86,400)
    3600 s       15 days         360

so memory per metric is bounded by 12,603 live buckets however long the load lasts. Once a
bucket's interval is closed its sketch is compacted to bytes (~4 bytes per sketch bucket);
measured at 1,000 req/s x 8 metrics: ~0.25 MiB per simulated minute while the 1 s tier
fills (see ``bench/metrics_memory.py``), flat once every tier is full. Because coarser
tiers are exact roll-ups (closed seconds are folded in by :meth:`MetricStore.flush` or by the
next query; a late sample for a rolled-up second is added to every tier) and sketches merge
exactly, a query gets the same answer from any tier; it uses the coarsest tier whose
resolution divides the period (the 1 s tier for periods not yet rolled up), and periods older
than that tier's retention have no datapoint (as in CloudWatch).

Periods are aligned to multiples of the period since the epoch (so 10-second alarm periods
start at :00, :10...); a datapoint's timestamp is its period's start. Timestamps are epoch
seconds (floats) throughout.

Hot path and persistence
------------------------
:meth:`MetricStore.put_many` takes prebuilt keys and does no validation and no I/O
(measured 1-2.5 µs per point on a loaded 2-core box, see ``bench/metrics_memory.py``).
Changed buckets are remembered and
:meth:`MetricStore.flush` — to be called periodically by the engine, e.g. every 1-5 s from a
background task, and once at shutdown — writes them to SQLite in one transaction and expires
old buckets from memory and disk. A new ``MetricStore`` on the same :class:`Store` reloads
everything still within retention. All methods are thread-safe (one lock; ``put_many`` takes
it once per batch).
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apicanary.clock import Clock
from apicanary.engine.cloudwatch import queries as metric_data
from apicanary.engine.cloudwatch.values import (
    BASIC_STATISTICS,
    UNITS,
    Aggregate,
    Datapoint,
    Dimensions,
    DimensionsLike,
    MetricKey,
    Point,
    check_statistic,
    dimensions_of,
    dimensions_to_aws,
    parse_percentile,
)
from apicanary.errors import AwsApiError
from apicanary.sketch import INV_LOG_GAMMA, QuantileSketch
from apicanary.store import Store

__all__ = [
    "DEFAULT_TIERS",
    "Datapoint",
    "MetricKey",
    "MetricStore",
    "Point",
    "Tier",
]

MAX_DIMENSIONS = 30
MAX_PAST_SECONDS = 14 * 86400
MAX_FUTURE_SECONDS = 2 * 3600
ROLLUP_GRACE = 2
"""Seconds after which a 1-second bucket is considered closed and rolled up."""


@dataclass(frozen=True, slots=True)
class Tier:
    """Buckets of ``resolution`` seconds, kept ``retention`` seconds."""

    resolution: int
    retention: float


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(1, 3 * 3600.0),
    Tier(60, 86400.0),
    Tier(3600, 15 * 86400.0),
)

MIGRATIONS = [
    """
    CREATE TABLE metric_series (
        id INTEGER PRIMARY KEY,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        dimensions TEXT NOT NULL,
        unit TEXT NOT NULL,
        UNIQUE (namespace, name, dimensions)
    );
    CREATE TABLE metric_buckets (
        series_id INTEGER NOT NULL,
        resolution INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        sample_count INTEGER NOT NULL,
        total REAL NOT NULL,
        minimum REAL NOT NULL,
        maximum REAL NOT NULL,
        sketch BLOB,
        PRIMARY KEY (series_id, resolution, ts)
    ) WITHOUT ROWID;
    CREATE INDEX metric_buckets_by_age ON metric_buckets (resolution, ts);
    CREATE TABLE metric_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    """
]


class _Bucket:
    """Aggregate of one series over one bucket interval (mutable, hot path)."""

    __slots__ = ("count", "dirty", "hi", "lo", "sketch", "total")

    def __init__(self, value: float) -> None:
        self.count = 1
        self.total = value
        self.lo = value
        self.hi = value
        # None while every sample is equal; bytes once the bucket is closed (compact form)
        self.sketch: QuantileSketch | bytes | None = None
        self.dirty = True


class _Series:
    __slots__ = ("id", "key", "persisted", "tiers", "unit")

    def __init__(self, series_id: int, key: MetricKey, unit: str, ntiers: int) -> None:
        self.id = series_id
        self.key = key
        self.unit = unit
        self.persisted = False
        self.tiers: list[dict[int, _Bucket]] = [{} for _ in range(ntiers)]


_DirtyEntry = tuple[_Series, int, int, _Bucket]  # series, tier index, bucket start, bucket
_Row = tuple[int, int, int, int, float, float, float, bytes | None]


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
        self._series: dict[MetricKey, _Series] = {}
        self._dirty: list[_DirtyEntry] = []
        self._retry_rows: list[_Row] = []
        self._next_id = 1
        self._rolled_until = int(clock.now() // 1) - ROLLUP_GRACE
        if store is not None:
            store.migrate("metrics", MIGRATIONS)
            self._load(store)

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
        if len(dims) > MAX_DIMENSIONS:
            raise AwsApiError(
                "InvalidParameterValue",
                f"The collection Dimensions must not have a size greater than {MAX_DIMENSIONS}.",
            )
        if not math.isfinite(value):
            raise AwsApiError(
                "InvalidParameterValue", f"The value {value} for parameter Value is invalid."
            )
        if unit not in UNITS:
            raise AwsApiError(
                "InvalidParameterValue", f"The value {unit} for parameter Unit is invalid."
            )
        if count < 1:
            raise AwsApiError(
                "InvalidParameterValue", f"The value {count} for parameter Counts is invalid."
            )
        now = self._clock.now()
        ts = now if timestamp is None else timestamp
        if ts < now - MAX_PAST_SECONDS or ts > now + MAX_FUTURE_SECONDS:
            raise AwsApiError(
                "InvalidParameterValue",
                f"The parameter Timestamp {ts} must not be more than two weeks in the past "
                "or two hours in the future.",
            )
        key: MetricKey = (namespace, name, dims)
        with self._lock:
            series = self._series.get(key)
            if series is not None and series.unit != unit:
                series.unit = unit
                series.persisted = False
        if count == 1:
            self.put_many([(key, ts, float(value), unit)])
        else:
            self._put_repeated(key, ts, float(value), unit, count)

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
                    buckets[second] = bucket = _Bucket(value)
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

    def _put_repeated(self, key: MetricKey, ts: float, value: float, unit: str, n: int) -> None:
        with self._lock:
            series = self._series.get(key) or self._new_series(key, unit)
            second = int(ts // 1)
            if second < self._rolled_until:
                self._put_late(series, second, value, n)
            else:
                self._add(series, 0, second, value, n)

    def _put_late(self, series: _Series, second: int, value: float, n: int) -> None:
        """A sample for an already rolled-up second goes into every tier (lock held)."""
        for index, res in enumerate(self._resolutions):
            self._add(series, index, second - second % res, value, n)

    def _add(self, series: _Series, index: int, start: int, value: float, n: int) -> None:
        buckets = series.tiers[index]
        bucket = buckets.get(start)
        if bucket is None:
            buckets[start] = bucket = _Bucket(value)
            bucket.count = n
            bucket.total = value * n
            self._dirty.append((series, index, start, bucket))
            return
        compact = isinstance(bucket.sketch, bytes)
        if bucket.sketch is None and value != bucket.lo:
            sketch = QuantileSketch()
            sketch.add(bucket.lo, bucket.count)
            sketch.add(value, n)
            bucket.sketch = sketch
        elif bucket.sketch is not None:
            sketch = _live(bucket.sketch)
            sketch.add(value, n)
            bucket.sketch = sketch.to_bytes() if compact else sketch
        bucket.count += n
        bucket.total += value * n
        bucket.lo = min(bucket.lo, value)
        bucket.hi = max(bucket.hi, value)
        if not bucket.dirty:
            bucket.dirty = True
            self._dirty.append((series, index, start, bucket))

    def _merge_into(self, series: _Series, index: int, start: int, src: _Bucket) -> None:
        """Fold a closed 1-second bucket into tier ``index`` (lock held)."""
        buckets = series.tiers[index]
        bucket = buckets.get(start)
        if bucket is None:
            buckets[start] = bucket = _Bucket(src.lo)
            bucket.count = src.count
            bucket.total = src.total
            bucket.hi = src.hi
            if src.sketch is not None:
                bucket.sketch = _live(src.sketch, copy=True)
            self._dirty.append((series, index, start, bucket))
            return
        compact = isinstance(bucket.sketch, bytes)
        if bucket.sketch is None and (src.sketch is not None or src.lo != bucket.lo):
            fresh = QuantileSketch()
            fresh.add(bucket.lo, bucket.count)
            bucket.sketch = fresh
        if bucket.sketch is not None:
            sketch = _live(bucket.sketch)
            if src.sketch is not None:
                sketch.merge(_live(src.sketch))
            else:
                sketch.add(src.lo, src.count)
            bucket.sketch = sketch.to_bytes() if compact else sketch
        bucket.count += src.count
        bucket.total += src.total
        bucket.lo = min(bucket.lo, src.lo)
        bucket.hi = max(bucket.hi, src.hi)
        if not bucket.dirty:
            bucket.dirty = True
            self._dirty.append((series, index, start, bucket))

    def _roll_up(self, now: float) -> None:
        """Fold every 1-second bucket of a closed second into the coarser tiers (lock held).

        Seconds before ``floor(now) - ROLLUP_GRACE`` are closed; later samples for them take
        the late path in :meth:`put_many`, so every tier stays an exact aggregate.
        """
        until = int(now // 1) - ROLLUP_GRACE
        lo = self._rolled_until
        if until <= lo:
            return
        resolutions = self._resolutions
        for series in self._series.values():
            fine = series.tiers[0]
            if not fine:
                continue
            if until - lo <= len(fine):
                seconds = [sec for sec in range(lo, until) if sec in fine]
            else:
                seconds = sorted(sec for sec in fine if lo <= sec < until)
            for sec in seconds:
                src = fine[sec]
                for index in range(1, len(resolutions)):
                    res = resolutions[index]
                    self._merge_into(series, index, sec - sec % res, src)
                if isinstance(src.sketch, QuantileSketch):
                    src.sketch = src.sketch.to_bytes()  # closed: keep it compact
            for index in range(1, len(resolutions)):
                res = resolutions[index]
                coarse = series.tiers[index]
                start = lo - lo % res
                while start + res <= until:
                    closed = coarse.get(start)
                    if closed is not None and isinstance(closed.sketch, QuantileSketch):
                        closed.sketch = closed.sketch.to_bytes()
                    start += res
        self._rolled_until = until

    def _new_series(self, key: MetricKey, unit: str) -> _Series:
        series = _Series(self._next_id, key, unit, len(self._tiers))
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
                agg = self._merge(
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

    @staticmethod
    def _merge(
        buckets: Mapping[int, _Bucket], lo: int, hi: int, res: int, quantiles: bool
    ) -> Aggregate | None:
        agg: Aggregate | None = None
        for start in range(lo, hi, res):
            b = buckets.get(start)
            if b is None:
                continue
            if agg is None:
                agg = Aggregate(b.count, b.total, b.lo, b.hi)
                if quantiles and b.sketch is not None:
                    agg.sketch = _live(b.sketch, copy=True)
                continue
            if (
                quantiles
                and agg.sketch is None
                and (b.sketch is not None or b.lo != agg.minimum or agg.minimum != agg.maximum)
            ):
                agg.sketch = QuantileSketch()
                agg.sketch.add(agg.minimum, agg.count)
            agg.count += b.count
            agg.total += b.total
            agg.minimum = min(agg.minimum, b.lo)
            agg.maximum = max(agg.maximum, b.hi)
            if agg.sketch is not None:
                if b.sketch is not None:
                    agg.sketch.merge(_live(b.sketch))
                else:
                    agg.sketch.add(b.lo, b.count)
        return agg

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
        if start >= end:
            raise AwsApiError(
                "InvalidParameterValue",
                "The parameter StartTime must be less than the parameter EndTime.",
            )
        for stat in stats:
            if stat not in BASIC_STATISTICS:
                raise AwsApiError(
                    "InvalidParameterValue",
                    f"The value {stat} for parameter Statistics is not supported.",
                )
        quantiles: list[tuple[str, float]] = []
        for stat in extended:
            q = parse_percentile(stat)
            if q is None:
                check_statistic(stat, "ExtendedStatistics")
                continue
            quantiles.append((stat, q))
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
        queries: Sequence[Mapping[str, Any]],
        start: float,
        end: float,
        *,
        scan_by: str = "TimestampDescending",
    ) -> dict[str, Any]:
        """GetMetricData (MetricStat and metric-math Expression queries).

        Returns ``{"MetricDataResults": [{Id, Label, Timestamps, Values, StatusCode}],
        "Messages": []}`` with timestamps descending by default, as AWS does.
        """
        return metric_data.get_metric_data(self, queries, start, end, scan_by=scan_by)

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
        wanted: list[tuple[str, str | None]] = []
        if isinstance(dimensions, Mapping):
            wanted = [(k, v) for k, v in dimensions.items()]
        elif dimensions:
            wanted = [(d["Name"], d.get("Value")) for d in dimensions]
        with self._lock:
            keys = [s.key for s in self._series.values() if any(s.tiers)]
        out: list[dict[str, Any]] = []
        for ns, name, dims in sorted(keys):
            if namespace is not None and ns != namespace:
                continue
            if metric_name is not None and name != metric_name:
                continue
            have = dict(dims)
            if any(n not in have or (v is not None and have[n] != v) for n, v in wanted):
                continue
            out.append({"Namespace": ns, "MetricName": name, "Dimensions": dimensions_to_aws(dims)})
        return out

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
            rows: list[_Row] = self._retry_rows
            self._retry_rows = []
            for series, index, start, bucket in dirty:
                bucket.dirty = False
                if start < cutoffs[index]:
                    continue
                rows.append(
                    (
                        series.id,
                        self._resolutions[index],
                        start,
                        bucket.count,
                        bucket.total,
                        bucket.lo,
                        bucket.hi,
                        _blob(bucket.sketch),
                    )
                )
            new_series = [s for s in self._series.values() if not s.persisted]
            dropped = self._expire(cutoffs)
            for s in new_series:
                s.persisted = True
        if self._store is None:
            return 0
        try:
            self._write(rows, new_series, dropped, cutoffs, rolled_until)
        except BaseException:
            with self._lock:
                self._retry_rows = rows + self._retry_rows
                for s in new_series:
                    s.persisted = False
            raise
        return len(rows)

    def _expire(self, cutoffs: Sequence[int]) -> list[_Series]:
        """Drop buckets older than each tier's cutoff; returns series left empty (removed)."""
        dropped: list[_Series] = []
        for series in list(self._series.values()):
            for index, buckets in enumerate(series.tiers):
                cutoff = cutoffs[index]
                stale = []
                for start in buckets:  # insertion order is (almost) time order
                    if start >= cutoff:
                        break
                    stale.append(start)
                for start in stale:
                    del buckets[start]
            if not any(series.tiers):
                del self._series[series.key]
                dropped.append(series)
        return dropped

    def _write(
        self,
        rows: Sequence[_Row],
        new_series: Sequence[_Series],
        dropped: Sequence[_Series],
        cutoffs: Sequence[int],
        rolled_until: int,
    ) -> None:
        assert self._store is not None
        gone = {s.id for s in dropped}
        with self._store.transaction() as conn:
            conn.executemany(
                "INSERT INTO metric_series(id, namespace, name, dimensions, unit) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET unit = excluded.unit",
                [
                    (s.id, s.key[0], s.key[1], json.dumps(s.key[2]), s.unit)
                    for s in new_series
                    if s.id not in gone
                ],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO metric_buckets(series_id, resolution, ts, sample_count, "
                "total, minimum, maximum, sketch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            for tier, cutoff in zip(self._tiers, cutoffs, strict=True):
                conn.execute(
                    "DELETE FROM metric_buckets WHERE resolution = ? AND ts < ?",
                    (tier.resolution, cutoff),
                )
            for s in dropped:
                conn.execute("DELETE FROM metric_buckets WHERE series_id = ?", (s.id,))
                conn.execute("DELETE FROM metric_series WHERE id = ?", (s.id,))
            conn.execute(
                "INSERT OR REPLACE INTO metric_meta(name, value) VALUES ('rolled_until', ?)",
                (rolled_until,),
            )

    def _load(self, store: Store) -> None:
        now = self._clock.now()
        meta = store.query_one("SELECT value FROM metric_meta WHERE name = 'rolled_until'")
        if meta is not None:
            self._rolled_until = int(meta["value"])
        by_id: dict[int, _Series] = {}
        for row in store.query("SELECT id, namespace, name, dimensions, unit FROM metric_series"):
            dims: Dimensions = tuple((str(n), str(v)) for n, v in json.loads(row["dimensions"]))
            key: MetricKey = (row["namespace"], row["name"], dims)
            series = _Series(int(row["id"]), key, row["unit"], len(self._tiers))
            series.persisted = True
            by_id[series.id] = series
            self._series[key] = series
            self._next_id = max(self._next_id, series.id + 1)
        for tier_index, tier in enumerate(self._tiers):
            cutoff = math.floor((now - tier.retention) / tier.resolution) * tier.resolution
            for row in store.query(
                "SELECT series_id, ts, sample_count, total, minimum, maximum, sketch "
                "FROM metric_buckets WHERE resolution = ? AND ts >= ? ORDER BY ts",
                (tier.resolution, cutoff),
            ):
                loaded = by_id.get(int(row["series_id"]))
                if loaded is None:
                    continue
                bucket = _Bucket(float(row["minimum"]))
                bucket.count = int(row["sample_count"])
                bucket.total = float(row["total"])
                bucket.hi = float(row["maximum"])
                bucket.dirty = False
                if row["sketch"] is not None:
                    bucket.sketch = bytes(row["sketch"])
                    if tier_index == 0 and int(row["ts"]) >= self._rolled_until:
                        bucket.sketch = QuantileSketch.from_bytes(bucket.sketch)  # still open
                loaded.tiers[tier_index][int(row["ts"])] = bucket
        empty = [s for s in self._series.values() if not any(s.tiers)]
        for series in empty:
            del self._series[series.key]
        if empty:
            with store.transaction() as conn:
                conn.executemany(
                    "DELETE FROM metric_buckets WHERE series_id = ?", [(s.id,) for s in empty]
                )
                conn.executemany("DELETE FROM metric_series WHERE id = ?", [(s.id,) for s in empty])


def _live(sketch: QuantileSketch | bytes, copy: bool = False) -> QuantileSketch:
    """The mutable form of a bucket sketch (decoding the compact form of closed buckets)."""
    if isinstance(sketch, bytes):
        return QuantileSketch.from_bytes(sketch)
    return sketch.copy() if copy else sketch


def _blob(sketch: QuantileSketch | bytes | None) -> bytes | None:
    if sketch is None or isinstance(sketch, bytes):
        return sketch
    return sketch.to_bytes()


def measure_put_many_us(store: MetricStore, points: Sequence[Point]) -> float:
    """Microseconds per point of one ``put_many`` call (bench helper)."""
    began = time.perf_counter()
    store.put_many(points)
    return (time.perf_counter() - began) * 1e6 / max(1, len(points))
