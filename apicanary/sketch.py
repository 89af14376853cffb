"""A mergeable quantile sketch with a relative-error guarantee (log-bucketed, DDSketch-style).

The one sketch of the code base: the metric store keeps one per metric bucket (the engine's
percentile statistics) and the rollout analysis one of the stable arm's warm durations (its
p90/p99 thresholds, detection-limits.md §7.3).

Contract
--------
With accuracy ``a`` (default :data:`ALPHA`) and ``gamma = (1 + a) / (1 - a)``, every value
``x > 0`` is counted in the bucket ``k = ceil(log(x) / log(gamma))`` which covers
``(gamma**(k-1), gamma**k]``; a negative value in the mirror bucket of ``-x``; zero in its own
counter. A bucket is represented by ``2 * gamma**k / (gamma + 1)``, which is within a relative
distance ``a`` of every value in the bucket. Hence:

    for any ``q`` in [0, 1], ``quantile(q)`` returns ``v`` with ``|v - x_q| <= a * |x_q|``,
    where ``x_q`` is the exact nearest-rank quantile of the values added: the ``k``-th smallest
    value with ``k = max(1, ceil(q * n))``.

(Plus floating-point rounding, ~1e-12 relative.) With ``a = 0.01`` the sketch of latencies
between 0.1 ms and 15 min uses at most ~800 buckets, typically a few dozen. Merging two
sketches adds bucket counts, so the guarantee holds for merged sketches too: rollups and
queries over many 1-second buckets are exactly as accurate as one sketch of all the values.

Two serial forms: :meth:`QuantileSketch.to_bytes` (compact, default accuracy only: SQLite
BLOBs and closed metric buckets) and :meth:`QuantileSketch.to_dict` (JSON, any accuracy: the
rollout's persisted analysis state); each restores an equal sketch.

Written for apicanary from the published idea (Masson, Rim, Lee: "DDSketch", VLDB 2019).
"""

from __future__ import annotations

import math
import struct
from array import array
from functools import lru_cache
from typing import Any

ALPHA = 0.01
"""Relative-error bound of every quantile the sketch returns."""

GAMMA = (1.0 + ALPHA) / (1.0 - ALPHA)
INV_LOG_GAMMA = 1.0 / math.log(GAMMA)

_HEADER = struct.Struct("<qII")


@lru_cache(maxsize=8)
def _scale(accuracy: float) -> tuple[float, float]:
    """``(gamma, 1 / log(gamma))`` of ``accuracy``."""
    gamma = (1.0 + accuracy) / (1.0 - accuracy)
    return gamma, 1.0 / math.log(gamma)


class QuantileSketch:
    """Counts per log bucket. ``positive`` / ``negative`` map bucket key -> count.

    The metric store inlines :meth:`add` for positive values on its hot path with the module's
    :data:`INV_LOG_GAMMA`; it only ever makes sketches of the default accuracy.
    """

    __slots__ = ("_gamma", "_inv_log_gamma", "accuracy", "count", "negative", "positive", "zeros")

    def __init__(self, accuracy: float = ALPHA) -> None:
        if accuracy == ALPHA:
            self._gamma, self._inv_log_gamma = GAMMA, INV_LOG_GAMMA
        elif 0.0 < accuracy < 0.5:
            self._gamma, self._inv_log_gamma = _scale(accuracy)
        else:
            raise ValueError(f"quantile accuracy {accuracy!r} must be between 0 and 0.5")
        self.accuracy = accuracy
        self.positive: dict[int, int] = {}
        self.negative: dict[int, int] | None = None
        self.zeros = 0
        self.count = 0

    def add(self, value: float, count: int = 1) -> None:
        """Count ``value`` ``count`` times (``ValueError`` for NaN; infinities are not
        values either: callers keep them out)."""
        if value > 0.0:
            k = math.ceil(math.log(value) * self._inv_log_gamma)
            self.positive[k] = self.positive.get(k, 0) + count
        elif value < 0.0:
            if self.negative is None:
                self.negative = {}
            k = math.ceil(math.log(-value) * self._inv_log_gamma)
            self.negative[k] = self.negative.get(k, 0) + count
        elif value == 0.0:
            self.zeros += count
        else:
            raise ValueError("a NaN cannot be counted in a quantile sketch")
        self.count += count

    def merge(self, other: QuantileSketch) -> None:
        """Add every count of ``other`` (same accuracy) into this sketch."""
        if other.accuracy != self.accuracy:
            raise ValueError(
                f"cannot merge a sketch of accuracy {other.accuracy} into one of {self.accuracy}"
            )
        self.count += other.count
        self.zeros += other.zeros
        positive = self.positive
        for k, c in other.positive.items():
            positive[k] = positive.get(k, 0) + c
        if other.negative:
            if self.negative is None:
                self.negative = {}
            negative = self.negative
            for k, c in other.negative.items():
                negative[k] = negative.get(k, 0) + c

    def copy(self) -> QuantileSketch:
        clone = QuantileSketch(self.accuracy)
        clone.merge(self)
        return clone

    def quantile(self, q: float) -> float:
        """The nearest-rank ``q``-quantile (``0 <= q <= 1``) within the accuracy; NaN when
        empty."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile {q!r} must be between 0 and 1")
        n = self.count
        if n == 0:
            return math.nan
        rank = max(1, math.ceil(q * n - 1e-9))
        seen = 0
        if self.negative:
            for k in sorted(self.negative, reverse=True):
                seen += self.negative[k]
                if seen >= rank:
                    return -self._value_of(k)
        seen += self.zeros
        if seen >= rank:
            return 0.0
        for k in sorted(self.positive):
            seen += self.positive[k]
            if seen >= rank:
                return self._value_of(k)
        # Only reachable if counts were corrupted; answer the largest bucket.
        return self._value_of(max(self.positive)) if self.positive else 0.0

    def _value_of(self, key: int) -> float:
        """The representative value of bucket ``key`` (within the accuracy of all in it)."""
        gamma = self._gamma
        return 2.0 * gamma**key / (gamma + 1.0)

    def bucket_count(self) -> int:
        """Number of non-empty buckets (memory is proportional to it)."""
        return len(self.positive) + (len(self.negative) if self.negative else 0)

    # -- serialisation (SQLite BLOB, and the compact form of closed buckets) ----------------

    def to_bytes(self) -> bytes:
        """A compact encoding: dense count arrays over each key range, or sparse
        (key, count) pairs when that is smaller. ~4 bytes per bucket for latency data.
        Default accuracy only (the form does not record it)."""
        if self.accuracy != ALPHA:
            raise ValueError(f"only a sketch of accuracy {ALPHA} has a compact form")
        parts = [_HEADER.pack(self.zeros, 0, 0)]
        for store in (self.positive, self.negative or {}):
            parts.append(_encode(store))
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, blob: bytes) -> QuantileSketch:
        zeros, _, _ = _HEADER.unpack_from(blob, 0)
        offset = _HEADER.size
        positive, offset = _decode(blob, offset)
        negative, offset = _decode(blob, offset)
        sketch = cls()
        sketch.zeros = zeros
        sketch.positive = positive
        if negative:
            sketch.negative = negative
        sketch.count = zeros + sum(positive.values()) + sum(negative.values())
        return sketch

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: ``bins`` (positive buckets) as sorted ``[key, count]`` pairs;
        ``zeros`` and ``negative`` only when there are any."""
        state: dict[str, Any] = {
            "accuracy": self.accuracy,
            "bins": [[k, self.positive[k]] for k in sorted(self.positive)],
            "count": self.count,
        }
        if self.zeros:
            state["zeros"] = self.zeros
        if self.negative:
            state["negative"] = [[k, self.negative[k]] for k in sorted(self.negative)]
        return state

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantileSketch:
        """Inverse of :meth:`to_dict` (``ValueError`` when the counts do not add up)."""
        sketch = cls(float(data["accuracy"]))
        sketch.positive = {int(k): int(c) for k, c in data["bins"]}
        negative = {int(k): int(c) for k, c in data.get("negative", ())}
        if negative:
            sketch.negative = negative
        sketch.zeros = int(data.get("zeros", 0))
        sketch.count = int(data["count"])
        total = sketch.zeros + sum(sketch.positive.values()) + sum(negative.values())
        if total != sketch.count:
            raise ValueError("quantile sketch state is inconsistent: bin counts do not add up")
        return sketch


_PART = struct.Struct("<cciI")  # layout (d/s), count typecode, lowest key, length


def _encode(store: dict[int, int]) -> bytes:
    if not store:
        return _PART.pack(b"d", b"I", 0, 0)
    typecode = "I" if max(store.values()) < 2**32 else "Q"
    lo, hi = min(store), max(store)
    span = hi - lo + 1
    if span * array(typecode).itemsize <= len(store) * (4 + array(typecode).itemsize):
        dense: array[int] = array(typecode, bytes(span * array(typecode).itemsize))
        for k, c in store.items():
            dense[k - lo] = c
        return _PART.pack(b"d", typecode.encode(), lo, span) + dense.tobytes()
    keys = array("i", store.keys())
    counts = array(typecode, store.values())
    return _PART.pack(b"s", typecode.encode(), 0, len(store)) + keys.tobytes() + counts.tobytes()


def _decode(blob: bytes, offset: int) -> tuple[dict[int, int], int]:
    layout, code, lo, n = _PART.unpack_from(blob, offset)
    offset += _PART.size
    typecode = code.decode()
    counts: array[int] = array(typecode)
    if layout == b"d":
        counts.frombytes(blob[offset : offset + n * counts.itemsize])
        offset += n * counts.itemsize
        return {lo + i: c for i, c in enumerate(counts) if c}, offset
    keys: array[int] = array("i")
    keys.frombytes(blob[offset : offset + 4 * n])
    offset += 4 * n
    counts.frombytes(blob[offset : offset + n * counts.itemsize])
    offset += n * counts.itemsize
    return dict(zip(keys, counts, strict=True)), offset
