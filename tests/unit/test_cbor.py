"""The CBOR codec: RFC 8949 Appendix A vectors, edge cases, round trips, and botocore agreement."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.parsers import RpcV2CBORParser
from hypothesis import given
from hypothesis import strategies as st

from apicanary.server.cloudwatch.cbor import MAX_DEPTH, CborError, Tagged, decode, encode

# (python value, hex encoding) pairs from RFC 8949 Appendix A that encode canonically here.
VECTORS: list[tuple[Any, str]] = [
    (0, "00"),
    (1, "01"),
    (23, "17"),
    (24, "1818"),
    (100, "1864"),
    (1000, "1903e8"),
    (1000000, "1a000f4240"),
    (1000000000000, "1b000000e8d4a51000"),
    (18446744073709551615, "1bffffffffffffffff"),
    (-1, "20"),
    (-100, "3863"),
    (-1000, "3903e7"),
    (-18446744073709551616, "3bffffffffffffffff"),
    (1.1, "fb3ff199999999999a"),
    (-4.1, "fbc010666666666666"),
    (False, "f4"),
    (True, "f5"),
    (None, "f6"),
    (b"", "40"),
    (b"\x01\x02\x03\x04", "4401020304"),
    ("", "60"),
    ("a", "6161"),
    ("IETF", "6449455446"),
    ("\u00fc", "62c3bc"),
    ("\u6c34", "63e6b0b4"),
    ([], "80"),
    ([1, 2, 3], "83010203"),
    ([1, [2, 3], [4, 5]], "8301820203820405"),
    (list(range(1, 26)), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
    ({}, "a0"),
    ({1: 2, 3: 4}, "a201020304"),
    ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
    (["a", {"b": "c"}], "826161a161626163"),
]


@pytest.mark.parametrize(("value", "hexed"), VECTORS)
def test_rfc_vectors_encode_and_decode(value: Any, hexed: str) -> None:
    assert encode(value).hex() == hexed
    assert decode(bytes.fromhex(hexed)) == value


@pytest.mark.parametrize(
    ("hexed", "expected"),
    [
        ("f90000", 0.0),
        ("f98000", -0.0),
        ("f93c00", 1.0),
        ("f93e00", 1.5),
        ("f97bff", 65504.0),
        ("f90001", 5.960464477539063e-08),
        ("f9c400", -4.0),
        ("fa47c35000", 100000.0),
        ("fa7f7fffff", 3.4028234663852886e38),
        ("fb7e37e43c8800759c", 1.0e300),
        ("f97c00", math.inf),
        ("f9fc00", -math.inf),
        ("fa7f800000", math.inf),
    ],
)
def test_decodes_half_single_and_double_floats(hexed: str, expected: float) -> None:
    value = decode(bytes.fromhex(hexed))
    assert isinstance(value, float)
    assert value == expected
    assert math.copysign(1, value) == math.copysign(1, expected)


@pytest.mark.parametrize("hexed", ["f97e00", "fa7fc00000", "fb7ff8000000000000"])
def test_decodes_nan_in_every_width(hexed: str) -> None:
    assert math.isnan(decode(bytes.fromhex(hexed)))


def test_simple_undefined_is_none() -> None:
    assert decode(b"\xf7") is None


@pytest.mark.parametrize(
    ("hexed", "expected"),
    [
        ("5f42010243030405ff", b"\x01\x02\x03\x04\x05"),
        ("7f657374726561646d696e67ff", "streaming"),
        ("9fff", []),
        ("9f018202039f0405ffff", [1, [2, 3], [4, 5]]),
        ("83018202039f0405ff", [1, [2, 3], [4, 5]]),
        ("bf61610161629f0203ffff", {"a": 1, "b": [2, 3]}),
        ("826161bf61626163ff", ["a", {"b": "c"}]),
        ("bf6346756ef563416d7421ff", {"Fun": True, "Amt": -2}),
    ],
)
def test_decodes_indefinite_length_items(hexed: str, expected: Any) -> None:
    assert decode(bytes.fromhex(hexed)) == expected


def test_tag_1_epoch_times() -> None:
    assert decode(bytes.fromhex("c11a514b67b0")) == datetime(2013, 3, 21, 20, 4, tzinfo=UTC)
    moment = decode(bytes.fromhex("c1fb41d452d9ec200000"))
    assert moment == datetime(2013, 3, 21, 20, 4, 0, 500000, tzinfo=UTC)
    assert encode(datetime(2013, 3, 21, 20, 4, tzinfo=UTC)).hex() == "c11a514b67b0"
    assert encode(moment).hex() == "c1fb41d452d9ec200000"
    # a naive datetime is UTC
    assert encode(datetime(2013, 3, 21, 20, 4)).hex() == "c11a514b67b0"


def test_bignums_and_other_tags() -> None:
    assert decode(bytes.fromhex("c249010000000000000000")) == 18446744073709551616
    assert decode(bytes.fromhex("c349010000000000000000")) == -18446744073709551617
    assert decode(bytes.fromhex("d74401020304")) == Tagged(23, b"\x01\x02\x03\x04")
    assert encode(Tagged(32, "http://www.example.com")).hex().startswith("d82076")
    assert decode(encode(Tagged(32, "x"))) == Tagged(32, "x")


def test_tuples_and_bytearrays_encode_like_lists_and_bytes() -> None:
    assert encode((1, 2)) == encode([1, 2])
    assert encode(bytearray(b"ab")) == encode(b"ab")


@pytest.mark.parametrize(
    ("hexed", "fragment"),
    [
        ("", "truncated"),
        ("19", "truncated"),
        ("62c3", "truncated"),
        ("830102", "truncated"),
        ("0001", "unexpected bytes"),
        ("ff", "break"),
        ("1c", "additional information"),
        ("f8ff", "simple value"),
        ("62c328", "UTF-8"),
        ("a18001", "unhashable"),
        ("5f6161ff", "invalid chunk"),
        ("c16161", "tag 1"),
        ("9f01", "truncated"),
    ],
)
def test_malformed_input_raises_cbor_error(hexed: str, fragment: str) -> None:
    with pytest.raises(CborError, match=fragment):
        decode(bytes.fromhex(hexed))


def test_nesting_bomb_is_refused() -> None:
    with pytest.raises(CborError, match="nesting"):
        decode(b"\x81" * (MAX_DEPTH + 5) + b"\x00")


def test_unencodable_values_raise() -> None:
    with pytest.raises(CborError, match="cannot encode"):
        encode(object())
    with pytest.raises(CborError, match="64 bits"):
        encode(2**64)


def test_cbor_error_is_a_value_error() -> None:
    assert issubclass(CborError, ValueError)


cbor_ints = st.integers(min_value=-(2**64), max_value=2**64 - 1)
scalars = (
    st.none() | st.booleans() | cbor_ints | st.floats(allow_nan=False) | st.text() | st.binary()
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=8) | cbor_ints, children, max_size=5)
    ),
    max_leaves=30,
)


@given(values)
def test_round_trip(value: Any) -> None:
    assert decode(encode(value)) == value


@given(values)
def test_botocore_reads_what_we_write(value: Any) -> None:
    parser = RpcV2CBORParser()
    parsed = parser.parse_data_item(io.BufferedReader(io.BytesIO(encode(value))))
    assert parsed == _drop_null_map_values(value)


def _drop_null_map_values(value: Any) -> Any:
    """botocore's CBOR parser leaves out map entries whose value is null."""
    if isinstance(value, dict):
        return {k: _drop_null_map_values(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_null_map_values(v) for v in value]
    return value
