"""The telemetry log on disk: segment files a restarted engine reopens, so a rollout's evidence
survives a crash of ``serve`` (SIGKILL included) with its cursor still valid.

Layout of the directory (``<state dir>/telemetry/``)::

    log.json              {"uid": …, "start": first retained sequence number,
                           "dropped": [[key…, n], …]}  (gateway records in deleted segments)
    00000000000000000000.seg   records from that sequence number on, one line each:
                               b"G" + a RequestRecord as a JSON array, or
                               b"L" + a LambdaInvocation as a JSON array

**Durability.** A record's bytes reach the file with one ``write(2)`` before the log shows the
record to a reader and before the gateway answers its client (see :mod:`apicanary.engine.
telemetry`). A ``write(2)`` that returned is in the kernel's page cache, which outlives the
process: a SIGKILL (or any crash of ``serve``) loses nothing written. There is no ``fsync``
per request: a power loss or a kernel crash can lose the page cache's last seconds, which is
out of scope (the state directory's SQLite journal has the same horizon for the rollout). A
write cut short by the kill leaves a partial last line; reopening truncates it (its request
got no answer: the answer is written after the record).

**Bounded.** A segment is closed after ``segment_records`` records; a closed segment is deleted
once every record in it has left the in-memory window (the ``--telemetry-buffer`` capacity),
after ``log.json`` has taken its per-key gateway counts, so the gap a late reader is told about
stays exact across restarts. The files hold at most the window plus two segments.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from dataclasses import fields
from operator import attrgetter
from pathlib import Path
from typing import Any, cast

import orjson

from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.gateway.messages import RequestRecord
from apicanary.errors import PlatformError

Record = RequestRecord | LambdaInvocation
KeyOf = Callable[[Record], Hashable | None]
"""The per-key count a record adds to (``None``: not counted): the log's gap accounting."""

_GATEWAY = b"G"
_LAMBDA = b"L"
_LAMBDA_FIELDS = attrgetter(*(f.name for f in fields(LambdaInvocation)))
_SUFFIX = ".seg"
_META = "log.json"


def encode(record: Record) -> bytes:
    """One line (newline included): about 2 µs, a JSON array with a one-byte type tag."""
    if type(record) is RequestRecord:
        return _GATEWAY + orjson.dumps(tuple(record)) + b"\n"
    return _LAMBDA + orjson.dumps(_LAMBDA_FIELDS(record)) + b"\n"


def decode(line: bytes) -> Record:
    """The record of one line from :func:`encode` (without its newline)."""
    values = orjson.loads(line[1:])
    if line[:1] == _GATEWAY:
        return RequestRecord(*values)
    if line[:1] == _LAMBDA:
        return LambdaInvocation(*values)
    raise ValueError(f"unknown record type {line[:1]!r}")


class SegmentFiles:
    """The append side and the recovery of one telemetry log directory.

    Opening recovers what a previous process wrote: :attr:`uid`, :attr:`start` (the sequence
    number of the first record of :meth:`recovered`) and :attr:`dropped` (per key, the records
    of segments deleted so far). New records go to a new segment that starts after them.
    """

    def __init__(self, directory: Path, segment_records: int, key_of: KeyOf) -> None:
        if segment_records < 1:
            raise ValueError(f"segment_records {segment_records} must be >= 1")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.segment_records = segment_records
        self._key_of = key_of
        meta = _read_meta(directory / _META)
        self.uid: str = meta.get("uid") or uuid.uuid4().hex[:12]
        self.start: int = int(meta.get("start") or 0)
        self.dropped: Counter[Hashable] = Counter(
            {tuple(key): n for *key, n in meta.get("dropped") or []}
        )
        # closed segments: first sequence number -> (record count, gateway records per key)
        self._closed: dict[int, tuple[int, Counter[Hashable]]] = {}
        self._recovered = self._recover()
        self._fd = -1
        self._first = self.start + len(self._recovered)
        self._count = 0
        self._counts: Counter[Hashable] = Counter()
        if not meta:
            self._write_meta()
        self._open_segment()

    def recovered(self) -> list[Record]:
        """The records previous processes left, oldest first (handed over once)."""
        records, self._recovered = self._recovered, []
        return records

    def append(self, data: bytes, keys: list[Hashable | None], oldest_kept: int) -> None:
        """Write ``data`` (``len(keys)`` encoded records) with one ``write(2)``; then, if the
        segment is full, close it and delete the closed segments that end before
        ``oldest_kept`` (the oldest sequence number the log still holds in memory)."""
        written = os.write(self._fd, data)
        while written < len(data):  # a regular file takes it all unless the disk is full
            data = data[written:]
            written = os.write(self._fd, data)
        self._count += len(keys)
        for key in keys:
            if key is not None:
                self._counts[key] += 1
        if self._count >= self.segment_records:
            self._rotate(oldest_kept)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def abandon(self) -> None:
        """Give the directory up after a failed write: delete it all, so the next process
        starts a new log (a new ``uid``) instead of one with a hole."""
        self.close()
        (self.directory / _META).unlink(missing_ok=True)
        for path in self.directory.glob("*" + _SUFFIX):
            path.unlink(missing_ok=True)

    # -- internals ----------------------------------------------------------------------------

    def _rotate(self, oldest_kept: int) -> None:
        os.close(self._fd)
        self._closed[self._first] = (self._count, self._counts)
        self._first, self._count, self._counts = self._first + self._count, 0, Counter()
        self._open_segment()
        expired = [first for first, (n, _) in self._closed.items() if first + n <= oldest_kept]
        if not expired:
            return
        for first in expired:
            self.dropped.update(self._closed.pop(first)[1])
        self.start = min(self._closed, default=self._first)
        self._write_meta()  # before the unlink: a crash between them leaves a file to skip
        for first in expired:
            _segment_path(self.directory, first).unlink(missing_ok=True)

    def _open_segment(self) -> None:
        path = _segment_path(self.directory, self._first)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)

    def _write_meta(self) -> None:
        dropped = [[*cast(tuple[Any, ...], key), n] for key, n in self.dropped.items()]
        body = orjson.dumps({"uid": self.uid, "start": self.start, "dropped": dropped})
        tmp = self.directory / (_META + ".tmp")
        tmp.write_bytes(body)
        os.replace(tmp, self.directory / _META)

    def _recover(self) -> list[Record]:
        """Read the retained segments in order; skip (delete) ones before ``start``; truncate a
        torn last line. Raises :class:`PlatformError` on a hole or an unreadable line."""
        segments = sorted(
            (int(path.stem), path)
            for path in self.directory.glob("*" + _SUFFIX)
            if path.stem.isdigit()
        )
        records: list[Record] = []
        expected = self.start
        for index, (first, path) in enumerate(segments):
            following = segments[index + 1][0] if index + 1 < len(segments) else None
            if following is not None and following <= self.start:
                path.unlink(missing_ok=True)  # deleted by the log, not yet by the filesystem
                continue
            if first != expected:
                raise PlatformError(
                    f"telemetry log {self.directory}: segment {path.name} starts at record "
                    f"{first}, expected {expected}; delete the directory to start a new log"
                )
            counts: Counter[Hashable] = Counter()
            count = 0
            for record in _read_segment(path):
                records.append(record)
                key = self._key_of(record)
                if key is not None:
                    counts[key] += 1
                count += 1
            if count == 0:  # opened by a process that wrote nothing: this one reopens it
                path.unlink()
                continue
            self._closed[first] = (count, counts)
            expected = first + count
        self.start = min(self._closed, default=expected)
        return records


def _read_segment(path: Path) -> Iterator[Record]:
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):  # a write cut short by a kill: its request was never answered
        with path.open("r+b") as file:
            file.truncate(end)
    for number, line in enumerate(data[:end].splitlines(), 1):
        try:
            yield decode(line)
        except (ValueError, TypeError) as error:
            raise PlatformError(
                f"telemetry log {path}: line {number} is not a record ({error}); "
                "delete the directory to start a new log"
            ) from error


def _segment_path(directory: Path, first: int) -> Path:
    return directory / f"{first:020d}{_SUFFIX}"


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except orjson.JSONDecodeError as error:
        raise PlatformError(f"telemetry log {path} is not JSON ({error})") from error
    return dict(meta)


__all__ = ["KeyOf", "Record", "SegmentFiles", "decode", "encode"]
