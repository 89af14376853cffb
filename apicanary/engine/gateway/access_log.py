"""API Gateway-style access log: one JSON line per gateway request, canary flag included.

The fields are API Gateway's ``$context`` variables that an access-log format would use
(requestId, requestTime, requestTimeEpoch, httpMethod, resourcePath, path — the request path
with the stage prefix —, status, responseLatency, integrationLatency, stage, deploymentId,
apiId, isCanaryRequest), plus three local extensions: the raw query string (``queryString``:
AWS has no context variable for it), the executed Lambda version and the error type. With
``path`` and ``queryString`` a GET, HEAD or DELETE line is a request ``rehearse --replay``
can send again. Lines are buffered on the hot path (a list append) and written by :meth:`flush`,
which the engine calls from its housekeeping; the file is ``<state>/logs/access.log``.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Mapping
from pathlib import Path

import orjson

from apicanary.engine.gateway.events import derive_extended_request_id
from apicanary.engine.gateway.messages import RequestRecord


class AccessLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        self._pending.append(record)

    def flush(self) -> int:
        """Append every buffered line to the file; returns how many were written."""
        pending, self._pending = self._pending, []
        if not pending:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as handle:
            for record in pending:
                handle.write(orjson.dumps(line(record)) + b"\n")
        return len(pending)


def line(record: RequestRecord) -> dict[str, object]:
    return {
        "requestId": record.request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(record.timestamp)),
        "requestTimeEpoch": int(record.timestamp * 1000),
        "httpMethod": record.method,
        "resourcePath": record.resource_path,
        "path": record.path,
        "queryString": record.query_string,
        "status": record.status,
        "responseLatency": round(record.latency_ms, 3),
        "integrationLatency": round(record.integration_latency_ms, 3),
        "apiId": record.api_id,
        "stage": record.stage,
        "deploymentId": record.deployment_id,
        "isCanaryRequest": record.is_canary,
        "functionName": record.function_name,
        "executedVersion": record.executed_version,
        "errorType": record.error_type,
    }


# --- access-log formats ($context variables) -------------------------------------------------

_GATEWAY_ERRORS = {
    "IntegrationTimeout": "Endpoint request timed out",
    "Throttled": "Internal server error",
}
_NOT_INVOKED = ("Unsupported", "StageVariable", "NotFound", "IntegrationTimeout", "RuntimeFailure")
_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")


def context_variables(record: RequestRecord, *, protocol: str = "HTTP/1.1") -> dict[str, str]:
    """The ``$context`` variables of one REST request (names without ``$context.``).

    Lambda proxy integrations: ``integrationStatus`` / ``integration.integrationStatus`` is
    Lambda's own answer (200 when Invoke ran, even for a function error; 429 throttled; absent
    when the integration timed out or was never called); ``integration.status`` is the
    function's ``statusCode`` (absent when it returned none). ``error.message`` is the
    gateway's message for its own answers. Variables without a value are left out, so a
    format renders them as ``-``, as API Gateway does.
    """
    error = record.error_type
    context: dict[str, str] = {
        "requestId": record.request_id,
        "extendedRequestId": derive_extended_request_id(record.request_id),
        "httpMethod": record.method,
        "resourcePath": record.resource_path,
        "path": record.path,
        "stage": record.stage,
        "apiId": record.api_id,
        "deploymentId": record.deployment_id,
        "protocol": protocol,
        "status": str(record.status),
        "responseLatency": str(round(record.latency_ms)),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(record.timestamp)),
        "requestTimeEpoch": str(int(record.timestamp * 1000)),
        "isCanaryRequest": "true" if record.is_canary else "false",
    }
    if record.source_ip:
        context["identity.sourceIp"] = record.source_ip
    invoked = error not in _NOT_INVOKED
    if invoked:
        latency = str(round(record.integration_latency_ms))
        context["integrationLatency"] = latency
        context["integration.latency"] = latency
        lambda_status = "429" if error == "Throttled" else "200"
        context["integrationStatus"] = lambda_status
        context["integration.integrationStatus"] = lambda_status
        context["integration.requestId"] = record.request_id
        if error is None:
            context["integration.status"] = str(record.status)
    if error is not None:
        context["error.message"] = _GATEWAY_ERRORS.get(error, "Internal server error")
        context["integrationErrorMessage"] = error
        context["integration.error"] = error
    return context


def render_access_log(format_text: str, context: Mapping[str, str]) -> str:
    """``format_text`` with each ``$context.x`` replaced by its value, ``-`` when absent.

    The longest variable name present wins (``$context.integration.status`` before
    ``$context.integration``), so dotted names work inside JSON, CLF or CSV formats.
    """

    out: list[str] = []
    for literal, name in _format_parts(format_text):
        out.append(literal)
        if name is not None:
            out.append(_context_value(name, context))
    return "".join(out)


@functools.lru_cache(maxsize=128)
def _format_parts(format_text: str) -> tuple[tuple[str, str | None], ...]:
    """A format cut into (literal text, variable name or None) pairs, parsed once."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    for match in _CONTEXT_VARIABLE.finditer(format_text):
        parts.append((format_text[position : match.start()], match.group(1)))
        position = match.end()
    parts.append((format_text[position:], None))
    return tuple(parts)


def _context_value(full: str, context: Mapping[str, str]) -> str:
    name = full
    while True:
        if name in context:
            return context[name] + full[len(name) :]
        if "." not in name:
            return "-"
        name = name.rsplit(".", 1)[0]
