"""The quantile sketch keeps its stated bound: |estimate - exact| <= ALPHA * |exact|."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apicanary.sketch import ALPHA, QuantileSketch

QUANTILES = (0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0)
TOLERANCE = ALPHA * (1 + 1e-9)


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered) - 1e-9))
    return ordered[rank - 1]


def assert_within_bound(values: list[float], sketch: QuantileSketch) -> None:
    for q in QUANTILES:
        truth = exact(values, q)
        estimate = sketch.quantile(q)
        assert abs(estimate - truth) <= TOLERANCE * abs(truth) + 1e-300, (q, truth, estimate)


def sketch_of(values: list[float]) -> QuantileSketch:
    sketch = QuantileSketch()
    for v in values:
        sketch.add(v)
    return sketch


def sample(kind: str, seed: int, n: int) -> list[float]:
    rng = random.Random(seed)
    if kind == "uniform":
        return [rng.uniform(0.5, 2000.0) for _ in range(n)]
    if kind == "lognormal":
        return [rng.lognormvariate(3.0, 1.2) for _ in range(n)]
    # bimodal: fast cache hits and slow cold paths
    return [rng.gauss(5.0, 0.5) if rng.random() < 0.8 else rng.gauss(900.0, 80.0) for _ in range(n)]


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["uniform", "lognormal", "bimodal"]),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 3000),
)
def test_known_distributions_within_bound(kind: str, seed: int, n: int) -> None:
    values = [abs(v) + 1e-6 for v in sample(kind, seed, n)]
    assert_within_bound(values, sketch_of(values))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=300,
    )
)
def test_arbitrary_values_including_zero_and_negative(values: list[float]) -> None:
    assert_within_bound(values, sketch_of(values))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(min_value=1e-3, max_value=1e6), min_size=1, max_size=200),
    st.lists(st.floats(min_value=1e-3, max_value=1e6), min_size=1, max_size=200),
)
def test_merge_is_exact(a: list[float], b: list[float]) -> None:
    merged = sketch_of(a)
    merged.merge(sketch_of(b))
    whole = sketch_of(a + b)
    assert merged.positive == whole.positive and merged.count == whole.count
    assert_within_bound(a + b, merged)


def test_serialisation_round_trip() -> None:
    values = [-3.0, 0.0, 0.0, 1.5, 2.5, 1e6]
    sketch = sketch_of(values)
    clone = QuantileSketch.from_bytes(sketch.to_bytes())
    assert clone.positive == sketch.positive
    assert clone.negative == sketch.negative
    assert clone.zeros == 2 and clone.count == 6
    assert_within_bound(values, clone)


def test_empty_sketch_is_nan_and_buckets_stay_few() -> None:
    assert math.isnan(QuantileSketch().quantile(0.5))
    latencies = sketch_of(sample("lognormal", 7, 20_000))
    assert latencies.bucket_count() < 700


@settings(max_examples=40, deadline=None)
@given(
    accuracy=st.sampled_from([0.001, 0.01, 0.05, 0.2]),
    values=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=200,
    ),
)
def test_json_state_round_trip_is_exact(accuracy: float, values: list[float]) -> None:
    sketch = QuantileSketch(accuracy)
    for v in values:
        sketch.add(v)
    clone = QuantileSketch.from_dict(json.loads(json.dumps(sketch.to_dict())))
    assert clone.to_dict() == sketch.to_dict()
    assert (clone.positive, clone.negative, clone.zeros, clone.count) == (
        sketch.positive,
        sketch.negative,
        sketch.zeros,
        sketch.count,
    )
    for q in QUANTILES:
        assert clone.quantile(q) == sketch.quantile(q)
    tolerance = accuracy * (1 + 1e-9)
    for q in QUANTILES:
        truth = exact(values, q)
        assert abs(sketch.quantile(q) - truth) <= tolerance * abs(truth) + 1e-300


def test_json_state_of_positive_values_keeps_the_analysis_format() -> None:
    sketch = QuantileSketch(0.02)
    for v in (1.0, 1.0, 5.0):
        sketch.add(v)
    assert sketch.to_dict() == {"accuracy": 0.02, "bins": [[0, 2], [41, 1]], "count": 3}
    restored = QuantileSketch.from_dict({"accuracy": 0.02, "bins": [[0, 2], [41, 1]], "count": 3})
    assert restored.quantile(0.5) == sketch.quantile(0.5)
    assert restored.quantile(1.0) == pytest.approx(5.0, rel=0.02)


def test_inconsistent_or_invalid_state_is_refused() -> None:
    with pytest.raises(ValueError, match="do not add up"):
        QuantileSketch.from_dict({"accuracy": 0.01, "bins": [[3, 2]], "count": 3})
    with pytest.raises(ValueError, match=r"between 0 and 0\.5"):
        QuantileSketch(0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        QuantileSketch().quantile(1.5)
    with pytest.raises(ValueError, match="NaN"):
        QuantileSketch().add(math.nan)
    with pytest.raises(ValueError, match="compact form"):
        QuantileSketch(0.02).to_bytes()
    with pytest.raises(ValueError, match="cannot merge"):
        QuantileSketch().merge(QuantileSketch(0.02))
