"""The engine <-> worker protocol: length-prefixed frames on a dedicated pipe pair.

A frame is ``struct("<II", len(meta), len(body)) + meta + body``: ``meta`` is a small orjson
object (message kind, request id, timings), ``body`` is an opaque JSON document (the event,
the result or the error object) that is passed through without being re-encoded.

Engine -> worker: ``{"id", "arn", "dl"}`` + event (``dl`` = deadline, epoch milliseconds).
Worker -> engine: ``{"t": "ready"}`` once the handler is imported, ``{"t": "init_error",
"type"}`` + error object if it could not be, then one ``{"t": "ok" | "err", "type"?, "d",
"m", "o"?, "c"?, "q"?}`` + result/error object per request (``d`` handler ms, ``m`` peak RSS
in MB; ``o`` output left unread in the log pipe; ``c``/``q`` the worker's nanoseconds on and
queued for a CPU so far, where it can read them).

This module is imported by the worker bootstrap, so it must stay cheap to import.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

HEADER = struct.Struct("<II")
MAX_FRAME = 64 * 1024 * 1024  # far above Lambda's 6 MB payload limit; guards a corrupt stream

Message = tuple[dict[str, Any], bytes]

ENGINE_ROOT_VAR = "_APICANARY_ENGINE_ROOT"
"""Names the directory the engine prepends to a worker's PYTHONPATH so that it can import
apicanary; the bootstrap removes it (from PYTHONPATH and sys.path) before importing the handler."""


def frame(meta: dict[str, Any], body: bytes = b"") -> list[bytes]:
    """The parts of one frame, ready for ``os.writev`` (the body is not copied)."""
    meta_bytes = orjson.dumps(meta)
    return [HEADER.pack(len(meta_bytes), len(body)), meta_bytes, body]


class FrameReader:
    """Incremental decoder: ``feed`` bytes as they arrive, get back complete messages."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        if not self._buf:
            # the usual case: nothing left over, ``data`` is exactly one frame (a reply);
            # decoded straight from ``data``, without the copies through the buffer
            size = len(data)
            if size >= HEADER.size:
                meta_len, body_len = HEADER.unpack_from(data)
                end = HEADER.size + meta_len + body_len
                if end == size and end <= MAX_FRAME + HEADER.size:
                    meta_end = HEADER.size + meta_len
                    return [(orjson.loads(data[HEADER.size : meta_end]), data[meta_end:])]
        self._buf += data
        messages: list[Message] = []
        buf = self._buf
        pos = 0
        while len(buf) - pos >= HEADER.size:
            meta_len, body_len = HEADER.unpack_from(buf, pos)
            if meta_len + body_len > MAX_FRAME:
                raise ValueError(f"frame of {meta_len + body_len} bytes exceeds {MAX_FRAME}")
            end = pos + HEADER.size + meta_len + body_len
            if len(buf) < end:
                break
            meta_start = pos + HEADER.size
            meta = orjson.loads(buf[meta_start : meta_start + meta_len])
            messages.append((meta, bytes(buf[meta_start + meta_len : end])))
            pos = end
        if pos:
            del buf[:pos]
        return messages
