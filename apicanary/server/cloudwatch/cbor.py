"""A small CBOR (RFC 8949) codec covering what Smithy RPC v2 CBOR puts on the wire.

Python ⇄ CBOR mapping:

=========================  ===========================================================
Python                     CBOR
=========================  ===========================================================
``int``                    major type 0/1 (-2**64 ... 2**64-1); tags 2/3 (bignums) decode
``float``                  encoded as a 64-bit double; decodes half, single and double
``bool`` / ``None``        simple values true/false and null (``undefined`` → ``None``)
``str`` / ``bytes``        text / byte strings (definite or indefinite length on decode)
``list`` / ``tuple``       arrays (indefinite length accepted on decode)
``dict``                   maps (indefinite length accepted on decode)
``datetime``               tag 1, epoch seconds (int when whole, else double); naive = UTC
:class:`Tagged`            any other tag
=========================  ===========================================================

``encode`` always writes definite lengths and the shortest integer/length heads.
``decode`` rejects truncated input, trailing bytes, stray break codes, non-UTF-8 text,
unhashable map keys and nesting deeper than :data:`MAX_DEPTH`; every such failure raises
:class:`CborError` (a ``ValueError``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_DEPTH = 200
"""Deepest nesting of arrays/maps/tags :func:`decode` accepts."""

_BREAK = 0xFF
_INDEFINITE = 31


class CborError(ValueError):
    """Malformed CBOR input, or a Python value CBOR cannot carry."""


@dataclass(frozen=True, slots=True)
class Tagged:
    """A tagged data item whose tag this codec does not interpret (anything but 1, 2, 3)."""

    tag: int
    value: Any


# --- encoding ------------------------------------------------------------------------------


def encode(value: Any) -> bytes:
    """The CBOR encoding of ``value`` (see the module docstring for the mapping)."""
    out = bytearray()
    _encode_into(out, value)
    return bytes(out)


def _head(out: bytearray, major: int, argument: int) -> None:
    prefix = major << 5
    if argument < 24:
        out.append(prefix | argument)
    elif argument < 0x100:
        out.append(prefix | 24)
        out.append(argument)
    elif argument < 0x10000:
        out.append(prefix | 25)
        out += argument.to_bytes(2, "big")
    elif argument < 0x1_0000_0000:
        out.append(prefix | 26)
        out += argument.to_bytes(4, "big")
    elif argument < 0x1_0000_0000_0000_0000:
        out.append(prefix | 27)
        out += argument.to_bytes(8, "big")
    else:
        raise CborError(f"integer argument {argument} does not fit in 64 bits")


def _encode_into(out: bytearray, value: Any) -> None:
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        if value >= 0:
            _head(out, 0, value)
        else:
            _head(out, 1, -1 - value)
    elif isinstance(value, float):
        out.append(0xFB)
        out += struct.pack(">d", value)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        _head(out, 3, len(raw))
        out += raw
    elif isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        _head(out, 2, len(raw))
        out += raw
    elif isinstance(value, list | tuple):
        _head(out, 4, len(value))
        for item in value:
            _encode_into(out, item)
    elif isinstance(value, dict):
        _head(out, 5, len(value))
        for key, item in value.items():
            _encode_into(out, key)
            _encode_into(out, item)
    elif isinstance(value, datetime):
        _head(out, 6, 1)
        seconds = epoch_seconds(value)
        _encode_into(out, int(seconds) if seconds.is_integer() else seconds)
    elif isinstance(value, Tagged):
        _head(out, 6, value.tag)
        _encode_into(out, value.value)
    else:
        raise CborError(f"cannot encode {type(value).__name__} as CBOR")


def epoch_seconds(moment: datetime) -> float:
    """``moment`` as epoch seconds; a naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# --- decoding ------------------------------------------------------------------------------


def decode(data: bytes) -> Any:
    """The single data item ``data`` holds; raises :class:`CborError` if it is not exactly one."""
    reader = _Reader(bytes(data))
    value = reader.item(0)
    if reader.pos != len(reader.data):
        raise CborError(f"{len(reader.data) - reader.pos} unexpected bytes after the CBOR item")
    return value


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        end = self.pos + count
        if end > len(self.data):
            raise CborError(
                f"truncated CBOR: needed {count} bytes at offset {self.pos}, "
                f"{len(self.data) - self.pos} left"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def at_break(self) -> bool:
        if self.pos < len(self.data) and self.data[self.pos] == _BREAK:
            self.pos += 1
            return True
        return False

    def argument(self, info: int) -> int:
        if info < 24:
            return info
        if 24 <= info <= 27:
            return int.from_bytes(self.take(1 << (info - 24)), "big")
        raise CborError(f"invalid additional information {info} at offset {self.pos - 1}")

    def item(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CborError(f"CBOR nesting deeper than {MAX_DEPTH}")
        initial = self.byte()
        major, info = initial >> 5, initial & 0x1F
        if major == 0:
            return self.argument(info)
        if major == 1:
            return -1 - self.argument(info)
        if major in (2, 3):
            return self.string(major, info)
        if major == 4:
            return self.array(info, depth)
        if major == 5:
            return self.map(info, depth)
        if major == 6:
            return self.tagged(self.argument(info), depth)
        return self.simple(info)

    def string(self, major: int, info: int) -> str | bytes:
        if info == _INDEFINITE:
            chunks: list[bytes] = []
            while not self.at_break():
                chunk_initial = self.byte()
                if chunk_initial >> 5 != major or chunk_initial & 0x1F == _INDEFINITE:
                    raise CborError("indefinite-length string with an invalid chunk")
                chunks.append(self.take(self.argument(chunk_initial & 0x1F)))
            raw = b"".join(chunks)
        else:
            raw = self.take(self.argument(info))
        if major == 2:
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CborError(f"text string is not valid UTF-8: {exc}") from exc

    def array(self, info: int, depth: int) -> list[Any]:
        if info == _INDEFINITE:
            items: list[Any] = []
            while not self.at_break():
                items.append(self.item(depth + 1))
            return items
        return [self.item(depth + 1) for _ in range(self.argument(info))]

    def map(self, info: int, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        if info == _INDEFINITE:
            while not self.at_break():
                self.pair(result, depth)
        else:
            for _ in range(self.argument(info)):
                self.pair(result, depth)
        return result

    def pair(self, into: dict[Any, Any], depth: int) -> None:
        key = self.item(depth + 1)
        try:
            hash(key)
        except TypeError as exc:
            raise CborError(f"unhashable CBOR map key of type {type(key).__name__}") from exc
        into[key] = self.item(depth + 1)

    def tagged(self, tag: int, depth: int) -> Any:
        value = self.item(depth + 1)
        if tag == 1:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CborError(f"tag 1 (epoch time) wraps a {type(value).__name__}")
            try:
                return datetime.fromtimestamp(value, UTC)
            except (OverflowError, OSError, ValueError) as exc:
                raise CborError(f"tag 1 epoch time {value!r} is out of range") from exc
        if tag in (2, 3) and isinstance(value, bytes):
            magnitude = int.from_bytes(value, "big")
            return magnitude if tag == 2 else -1 - magnitude
        return Tagged(tag, value)

    def simple(self, info: int) -> Any:
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return float(struct.unpack(">e", self.take(2))[0])
        if info == 26:
            return float(struct.unpack(">f", self.take(4))[0])
        if info == 27:
            return float(struct.unpack(">d", self.take(8))[0])
        if info == _INDEFINITE:
            raise CborError(f"unexpected break code at offset {self.pos - 1}")
        raise CborError(f"unsupported CBOR simple value {info}")
