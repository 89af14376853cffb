"""A worker's output, as Lambda writes it to CloudWatch Logs: Text or JSON events (pure).

The runtime frames each invocation's output as Lambda's text format (``START RequestId: …
Version: N``, the function's output, ``END``, ``REPORT … Duration … Init Duration …``; see
:mod:`apicanary.engine.functions.runtime.logsink`). :func:`events` cuts such output into
log events in the function's ``LoggingConfig.LogFormat``:

* **Text**: one event per line (the newline kept, as on AWS); an unhandled error's
  ``[ERROR] Type: message`` line and its traceback are one event, lines joined by ``\\r`` as
  the Python runtime does.
* **JSON**: ``START`` → ``{"time", "type": "platform.start", "record": {"requestId",
  "version"}}``; ``END`` is not written; ``REPORT`` → ``{"time", "type": "platform.report",
  "record": {"requestId", "status", "errorType"?, "metrics": {"durationMs",
  "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs"?}}}`` with status
  ``success``, ``error`` (unhandled error or crash; ``errorType`` given) or ``timeout``;
  ``logging`` lines become ``{"timestamp", "level", "message", "logger", "requestId"}``; an
  unhandled error becomes ``{"timestamp", "level": "ERROR", "errorType", "errorMessage",
  "requestId", "stackTrace"}``; other output (``print``) stays plain text, as on AWS.

``StreamState`` carries the current request across writes (a long invocation's output
arrives in several pieces).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import orjson

TEXT = "Text"
JSON = "JSON"

_START = re.compile(r"START RequestId: (\S+) Version: (\S+)")
_END = re.compile(r"END RequestId: (\S+)")
_REPORT = re.compile(r"REPORT RequestId: (\S+)\t(.*)")
_LOGGING = re.compile(r"\[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\]\t(\S+)\t(\S*)\t(.*)", re.S)
_ERROR = re.compile(r"\[ERROR\] ([^:\s]+): ?(.*)")
_TIMEOUT = re.compile(r"\S+ (\S+) (Task timed out after .*)")


@dataclass(slots=True)
class StreamState:
    """What one stream's writer remembers between pieces of output."""

    request_id: str = ""
    error_type: str | None = None


def iso_time(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def events(data: str, log_format: str, state: StreamState, now_ms: int) -> list[str]:
    """The log event messages of a piece of output made of whole lines."""
    if log_format != JSON and "[ERROR]" not in data:  # the common case: line by line, as is
        plain = [line + "\n" for line in data.splitlines()]
        for line in plain:
            if line.startswith("START RequestId: "):
                start = _START.match(line)
                if start is not None:
                    state.request_id, state.error_type = start.group(1), None
        return plain
    lines = data.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        error = _ERROR.match(line)
        if error is not None:
            block = [line]
            while index < len(lines) and _continues_traceback(lines[index]):
                block.append(lines[index])
                index += 1
            state.error_type = error.group(1)
            out.append(_error_event(block, error, log_format, state, now_ms))
            continue
        message = _line(line, log_format, state, now_ms)
        if message is not None:
            out.append(message)
    return out


def _continues_traceback(line: str) -> bool:
    return line.startswith(("Traceback (most recent call last)", " ", "\t"))


def _error_event(
    block: list[str], error: re.Match[str], log_format: str, state: StreamState, now_ms: int
) -> str:
    if log_format != JSON:
        return "\r".join(block) + "\n"
    trace = [entry for entry in block[1:] if not entry.startswith("Traceback")]
    return _json(
        {
            "timestamp": iso_time(now_ms),
            "level": "ERROR",
            "errorType": error.group(1),
            "errorMessage": error.group(2),
            "requestId": state.request_id,
            "stackTrace": trace,
        }
    )


def _line(line: str, log_format: str, state: StreamState, now_ms: int) -> str | None:
    start = _START.match(line)
    if start is not None:
        state.request_id, state.error_type = start.group(1), None
        if log_format == JSON:
            record = {"requestId": start.group(1), "version": start.group(2)}
            return _json({"time": iso_time(now_ms), "type": "platform.start", "record": record})
        return line + "\n"
    if log_format != JSON:
        return line + "\n"
    if _END.match(line):
        return None
    report = _REPORT.match(line)
    if report is not None:
        return _json(_report(report.group(1), report.group(2), state, now_ms))
    logging = _LOGGING.match(line)
    if logging is not None:
        level, stamp, request_id, message = logging.groups()
        return _json(
            {
                "timestamp": stamp,
                "level": level,
                "message": message,
                "logger": "root",
                "requestId": request_id or state.request_id,
            }
        )
    timeout = _TIMEOUT.match(line)
    if timeout is not None and timeout.group(1) == state.request_id:
        return _json(
            {
                "timestamp": iso_time(now_ms),
                "level": "ERROR",
                "message": timeout.group(2),
                "requestId": state.request_id,
            }
        )
    return line + "\n"


def _report(
    request_id: str, fields_text: str, state: StreamState, now_ms: int
) -> dict[str, object]:
    fields = {}
    for part in fields_text.split("\t"):
        name, _, value = part.partition(": ")
        if value:
            fields[name.strip()] = value.strip()
    metrics: dict[str, float | int] = {
        "durationMs": _number(fields.get("Duration")),
        "billedDurationMs": int(_number(fields.get("Billed Duration"))),
        "memorySizeMB": int(_number(fields.get("Memory Size"))),
        "maxMemoryUsedMB": int(_number(fields.get("Max Memory Used"))),
    }
    if "Init Duration" in fields:
        metrics["initDurationMs"] = _number(fields["Init Duration"])
    status = fields.get("Status") or ("error" if state.error_type else "success")
    record: dict[str, object] = {"requestId": request_id, "metrics": metrics, "status": status}
    error_type = fields.get("Error Type") or (state.error_type if status == "error" else None)
    if error_type:
        record["errorType"] = error_type
    state.error_type = None
    return {"time": iso_time(now_ms), "type": "platform.report", "record": record}


def _number(text: str | None) -> float:
    if not text:
        return 0.0
    return float(text.split()[0])


def _json(value: object) -> str:
    return orjson.dumps(value).decode()
