"""The ``application/vnd.amazon.eventstream`` framing botocore reads (StartLiveTail).

A message is ``total length (4) | headers length (4) | prelude CRC32 (4) | headers |
payload | message CRC32 (4)``, big-endian; each header is ``name length (1) | name |
type (1) | value``, and the only type written here is 7 (string: ``length (2) | UTF-8``).
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import orjson

_STRING = 7


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One framed message."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded + payload
    return body + struct.pack(">I", zlib.crc32(body))


def _header(name: str, value: str) -> bytes:
    raw_name = name.encode()
    raw_value = value.encode()
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", _STRING, len(raw_value))
        + raw_value
    )


def event(event_type: str, payload: Any) -> bytes:
    """An event of the stream's union member ``event_type`` with a JSON payload."""
    headers = {
        ":message-type": "event",
        ":event-type": event_type,
        ":content-type": "application/json",
    }
    return message(headers, orjson.dumps(payload))


def exception(exception_type: str, text: str) -> bytes:
    """A modeled exception in the stream (botocore raises ``EventStreamError``)."""
    headers = {
        ":message-type": "exception",
        ":exception-type": exception_type,
        ":content-type": "application/json",
    }
    return message(headers, orjson.dumps({"message": text}))
