"""The rollout marker in an alias Description: encode/decode, user text, limits."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apicanary.errors import PlatformError
from apicanary.platform.marker import (
    MAX_DESCRIPTION,
    Marker,
    decode,
    encode,
    read_marker,
    with_marker,
    without_marker,
)

MARKER = Marker("r-20240501-abc", "8", "7", 2, 0.25, 1_714_560_000)


def test_encodes_the_documented_compact_form() -> None:
    assert (
        encode(MARKER) == "apicanary:v1 id=r-20240501-abc to=8 from=7 step=2 w=0.25 exp=1714560000"
    )
    stage = Marker("r1", "3", "2", 0, 0.1, 10, mode="stage", api_id="a1b2c3", stage="prod")
    assert encode(stage).endswith(" m=stage api=a1b2c3 st=prod")
    assert decode(encode(stage)) == stage


def test_decode_absent_and_unknown_keys() -> None:
    assert decode("") is None
    assert decode("my alias") is None
    assert decode(encode(MARKER) + " future=1") == MARKER


@pytest.mark.parametrize(
    "text",
    [
        "apicanary:v1 id=r1 to=2 from=1 step=0 w=0.1",  # no exp
        "apicanary:v1 id=r1 to=2 from=1 step=x w=0.1 exp=1",
        "apicanary:v1 id=r1 to=2 from=1 step=0 w=1.5 exp=1",
        "apicanary:v1 id=r1 to=two from=1 step=0 w=0.1 exp=1",
        "apicanary:v1 id=r1 junk to=2 from=1 step=0 w=0.1 exp=1",
    ],
)
def test_malformed_markers_are_errors(text: str) -> None:
    with pytest.raises(ValueError, match="marker"):
        decode(text)


def test_encode_refuses_invalid_fields() -> None:
    with pytest.raises(ValueError, match="rollout id"):
        encode(Marker("has space", "2", "1", 0, 0.1, 1))
    with pytest.raises(ValueError, match="weight"):
        encode(Marker("r", "2", "1", 0, float("nan"), 1))


def test_user_text_is_kept_and_shortened_never_the_marker() -> None:
    described = with_marker("production traffic", MARKER)
    assert described == f"production traffic | {encode(MARKER)}"
    assert decode(described) == MARKER
    assert without_marker(described) == "production traffic"
    moved = Marker("r-20240501-abc", "8", "7", 3, 0.5, 1_714_560_600)
    assert without_marker(with_marker(described, moved)) == "production traffic"
    assert decode(with_marker(described, moved)) == moved
    long = with_marker("x" * 300, MARKER)
    assert len(long) == MAX_DESCRIPTION
    assert decode(long) == MARKER


def test_expiry() -> None:
    assert not MARKER.expired(MARKER.expires_at)
    assert MARKER.expired(MARKER.expires_at + 1)


@given(
    rollout_id=st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
    to=st.integers(1, 10**9),
    frm=st.integers(1, 10**9),
    step=st.integers(0, 10**6),
    weight=st.floats(0, 1),
    exp=st.integers(0, 2**40),
    user=st.text(max_size=300).filter(lambda t: "apicanary:v1" not in t),
)
def test_roundtrip(
    rollout_id: str, to: int, frm: int, step: int, weight: float, exp: int, user: str
) -> None:
    marker = Marker(rollout_id, str(to), str(frm), step, weight, exp)
    described = with_marker(user, marker)
    assert len(described) <= MAX_DESCRIPTION
    got = decode(described)
    assert got is not None
    assert got.weight == pytest.approx(weight, abs=5e-7)
    assert got == Marker(rollout_id, str(to), str(frm), step, got.weight, exp)


@dataclass
class _Alias:
    description: str


class _Reader:
    def __init__(self, description: str) -> None:
        self.description = description

    def get_alias(self, function: str, alias: str) -> _Alias:
        return _Alias(self.description)


def test_read_marker_on_any_platform() -> None:
    assert read_marker(_Reader(encode(MARKER)), "fn", "live") == MARKER
    assert read_marker(_Reader("plain"), "fn", "live") is None
    with pytest.raises(PlatformError, match="unreadable rollout marker"):
        read_marker(_Reader("apicanary:v1 id=r1"), "fn", "live")
