"""Durations: spellings accepted, refused, and the human formatting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apicanary.rollout.strategy.durations import (
    DurationSyntaxError,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0), (300, 300.0), (2.5, 2.5), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0),
        ("1h30m", 5400.0), ("1d", 86400.0), ("2.5m", 150.0), (" 45s ", 45.0), ("300", 300.0),
        ("1m30s", 90.0),
    ],
)  # fmt: skip
def test_accepted_spellings(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value", ["", "5 m", "5M", "m", "1h-5m", "-5", "1.5.2s", "five", None, [5]]
)
def test_refused_spellings(value: object) -> None:
    with pytest.raises(DurationSyntaxError):
        parse_duration(value)


@pytest.mark.parametrize("value", [True, -1, float("nan"), float("inf"), ""])
def test_refused_numbers(value: object) -> None:
    with pytest.raises(DurationSyntaxError):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (300, "5m"), (90, "1m30s"), (5400, "1h30m"), (3661, "1h1m1s"),
     (2.5, "2.5s"), (86400, "24h")],
)  # fmt: skip
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10**7))
def test_whole_seconds_format_parses_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds
