"""API Gateway REST access-log lines, read back through the stage's own format (pure).

The stage's ``accessLogSettings.format`` is a template of ``$context`` variables (JSON, CLF,
XML or anything else). :func:`compile_format` turns it into a matcher: the literal text must
match exactly and each variable captures the shortest text up to the next literal, so one
parser reads every format without configuration. JSON formats may quote numbers or not.

What the reader needs, and from which variable (the first present wins):

* the request id — ``$context.requestId``;
* the HTTP status the client got — ``$context.status``;
* a latency — ``$context.responseLatency``, else ``$context.integrationLatency`` (or
  ``$context.integration.latency``), in milliseconds;
* optionally ``$context.integration.requestId`` (the Lambda request id, to tell cold starts).

A request is failed when its status is 5xx: the HTTP truth, which also sees a handler that
catches its own error and returns 500. Canary requests are logged to the stage's group with
``/Canary`` appended (:func:`canary_group`); which group a line came from says its arm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apicanary.platform.aws.logs.events import LogEvent

CANARY_SUFFIX = "/Canary"
_VARIABLE = re.compile(r"\$context\.[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")

REQUEST_ID = ("requestId",)
STATUS = ("status",)
LATENCY = ("responseLatency", "integrationLatency", "integration.latency")
INTEGRATION_REQUEST_ID = ("integration.requestId",)


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One access-log line, read."""

    request_id: str
    status: int
    latency_ms: float | None
    canary: bool
    timestamp_ms: int
    integration_request_id: str | None = None

    @property
    def failed(self) -> bool:
        return self.status >= 500


@dataclass(frozen=True, slots=True)
class AccessFormat:
    """A compiled access-log format: the variables it carries, in order, and its matcher."""

    template: str
    variables: tuple[str, ...]  # without the "$context." prefix
    pattern: re.Pattern[str]

    def has(self, *names: str) -> bool:
        return any(name in self.variables for name in names)

    def missing(self) -> list[str]:
        """What the reader needs that this format lacks (for ``doctor``)."""
        out = []
        for label, names in (
            ("$context.requestId", REQUEST_ID),
            ("$context.status", STATUS),
            ("$context.responseLatency or $context.integrationLatency", LATENCY),
        ):
            if not self.has(*names):
                out.append(label)
        return out

    def read(self, message: str) -> dict[str, str] | None:
        """``{variable: text}`` of one line; None when the line does not match the format."""
        match = self.pattern.match(message.strip())
        if not match:
            return None
        values: dict[str, str] = {}
        for index, name in enumerate(self.variables):
            values.setdefault(name, match.group(f"v{index}"))
        return values


def compile_format(template: str) -> AccessFormat:
    """The matcher of ``template`` (see the module docstring)."""
    parts: list[str] = []
    variables: list[str] = []
    position = 0
    text = template.strip()
    for match in _VARIABLE.finditer(text):
        parts.append(re.escape(text[position : match.start()]))
        # a JSON format may quote a value or not; a quote in the literal is matched as is
        parts.append(f"(?P<v{len(variables)}>.*?)")
        variables.append(match.group(0)[len("$context.") :])
        position = match.end()
    parts.append(re.escape(text[position:]))
    return AccessFormat(
        template=template, variables=tuple(variables), pattern=re.compile("".join(parts) + r"\Z")
    )


def canary_group(group: str) -> str:
    """The log group canary requests of a stage logging to ``group`` are written to."""
    return group + CANARY_SUFFIX


def _first(values: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = values.get(name)
        if value not in (None, "", "-"):
            return value
    return None


def parse_access_line(fmt: AccessFormat, event: LogEvent, canary: bool) -> AccessRecord | None:
    """The record of one access-log event; None if it does not match or lacks id/status."""
    values = fmt.read(event.message)
    if values is None:
        return None
    request_id = _first(values, REQUEST_ID)
    status_text = _first(values, STATUS)
    if request_id is None or status_text is None:
        return None
    try:
        status = int(status_text)
    except ValueError:
        return None
    latency_text = _first(values, LATENCY)
    try:
        latency = float(latency_text) if latency_text is not None else None
    except ValueError:
        latency = None
    return AccessRecord(
        request_id=request_id,
        status=status,
        latency_ms=latency,
        canary=canary,
        timestamp_ms=event.timestamp,
        integration_request_id=_first(values, INTEGRATION_REQUEST_ID),
    )


__all__ = [
    "CANARY_SUFFIX",
    "AccessFormat",
    "AccessRecord",
    "canary_group",
    "compile_format",
    "parse_access_line",
]
