"""The metric store's SQLite tables (component ``metrics``): schema, rows, load and write.

One row per series (``metric_series``), one per bucket of each tier (``metric_buckets``, the
sketch as its compact BLOB), and the roll-up watermark (``metric_meta``). Writes are batched
by :meth:`~.store.MetricStore.flush`, one transaction each; nothing here runs on the ingestion
path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from apicanary.engine.cloudwatch.metrics.buckets import Bucket, Series, Tier, blob
from apicanary.engine.cloudwatch.values import Dimensions, MetricKey
from apicanary.sketch import QuantileSketch
from apicanary.store import Store

COMPONENT = "metrics"

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


Row = tuple[int, int, int, int, float, float, float, bytes | None]
"""A ``metric_buckets`` row: series id, resolution, start, count, sum, min, max, sketch."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a store reopened on the same database finds: series (with the buckets still within
    retention), the roll-up watermark, and the next free series id."""

    series: dict[MetricKey, Series]
    rolled_until: int
    next_id: int


def bucket_row(series: Series, resolution: int, start: int, bucket: Bucket) -> Row:
    return (
        series.id,
        resolution,
        start,
        bucket.count,
        bucket.total,
        bucket.lo,
        bucket.hi,
        blob(bucket.sketch),
    )


def write(
    store: Store,
    rows: Sequence[Row],
    new_series: Sequence[Series],
    dropped: Sequence[Series],
    expiry: Sequence[tuple[Tier, int]],
    rolled_until: int,
) -> None:
    """One transaction: new series, changed buckets, buckets older than each tier's cutoff
    (``expiry``) and emptied series deleted, the watermark recorded."""
    gone = {s.id for s in dropped}
    with store.transaction() as conn:
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
        for tier, cutoff in expiry:
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


def load(store: Store, tiers: Sequence[Tier], now: float, rolled_until: int) -> Loaded:
    """Everything still within retention at ``now``; series left without buckets are deleted.

    ``rolled_until`` is the watermark to assume when none was recorded. Sketches of 1-second
    buckets not yet rolled up are decoded (they still take samples); the rest stay compact.
    """
    meta = store.query_one("SELECT value FROM metric_meta WHERE name = 'rolled_until'")
    if meta is not None:
        rolled_until = int(meta["value"])
    found: dict[MetricKey, Series] = {}
    by_id: dict[int, Series] = {}
    next_id = 1
    for row in store.query("SELECT id, namespace, name, dimensions, unit FROM metric_series"):
        dims: Dimensions = tuple((str(n), str(v)) for n, v in json.loads(row["dimensions"]))
        key: MetricKey = (row["namespace"], row["name"], dims)
        series = Series(int(row["id"]), key, row["unit"], len(tiers))
        series.persisted = True
        by_id[series.id] = series
        found[key] = series
        next_id = max(next_id, series.id + 1)
    for tier_index, tier in enumerate(tiers):
        cutoff = math.floor((now - tier.retention) / tier.resolution) * tier.resolution
        for row in store.query(
            "SELECT series_id, ts, sample_count, total, minimum, maximum, sketch "
            "FROM metric_buckets WHERE resolution = ? AND ts >= ? ORDER BY ts",
            (tier.resolution, cutoff),
        ):
            loaded = by_id.get(int(row["series_id"]))
            if loaded is None:
                continue
            bucket = Bucket(float(row["minimum"]))
            bucket.count = int(row["sample_count"])
            bucket.total = float(row["total"])
            bucket.hi = float(row["maximum"])
            bucket.dirty = False
            if row["sketch"] is not None:
                bucket.sketch = bytes(row["sketch"])
                if tier_index == 0 and int(row["ts"]) >= rolled_until:
                    bucket.sketch = QuantileSketch.from_bytes(bucket.sketch)  # still open
            loaded.tiers[tier_index][int(row["ts"])] = bucket
    empty = [s for s in found.values() if not any(s.tiers)]
    for series in empty:
        del found[series.key]
    if empty:
        with store.transaction() as conn:
            conn.executemany(
                "DELETE FROM metric_buckets WHERE series_id = ?", [(s.id,) for s in empty]
            )
            conn.executemany("DELETE FROM metric_series WHERE id = ?", [(s.id,) for s in empty])
    return Loaded(found, rolled_until, next_id)
