"""Function logs: one append-only file per version, fed by the output of its workers.

A worker's stdout/stderr arrive here in arbitrary chunks. During an invocation they are
collected into one transcript (``START`` ... output ... ``END``/``REPORT``, as Lambda writes
them) that is written in as few ``write`` calls as possible: one for a quiet handler, a few
more when a handler prints a lot (flushed on line boundaries every ``FLUSH_BYTES``), and
batched per file for up to ``FLUSH_DELAY_S``. Several
workers of one version share the file; whole lines are never interleaved. The last 4 KB of a
transcript is kept for ``LogType=Tail``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

TAIL_BYTES = 4096
FLUSH_BYTES = 64 * 1024
FLUSH_DELAY_S = 0.05


class VersionLog:
    """The append-only log file of one function version.

    Writes are buffered for at most ``FLUSH_DELAY_S`` (one append per invocation costs tens
    of microseconds on the hot path); :meth:`flush` forces them out.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._buffer = bytearray()
        self._timer: asyncio.TimerHandle | None = None

    def write(self, data: bytes | bytearray) -> None:
        if self._fd is None or not data:
            return
        self._buffer += data
        if len(self._buffer) >= FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._timer = loop.call_later(FLUSH_DELAY_S, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._fd is not None and self._buffer:
            view = memoryview(self._buffer)
            while view:
                view = view[os.write(self._fd, view) :]
            view.release()
            self._buffer.clear()

    def close(self) -> None:
        self.flush()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class LogWriter(Protocol):
    """Where a worker's framed output goes: a :class:`VersionLog` or a :class:`TeeLog`."""

    def write(self, data: bytes | bytearray) -> None: ...


LogTap = Callable[[bytes], None]
"""Receives a copy of every write of one worker (whole lines); must only buffer."""


class TeeLog:
    """A worker's sink that writes its version's file and hands each write to ``tap`` too
    (the engine's CloudWatch Logs feed, one tap per worker: one log stream each)."""

    def __init__(self, log: VersionLog, tap: LogTap) -> None:
        self._log = log
        self._tap = tap

    def write(self, data: bytes | bytearray) -> None:
        if data:
            self._log.write(data)
            self._tap(bytes(data))


class WorkerLog:
    """One worker's output stream into its version's log, framed per invocation."""

    def __init__(self, sink: LogWriter) -> None:
        self._sink = sink
        self._pending = bytearray()
        self._tail: bytearray | None = None

    def feed(self, data: bytes) -> None:
        """Output read from the worker; outside an invocation it is written line by line."""
        self._pending += data
        if self._tail is not None:
            self._tail += data
            if len(self._tail) > 2 * TAIL_BYTES:
                del self._tail[:-TAIL_BYTES]
            if len(self._pending) < FLUSH_BYTES:
                return
        self._write_complete_lines()

    def start(self, request_id: str, version: str) -> None:
        self._end_line()
        line = f"START RequestId: {request_id} Version: {version}\n".encode()
        self._pending += line
        self._tail = bytearray(line)

    def finish(self, trailer: str) -> str:
        """Append ``trailer`` (END/REPORT lines), write the transcript, return its tail."""
        self._end_line()
        data = trailer.encode()
        self._pending += data
        self._sink.write(self._pending)
        self._pending.clear()
        tail = (self._tail or bytearray()) + data
        self._tail = None
        return _decode_tail(tail)

    def close(self) -> None:
        self._end_line()
        self._sink.write(self._pending)
        self._pending.clear()

    def _end_line(self) -> None:
        if self._pending and not self._pending.endswith(b"\n"):
            self._pending += b"\n"
            if self._tail is not None:
                self._tail += b"\n"

    def _write_complete_lines(self) -> None:
        cut = self._pending.rfind(b"\n") + 1
        if cut:
            self._sink.write(self._pending[:cut])
            del self._pending[:cut]


def _decode_tail(data: bytearray) -> str:
    start = max(0, len(data) - TAIL_BYTES)
    while start < len(data) and 0x80 <= data[start] < 0xC0:  # inside a UTF-8 sequence
        start += 1
    return data[start:].decode("utf-8", "replace")
