"""The metric store's in-memory data: tiers, series, buckets, and how buckets merge.

A :class:`Series` holds, per :class:`Tier`, a dict from bucket start (epoch seconds, aligned
to the tier's resolution) to :class:`Bucket`. A bucket is an exact aggregate (count, sum,
min, max) plus a :class:`~apicanary.sketch.QuantileSketch`, which is ``None`` while every
sample is the same value and compact ``bytes`` once the bucket's interval is closed.

Merging is exact (counts add, sketches merge), so a coarser tier built by :func:`merge_into`
answers every statistic exactly as the finer buckets it was built from. Functions here run
with the store's lock held; each changed bucket is appended once to the caller's ``dirty``
list (the rows the next flush writes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from apicanary.engine.cloudwatch.values import Aggregate, MetricKey
from apicanary.sketch import QuantileSketch


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


class Bucket:
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

    @classmethod
    def repeated(cls, value: float, count: int) -> Bucket:
        """A bucket of ``count`` samples all equal to ``value``."""
        bucket = cls(value)
        bucket.count = count
        bucket.total = value * count
        return bucket


class Series:
    """One metric: its id in SQLite, its key and unit, and its buckets per tier."""

    __slots__ = ("id", "key", "persisted", "tiers", "unit")

    def __init__(self, series_id: int, key: MetricKey, unit: str, ntiers: int) -> None:
        self.id = series_id
        self.key = key
        self.unit = unit
        self.persisted = False
        self.tiers: list[dict[int, Bucket]] = [{} for _ in range(ntiers)]


DirtyEntry = tuple[Series, int, int, Bucket]
"""A changed bucket: series, tier index, bucket start, bucket."""


def merge_into(
    series: Series, index: int, start: int, src: Bucket, dirty: list[DirtyEntry]
) -> None:
    """Fold ``src`` into the bucket of tier ``index`` starting at ``start`` (created if absent).

    A compact (closed) target stays compact; a target whose samples were all equal gets a
    sketch as soon as a different value (or a sketched source) joins it.
    """
    buckets = series.tiers[index]
    bucket = buckets.get(start)
    if bucket is None:
        buckets[start] = bucket = Bucket(src.lo)
        bucket.count = src.count
        bucket.total = src.total
        bucket.hi = src.hi
        if src.sketch is not None:
            bucket.sketch = live(src.sketch, copy=True)
        dirty.append((series, index, start, bucket))
        return
    compact = isinstance(bucket.sketch, bytes)
    if bucket.sketch is None and (src.sketch is not None or src.lo != bucket.lo):
        fresh = QuantileSketch()
        fresh.add(bucket.lo, bucket.count)
        bucket.sketch = fresh
    if bucket.sketch is not None:
        sketch = live(bucket.sketch)
        if src.sketch is not None:
            sketch.merge(live(src.sketch))
        else:
            sketch.add(src.lo, src.count)
        bucket.sketch = sketch.to_bytes() if compact else sketch
    bucket.count += src.count
    bucket.total += src.total
    bucket.lo = min(bucket.lo, src.lo)
    bucket.hi = max(bucket.hi, src.hi)
    if not bucket.dirty:
        bucket.dirty = True
        dirty.append((series, index, start, bucket))


def roll_up(
    all_series: Iterable[Series],
    lo: int,
    until: int,
    resolutions: Sequence[int],
    dirty: list[DirtyEntry],
) -> None:
    """Fold every 1-second bucket of the seconds ``[lo, until)`` into the coarser tiers and
    compact the sketches of the buckets those seconds closed."""
    for series in all_series:
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
                merge_into(series, index, sec - sec % res, src, dirty)
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


def expire(all_series: dict[MetricKey, Series], cutoffs: Sequence[int]) -> list[Series]:
    """Drop buckets older than each tier's cutoff; series left empty are removed from
    ``all_series`` and returned."""
    dropped: list[Series] = []
    for series in list(all_series.values()):
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
            del all_series[series.key]
            dropped.append(series)
    return dropped


def aggregate(
    buckets: Mapping[int, Bucket], lo: int, hi: int, res: int, quantiles: bool
) -> Aggregate | None:
    """The aggregate of the buckets starting in ``[lo, hi)`` (step ``res``); ``None`` when
    there are none. ``quantiles`` asks for a merged sketch (costlier)."""
    agg: Aggregate | None = None
    for start in range(lo, hi, res):
        b = buckets.get(start)
        if b is None:
            continue
        if agg is None:
            agg = Aggregate(b.count, b.total, b.lo, b.hi)
            if quantiles and b.sketch is not None:
                agg.sketch = live(b.sketch, copy=True)
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
                agg.sketch.merge(live(b.sketch))
            else:
                agg.sketch.add(b.lo, b.count)
    return agg


def live(sketch: QuantileSketch | bytes, copy: bool = False) -> QuantileSketch:
    """The mutable form of a bucket sketch (decoding the compact form of closed buckets)."""
    if isinstance(sketch, bytes):
        return QuantileSketch.from_bytes(sketch)
    return sketch.copy() if copy else sketch


def blob(sketch: QuantileSketch | bytes | None) -> bytes | None:
    """The stored (compact) form of a bucket sketch."""
    if sketch is None or isinstance(sketch, bytes):
        return sketch
    return sketch.to_bytes()
