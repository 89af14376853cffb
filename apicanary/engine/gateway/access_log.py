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

import time
from pathlib import Path

import orjson

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
