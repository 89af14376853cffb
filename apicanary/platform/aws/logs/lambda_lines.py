"""Lambda log lines (Text and JSON ``LogFormat``) into one outcome per invocation (pure).

Which version ran comes from the log stream's name, ``YYYY/MM/DD/[<version>]<id>`` (one
stream per execution environment), or else from the ``START``/``platform.start`` line. An
invocation is complete at its report line — ``REPORT RequestId: …`` (Text) or a
``platform.report`` record (JSON) — and is then returned as a :class:`LambdaOutcome`.

Failures:

* JSON: ``platform.report``'s ``record.status`` other than ``success`` (``failure``, ``error``,
  ``timeout``) — the runtime's own verdict, so a handler that logs an exception at ERROR level
  but returns normally is not counted as failed.
* Text: a ``Status: error|timeout`` field in ``REPORT``; a ``Task timed out after`` line; an
  unhandled-error line (``[ERROR] <Type>: …``, Python; ``ERROR\\tInvoke Error``, Node.js).
  Python's unhandled-error line carries no request id: it belongs to the next ``REPORT`` of
  the same stream, since an execution environment runs one invocation at a time. The
  ``logging`` module's ``[ERROR]\\t<time>\\t<request id>\\t…`` lines (a tab, not a space, after
  the bracket) are the handler's own logging and do not count.

Cold starts: ``Init Duration`` (Text) or ``metrics.initDurationMs`` (JSON).
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass

from apicanary.platform.aws.logs.events import LogEvent

_STREAM_VERSION = re.compile(r"^\d{4}/\d{2}/\d{2}/\[(?P<version>[^\]]+)\]")
_START = re.compile(r"^START RequestId: (?P<id>\S+)(?: Version: (?P<version>\S+))?")
_REPORT = re.compile(r"^REPORT RequestId: (?P<id>\S+)")
_FIELD = re.compile(r"(?P<name>[A-Za-z][A-Za-z ]*): (?P<value>[^\t\n]+?)(?:\t|\n|$)")
_TIMEOUT = re.compile(r"(?:(?P<id>[0-9a-fA-F-]{20,})\s.*)?Task timed out after")
_PY_ERROR = re.compile(r"^\[ERROR\] [A-Za-z_][\w.]*:")
_NODE_ERROR = re.compile(r"(?P<id>[0-9a-fA-F-]{20,})\tERROR\tInvoke Error")
_PENDING_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class LambdaOutcome:
    """One finished invocation as the logs tell it."""

    request_id: str
    version: str | None
    failed: bool
    duration_ms: float
    cold_start: bool
    timestamp_ms: int
    log_format: str  # "Text" or "JSON": which format this report came in
    reason: str = ""


def stream_version(stream: str) -> str | None:
    """The version in a Lambda log stream name (``2024/01/02/[3]abc…`` → ``"3"``)."""
    match = _STREAM_VERSION.match(stream)
    return match.group("version") if match else None


def _report_fields(message: str) -> dict[str, str]:
    return {m.group("name").strip(): m.group("value").strip() for m in _FIELD.finditer(message)}


def _ms(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return float(text.split()[0])
    except (ValueError, IndexError):
        return None


class LambdaLineParser:
    """Feeds on a function's log events in per-stream order; returns finished invocations.

    State kept between events is bounded: per stream, the version seen on ``START`` and an
    unhandled error waiting for its ``REPORT``; per request id, a timeout or error line
    waiting for its report (the oldest are dropped beyond 10,000).
    """

    def __init__(self) -> None:
        self._stream_versions: OrderedDict[str, str] = OrderedDict()
        self._stream_errors: OrderedDict[str, str] = OrderedDict()
        self._request_errors: OrderedDict[str, str] = OrderedDict()

    def feed(self, event: LogEvent) -> LambdaOutcome | None:
        """The invocation ``event`` completes, if it is a report line; else None."""
        message = event.message.lstrip()
        if message.startswith("{"):
            return self._json(event, message)
        return self._text(event, message)

    # -- Text ----------------------------------------------------------------------------------

    def _text(self, event: LogEvent, message: str) -> LambdaOutcome | None:
        if message.startswith("START "):
            start = _START.match(message)
            if start and start.group("version"):
                _remember(self._stream_versions, event.stream, start.group("version"))
            self._stream_errors.pop(event.stream, None)
            return None
        if message.startswith("REPORT "):
            return self._text_report(event, message)
        timeout = _TIMEOUT.search(message)
        if timeout:
            if timeout.group("id"):
                _remember(self._request_errors, timeout.group("id"), "timeout")
            else:
                _remember(self._stream_errors, event.stream, "timeout")
            return None
        node = _NODE_ERROR.search(message)
        if node:
            _remember(self._request_errors, node.group("id"), "error")
        elif _PY_ERROR.match(message):
            _remember(self._stream_errors, event.stream, "error")
        return None

    def _text_report(self, event: LogEvent, message: str) -> LambdaOutcome | None:
        report = _REPORT.match(message)
        if not report:
            return None
        request_id = report.group("id")
        fields = _report_fields(message)
        status = fields.get("Status", "").lower()
        reason = self._request_errors.pop(request_id, None) or self._stream_errors.pop(
            event.stream, None
        )
        if status and status != "success":
            reason = status
        duration = _ms(fields.get("Duration")) or 0.0
        return LambdaOutcome(
            request_id=request_id,
            version=self._version(event.stream),
            failed=reason is not None,
            duration_ms=duration,
            cold_start=_ms(fields.get("Init Duration")) is not None,
            timestamp_ms=event.timestamp,
            log_format="Text",
            reason=reason or "",
        )

    # -- JSON ----------------------------------------------------------------------------------

    def _json(self, event: LogEvent, message: str) -> LambdaOutcome | None:
        try:
            data = json.loads(message)
        except ValueError:
            return self._text(event, message)
        if not isinstance(data, dict):
            return None
        kind = data.get("type")
        record = data.get("record")
        if not isinstance(record, dict):
            return None
        if kind == "platform.start":
            version = record.get("version")
            if version:
                _remember(self._stream_versions, event.stream, str(version))
            return None
        if kind != "platform.report" or not record.get("requestId"):
            return None
        metrics = record.get("metrics") if isinstance(record.get("metrics"), dict) else {}
        status = str(record.get("status") or "success").lower()
        duration = metrics.get("durationMs") if metrics else None
        return LambdaOutcome(
            request_id=str(record["requestId"]),
            version=self._version(event.stream),
            failed=status != "success",
            duration_ms=float(duration) if isinstance(duration, int | float) else 0.0,
            cold_start=bool(metrics and metrics.get("initDurationMs") is not None),
            timestamp_ms=event.timestamp,
            log_format="JSON",
            reason="" if status == "success" else status,
        )

    def _version(self, stream: str) -> str | None:
        return stream_version(stream) or self._stream_versions.get(stream)


def _remember(table: OrderedDict[str, str], key: str, value: str) -> None:
    table[key] = value
    table.move_to_end(key)
    if len(table) > _PENDING_LIMIT:
        table.popitem(last=False)


__all__ = ["LambdaLineParser", "LambdaOutcome", "stream_version"]
