"""Reading recorded traffic: a capture, an access log, a HAR file, or a hand-written list.

:func:`load_replay` (``--replay FILE``) tells the format from the content:

* a **HAR** file (one JSON document with ``log.entries``), as a browser's developer tools
  export it: each entry's method, URL path and query, headers and ``postData``;
* a **capture** written by ``apicanary serve --record`` (JSON lines with ``v``, ``method``,
  ``path``; see :mod:`apicanary.engine.gateway.recording`);
* an **access log**: JSON lines with ``httpMethod`` and ``path`` (apicanary's own access log,
  or an API Gateway access log whose format logs ``$context.httpMethod`` and
  ``$context.path``), or Common Log Format lines (``... [time] "GET /path?q HTTP/1.1" ...``).
  An access log keeps neither bodies nor headers, so only its GET, HEAD and DELETE lines are
  replayed.

:func:`load_requests` (``--requests FILE``) reads a list written by hand: one request per line,
``METHOD PATH[?QUERY] [BODY]`` or a JSON object ``{"method", "path", "query", "headers",
"body" | "json"}``; blank lines and lines starting with ``#`` are ignored.

An entry that cannot be replayed is counted by reason in :attr:`Recording.skipped`, never
dropped silently; a file with nothing to replay is a :class:`BadInputError` listing why.
"""

from __future__ import annotations

import base64
import datetime
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from apicanary.engine.gateway.recording import captured_from, is_capture_line
from apicanary.errors import BadInputError
from apicanary.local.rehearse.traffic import TrafficRequest

#: Methods whose requests carry no body, so an access log line is the whole request.
BODILESS = frozenset({"GET", "HEAD", "DELETE"})
_METHODS = frozenset({"GET", "HEAD", "DELETE", "POST", "PUT", "PATCH", "OPTIONS"})
_CLF = re.compile(r'^\S+ \S+ \S+ \[([^\]]+)\] "([A-Z]+) (\S+)(?: [^"]*)?" \d{3}')
_CLF_TIME = "%d/%b/%Y:%H:%M:%S %z"
_NOT_REPLAYED_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})


@dataclass(frozen=True)
class Recording:
    """Requests read from a file, in the file's order, and what was skipped (reason → count)."""

    kind: str  # "capture", "access-log", "har", "requests"
    path: Path
    requests: tuple[TrafficRequest, ...]
    skipped: Mapping[str, int]


def load_replay(path: Path) -> Recording:
    """Read ``--replay FILE``: a capture, an access log or a HAR file (detected)."""
    data = _read(path, "--replay")
    text = data.decode("utf-8", errors="replace")
    whole: Any = None
    if text.lstrip().startswith("{"):
        try:
            whole = orjson.loads(data)
        except orjson.JSONDecodeError:
            whole = None  # JSON lines, not one document
    if isinstance(whole, Mapping) and isinstance(whole.get("log"), Mapping):
        return _finish("har", path, _har(whole["log"]), "--replay")
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise BadInputError(f"--replay {path}: the file is empty")
    number, first = lines[0]
    if first.lstrip().startswith("{"):
        try:
            sample = orjson.loads(first)
        except orjson.JSONDecodeError:
            raise BadInputError(f"--replay {path}: line {number} is not valid JSON") from None
        if is_capture_line(sample):
            return _finish("capture", path, _capture(lines), "--replay")
        if isinstance(sample, Mapping) and "httpMethod" in sample:
            return _finish("access-log", path, _json_access_log(lines), "--replay")
    elif _CLF.match(first):
        return _finish("access-log", path, _clf_access_log(lines), "--replay")
    raise BadInputError(
        f"--replay {path}: line {number} is neither a capture line (serve --record), an "
        "access log line (JSON with httpMethod and path, or Common Log Format) nor part of a "
        "HAR file"
    )


def load_requests(path: Path) -> Recording:
    """Read ``--requests FILE``: requests listed by hand."""
    text = _read(path, "--requests").decode("utf-8", errors="replace")
    entries: list[TrafficRequest | str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entries.append(_hand_written(line, f"--requests {path}: line {number}"))
    return _finish("requests", path, iter(entries), "--requests")


# --- formats -----------------------------------------------------------------------------------


def _capture(lines: list[tuple[int, str]]) -> Iterator[TrafficRequest | str]:
    for _, line in lines:
        try:
            captured = captured_from(orjson.loads(line))
        except (orjson.JSONDecodeError, ValueError, TypeError, AttributeError):
            yield "unreadable line"
            continue
        if captured.truncated:
            yield "body cut at the capture's size cap"
            continue
        yield TrafficRequest(
            method=captured.method,
            path=captured.path,
            query=captured.query,
            headers=tuple(h for h in captured.headers if h[0].lower() not in _NOT_REPLAYED_HEADERS),
            body=captured.body,
            at=captured.at,
            api=captured.api or None,
        )


def _json_access_log(lines: list[tuple[int, str]]) -> Iterator[TrafficRequest | str]:
    for _, line in lines:
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield "unreadable line"
            continue
        if not isinstance(entry, Mapping):
            yield "unreadable line"
            continue
        method = str(entry.get("httpMethod") or "").upper()
        path = entry.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            yield "no request path (log $context.path)"
            continue
        yield _bodiless(method, path, str(entry.get("queryString") or ""), _json_time(entry))


def _clf_access_log(lines: list[tuple[int, str]]) -> Iterator[TrafficRequest | str]:
    for _, line in lines:
        match = _CLF.match(line)
        if match is None:
            yield "unreadable line"
            continue
        raw_time, method, target = match.groups()
        try:
            at = datetime.datetime.strptime(raw_time, _CLF_TIME).timestamp()
        except ValueError:
            at = None
        path, _, query = target.partition("?")
        yield _bodiless(method, path, query, at)


def _bodiless(method: str, path: str, query: str, at: float | None) -> TrafficRequest | str:
    if method not in _METHODS:
        return "unreadable line"
    if method not in BODILESS:
        return f"{method}: an access log keeps no body"
    if "{" in path:
        return "a resource template, not a request path"
    return TrafficRequest(method=method, path=path, query=query, at=at)


def _json_time(entry: Mapping[str, Any]) -> float | None:
    epoch = entry.get("requestTimeEpoch")
    if isinstance(epoch, int | float) and not isinstance(epoch, bool):
        return float(epoch) / 1000.0
    raw = entry.get("requestTime")
    if isinstance(raw, str):
        try:
            return datetime.datetime.strptime(raw, _CLF_TIME).timestamp()
        except ValueError:
            return None
    return None


def _har(log: Mapping[str, Any]) -> Iterator[TrafficRequest | str]:
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise BadInputError("--replay: a HAR file needs log.entries (a list)")
    for entry in entries:
        request = entry.get("request") if isinstance(entry, Mapping) else None
        if not isinstance(request, Mapping):
            yield "unreadable line"
            continue
        url = urlsplit(str(request.get("url") or ""))
        if url.scheme not in ("http", "https"):
            yield "not an http(s) URL"
            continue
        headers = tuple(
            (str(h.get("name")), str(h.get("value")))
            for h in request.get("headers") or []
            if isinstance(h, Mapping)
            and not str(h.get("name", "")).startswith(":")
            and str(h.get("name", "")).lower() not in _NOT_REPLAYED_HEADERS
        )
        yield TrafficRequest(
            method=str(request.get("method") or "GET").upper(),
            path=url.path or "/",
            query=url.query,
            headers=headers,
            body=_har_body(request.get("postData")),
            at=_iso_time(entry.get("startedDateTime")),
        )


def _har_body(post: Any) -> bytes:
    if not isinstance(post, Mapping) or not isinstance(post.get("text"), str):
        return b""
    if post.get("encoding") == "base64":
        try:
            return base64.b64decode(post["text"])
        except ValueError:
            return b""
    return str(post["text"]).encode()


def _iso_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _hand_written(line: str, where: str) -> TrafficRequest:
    if line.startswith("{"):
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise BadInputError(f"{where}: not valid JSON") from None
        return _from_object(data, where)
    method, _, rest = line.partition(" ")
    target, _, body = rest.strip().partition(" ")
    return _checked(method, target, body.strip().encode(), (), where)


def _from_object(data: Any, where: str) -> TrafficRequest:
    if not isinstance(data, Mapping):
        raise BadInputError(f"{where}: must be a JSON object")
    headers_raw = data.get("headers") or {}
    if isinstance(headers_raw, Mapping):
        headers = tuple((str(k), str(v)) for k, v in headers_raw.items())
    elif isinstance(headers_raw, list):
        headers = tuple(
            (str(p[0]), str(p[1])) for p in headers_raw if isinstance(p, list) and len(p) == 2
        )
    else:
        raise BadInputError(f"{where}: headers must be an object or a list of [name, value]")
    if "json" in data:
        body = orjson.dumps(data["json"])
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers = (*headers, ("content-type", "application/json"))
    else:
        body = str(data.get("body") or "").encode()
    target = str(data.get("path") or "")
    query = data.get("query")
    if query:
        target = f"{target}?{query}"
    return _checked(str(data.get("method") or "GET"), target, body, headers, where)


def _checked(
    method: str, target: str, body: bytes, headers: tuple[tuple[str, str], ...], where: str
) -> TrafficRequest:
    method = method.upper()
    if method not in _METHODS:
        raise BadInputError(
            f"{where}: method {method!r} is not one of {', '.join(sorted(_METHODS))}"
        )
    path, _, query = target.partition("?")
    if not path.startswith("/"):
        raise BadInputError(f"{where}: path {path!r} must start with '/'")
    return TrafficRequest(method=method, path=path, query=query, headers=headers, body=body)


# --- shared --------------------------------------------------------------------------------------


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"{option} {path}: no such file") from None
    except OSError as exc:
        raise BadInputError(f"{option} {path}: cannot be read ({exc.strerror})") from None


def _finish(
    kind: str, path: Path, entries: Iterator[TrafficRequest | str], option: str
) -> Recording:
    requests: list[TrafficRequest] = []
    skipped: Counter[str] = Counter()
    for entry in entries:
        if isinstance(entry, str):
            skipped[entry] += 1
        else:
            requests.append(entry)
    if not requests:
        reasons = ", ".join(f"{n} × {why}" for why, n in skipped.most_common()) or "no entries"
        raise BadInputError(f"{option} {path}: nothing to replay ({reasons})")
    return Recording(kind, path, tuple(requests), dict(skipped))
