"""Recording what the gateway serves, so ``rehearse --replay`` can send it again.

``apicanary serve --record FILE`` appends one JSON line per request the gateway routed to an
API (the capture format, version 1)::

    {"v": 1, "t": 1717000000.123, "api": "orders-api", "method": "GET",
     "path": "/Prod/orders/7", "query": "expand=1", "headers": [["accept", "*/*"], ...],
     "body": "", "base64": false, "bodyBytes": 0, "truncated": false}

``t`` is epoch seconds on the engine's clock, ``path`` carries the stage prefix (API Gateway's
``$context.path``), ``query`` is the raw query string, ``headers`` keep their order and
repeats. Header values of ``Authorization``, ``Cookie`` and the configured names are replaced
by ``REDACTED`` (the name stays, so a replay still sends the header; names are compared as
the ASGI server gives them, in lower case). ``body`` holds at most ``max_body_bytes`` bytes:
as text when they are valid UTF-8 (JSON and form bodies: readable, and several times cheaper
to write than base64), else base64 with ``"base64": true``. ``bodyBytes`` is the size received
and ``truncated`` says whether the body was cut (a replay skips such requests rather than
send half a body).

Cost on the request path: :meth:`Recorder.add` appends one tuple to a list. Encoding,
redaction and the write happen in :meth:`Recorder.flush`, which the engine's housekeeping
calls off the request path. The buffer is bounded (``max_pending``): a request that finds it
full is counted in ``dropped``, never waited for. The file is rotated: when a write would take
it past ``max_file_bytes`` it becomes ``FILE.1`` (``FILE.1`` becomes ``FILE.2``, and so on up
to ``keep_files``) and a new ``FILE`` starts, so the capture never holds much more than
``(keep_files + 1) × max_file_bytes`` on disk.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from apicanary.engine.gateway.messages import GatewayRequest
from apicanary.errors import BadInputError

FORMAT_VERSION: Final = 1
REDACTED: Final = "REDACTED"
#: Header names always redacted (lower case); configured names are added to these.
ALWAYS_REDACTED: Final = frozenset({"authorization", "cookie"})
#: The settings file ``serve`` reads from its state directory, when present.
SETTINGS_FILE: Final = "recording.json"

_LIMITS: Final = {
    "maxBodyBytes": (0, 10 * 1024 * 1024),
    "maxFileBytes": (1024, 1 << 40),
    "keepFiles": (0, 100),
}


@dataclass(frozen=True)
class RecordingSettings:
    """Where and how to record; ``redact`` holds lower-case header names."""

    file: Path
    redact: frozenset[str] = ALWAYS_REDACTED
    max_body_bytes: int = 64 * 1024
    max_file_bytes: int = 64 * 1024 * 1024
    keep_files: int = 3
    max_pending: int = 10_000

    def with_redacted(self, names: tuple[str, ...]) -> RecordingSettings:
        """These settings, redacting ``names`` too."""
        extra = frozenset(_header_name(n, "--record-redact") for n in names)
        return RecordingSettings(
            self.file, self.redact | extra, self.max_body_bytes, self.max_file_bytes,
            self.keep_files, self.max_pending,
        )  # fmt: skip


def settings_from_mapping(data: Any, *, base: Path, where: str) -> RecordingSettings:
    """Validate a settings object (``file``, ``redactHeaders``, ``maxBodyBytes``,
    ``maxFileBytes``, ``keepFiles``); a relative ``file`` is relative to ``base``. Errors
    name ``where``, the field, the value and the limit."""
    if not isinstance(data, Mapping):
        raise BadInputError(f"{where}: must be a JSON object, got {type(data).__name__}")
    known = {"file", "redactHeaders", *_LIMITS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise BadInputError(
            f"{where}: unknown field {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )
    raw_file = data.get("file")
    if not isinstance(raw_file, str) or not raw_file:
        raise BadInputError(f"{where}: file: {raw_file!r} must be a file name")
    names = data.get("redactHeaders", [])
    if not isinstance(names, list):
        raise BadInputError(f"{where}: redactHeaders: {names!r} must be a list of header names")
    numbers: dict[str, int] = {}
    for key, (low, high) in _LIMITS.items():
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BadInputError(f"{where}: {key}: {value!r} must be an integer {low}..{high}")
        numbers[key] = value
    defaults = RecordingSettings(Path())
    settings = RecordingSettings(
        file=base / raw_file,
        max_body_bytes=numbers.get("maxBodyBytes", defaults.max_body_bytes),
        max_file_bytes=numbers.get("maxFileBytes", defaults.max_file_bytes),
        keep_files=numbers.get("keepFiles", defaults.keep_files),
    )
    return settings.with_redacted(tuple(_header_name(n, f"{where}: redactHeaders") for n in names))


def load_settings(state_dir: Path) -> RecordingSettings | None:
    """The settings in ``<state_dir>/recording.json``, or ``None`` when there is no such file."""
    path = state_dir / SETTINGS_FILE
    if not path.is_file():
        return None
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise BadInputError(f"{path}: not valid JSON ({exc})") from None
    return settings_from_mapping(data, base=state_dir, where=str(path))


def resolve_settings(
    state_dir: Path, record: Path | None, redact: tuple[str, ...]
) -> RecordingSettings | None:
    """What ``serve`` records: ``--record FILE`` overrides the state directory's settings
    file; ``--record-redact`` names add to either. ``None``: recording is off."""
    settings = load_settings(state_dir)
    if record is not None:
        base = settings or RecordingSettings(record)
        settings = RecordingSettings(
            record, base.redact, base.max_body_bytes, base.max_file_bytes, base.keep_files
        )
    if settings is None:
        if redact:
            raise BadInputError(
                "--record-redact: nothing is recorded",
                hint=f"add --record FILE (or a {SETTINGS_FILE} in the state directory)",
            )
        return None
    return settings.with_redacted(redact)


def _header_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name or any(c in name for c in " :\t\r\n"):
        raise BadInputError(f"{where}: {name!r} is not a header name")
    return name.lower()


# --- the capture format ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CapturedRequest:
    """One line of a capture."""

    at: float
    api: str
    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    body_bytes: int = 0
    truncated: bool = False

    def to_json(self) -> bytes:
        return _line(
            self.at, self.api, self.method, self.path, self.query, self.headers, self.body,
            self.body_bytes, self.truncated,
        )  # fmt: skip


def _line(
    at: float,
    api: str,
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    body_bytes: int,
    truncated: bool,
) -> bytes:
    """One capture line (without its newline): the format's only writer."""
    try:
        text, text_is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, text_is_base64 = base64.b64encode(body).decode("ascii"), True
    return orjson.dumps(
        {
            "v": FORMAT_VERSION,
            "t": at,
            "api": api,
            "method": method,
            "path": path,
            "query": query,
            "headers": headers,  # pairs become [name, value] arrays
            "body": text,
            "base64": text_is_base64,
            "bodyBytes": body_bytes,
            "truncated": truncated,
        }
    )


def is_capture_line(data: Any) -> bool:
    """Whether a parsed JSON line looks like a capture line (any format version)."""
    return isinstance(data, Mapping) and "v" in data and "method" in data and "path" in data


def captured_from(data: Mapping[str, Any]) -> CapturedRequest:
    """A parsed capture line as a :class:`CapturedRequest`; ``ValueError`` names a bad field."""
    if data.get("v") != FORMAT_VERSION:
        raise ValueError(f"format version {data.get('v')!r} is not {FORMAT_VERSION}")
    strings = {key: data.get(key, "") for key in ("api", "method", "path", "query", "body")}
    for key, value in strings.items():
        if not isinstance(value, str):
            raise ValueError(f"{key}: {value!r} must be a string")
    if not strings["path"].startswith("/"):
        raise ValueError(f"path: {strings['path']!r} must start with '/'")
    at = data.get("t")
    if isinstance(at, bool) or not isinstance(at, int | float):
        raise ValueError(f"t: {at!r} must be epoch seconds")
    headers = data.get("headers", [])
    if not isinstance(headers, list) or not all(
        isinstance(h, list) and len(h) == 2 and all(isinstance(x, str) for x in h) for h in headers
    ):
        raise ValueError("headers: must be a list of [name, value] string pairs")
    if data.get("base64"):
        try:
            body = base64.b64decode(strings["body"], validate=True)
        except ValueError:
            raise ValueError("body: not base64") from None
    else:
        body = strings["body"].encode("utf-8")
    return CapturedRequest(
        at=float(at),
        api=strings["api"],
        method=strings["method"].upper(),
        path=strings["path"],
        query=strings["query"],
        headers=tuple((name, value) for name, value in headers),
        body=body,
        body_bytes=int(data.get("bodyBytes", len(body))),
        truncated=bool(data.get("truncated", False)),
    )


def encode(
    at: float, api: str, path: str, request: GatewayRequest, settings: RecordingSettings
) -> bytes:
    """The capture line of ``request``: headers redacted, the body cut at the size cap.

    Written for speed (it runs once per recorded request): no intermediate objects beyond
    the redacted header list.
    """
    redact = settings.redact
    headers = [
        (name, REDACTED) if name in redact else (name, value) for name, value in request.headers
    ]
    body = request.body
    size = len(body)
    cut = size > settings.max_body_bytes
    if cut:
        body = body[: settings.max_body_bytes]
    return _line(at, api, request.method, path, request.query_string, headers, body, size, cut)


# --- the recorder ------------------------------------------------------------------------------


@dataclass
class Recorder:
    """Buffers requests on the hot path; :meth:`flush` encodes and appends them to the file."""

    settings: RecordingSettings
    written: int = 0
    dropped: int = 0
    _pending: list[tuple[float, str, str, GatewayRequest]] = field(default_factory=list)
    _size: int | None = None  # bytes in the current file, once looked at

    def add(self, at: float, api: str, path: str, request: GatewayRequest) -> None:
        """The gateway's request tap: one append (or one count when the buffer is full)."""
        if len(self._pending) < self.settings.max_pending:
            self._pending.append((at, api, path, request))
        else:
            self.dropped += 1

    def flush(self) -> int:
        """Write every buffered request; returns how many were written."""
        pending, self._pending = self._pending, []
        if not pending:
            return 0
        settings = self.settings
        lines = [encode(at, api, path, request, settings) for at, api, path, request in pending]
        data = b"\n".join(lines) + b"\n"
        path = settings.file
        if self._size is None:  # the first write: the file may exist from an earlier session
            path.parent.mkdir(parents=True, exist_ok=True)
            self._size = path.stat().st_size if path.exists() else 0
        if self._size and self._size + len(data) > settings.max_file_bytes:
            rotate(path, settings.keep_files)
            self._size = 0
        with path.open("ab") as handle:
            handle.write(data)
        self._size += len(data)
        self.written += len(pending)
        return len(pending)


def rotate(path: Path, keep: int) -> None:
    """``path`` becomes ``path.1`` (older files shift up, the oldest beyond ``keep`` goes)."""
    if keep <= 0:
        path.unlink(missing_ok=True)
        return
    oldest = path.with_name(f"{path.name}.{keep}")
    oldest.unlink(missing_ok=True)
    for index in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{index + 1}"))
    os.replace(path, path.with_name(f"{path.name}.1"))
