"""Turn gateway requests and Lambda invocations into CloudWatch metrics with AWS's names.

AWS/Lambda (aws-semantics §1.6): ``Invocations``, ``Errors`` (0 or 1 per invocation, so Sum is
a count and Average a rate), ``Duration`` (ms), ``Throttles``, under ``{}``,
``{FunctionName}``, ``{FunctionName, Resource}`` (``fn:alias`` / ``fn:version``; ``fn`` when
unqualified) and, for alias invocations, ``{FunctionName, Resource, ExecutedVersion}``.

AWS/ApiGateway (§2.8): ``Count``, ``4XXError``, ``5XXError`` (0/1), ``Latency``,
``IntegrationLatency`` (ms) under ``{ApiName}`` and ``{ApiName, Stage}``, canary requests under
``Stage = "<stage>/Canary"`` (§2.5's observed form). HTTP APIs (v2) use their own names and
dimensions: ``Count``, ``4xx``, ``5xx``, ``Latency``, ``IntegrationLatency`` under ``{ApiId}``
and ``{ApiId, Stage}`` (docs/aws-semantics.md, "HTTP APIs").

The hot path only appends the record to a list (:meth:`MetricFeed.add`); :meth:`drain` turns
everything pending into points and ingests them in one ``put_many``; the engine calls it a few
times a second. Metric keys are built once per distinct dimension set and cached.
``ConcurrentExecutions`` is not emitted (the runtime's in-flight count is in its stats).
:meth:`MetricFeed.on_drain` hands each drained batch to observers too (the Prometheus
collector keeps its cumulative counters that way, off the hot path).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache

from apicanary.engine.cloudwatch.metrics.store import MetricStore
from apicanary.engine.cloudwatch.values import MetricKey, Point
from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.gateway.messages import RequestRecord

LAMBDA = "AWS/Lambda"
APIGW = "AWS/ApiGateway"
COUNT = "Count"
MS = "Milliseconds"

log = logging.getLogger(__name__)

DrainObserver = Callable[[Sequence[RequestRecord | LambdaInvocation]], None]


@lru_cache(maxsize=4096)
def _key(namespace: str, name: str, dimensions: tuple[tuple[str, str], ...]) -> MetricKey:
    return (namespace, name, tuple(sorted(dimensions)))


@lru_cache(maxsize=4096)
def _lambda_dimension_sets(
    function: str, qualifier: str | None, executed: str | None
) -> tuple[tuple[tuple[str, str], ...], ...]:
    resource = f"{function}:{qualifier}" if qualifier else function
    sets: list[tuple[tuple[str, str], ...]] = [
        (),
        (("FunctionName", function),),
        (("FunctionName", function), ("Resource", resource)),
    ]
    is_alias = qualifier is not None and not qualifier.isdigit() and qualifier != "$LATEST"
    if is_alias and executed is not None:
        sets.append(
            (("ExecutedVersion", executed), ("FunctionName", function), ("Resource", resource))
        )
    return tuple(sets)


@lru_cache(maxsize=1024)
def _gateway_dimension_sets(
    api_name: str, stage: str, canary: bool
) -> tuple[tuple[tuple[str, str], ...], ...]:
    stage_value = f"{stage}/Canary" if canary else stage
    return ((("ApiName", api_name),), (("ApiName", api_name), ("Stage", stage_value)))


def lambda_points(record: LambdaInvocation) -> list[Point]:
    at = record.timestamp
    points: list[Point] = []
    for dims in _lambda_dimension_sets(
        record.function_name, record.qualifier, record.executed_version
    ):
        if record.throttled:
            points.append((_key(LAMBDA, "Throttles", dims), at, 1.0, COUNT))
            continue
        points.append((_key(LAMBDA, "Invocations", dims), at, 1.0, COUNT))
        error = 1.0 if record.function_error else 0.0
        points.append((_key(LAMBDA, "Errors", dims), at, error, COUNT))
        points.append((_key(LAMBDA, "Duration", dims), at, record.duration_ms, MS))
    return points


@lru_cache(maxsize=1024)
def _http_dimension_sets(api_id: str, stage: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    return ((("ApiId", api_id),), (("ApiId", api_id), ("Stage", stage)))


def http_api_points(record: RequestRecord) -> list[Point]:
    """An HTTP API request's AWS/ApiGateway points (``4xx``/``5xx``, under ``ApiId``)."""
    at = record.timestamp
    client_error = 1.0 if 400 <= record.status < 500 else 0.0
    server_error = 1.0 if record.status >= 500 else 0.0
    points: list[Point] = []
    for dims in _http_dimension_sets(record.api_id, record.stage):
        points.append((_key(APIGW, "Count", dims), at, 1.0, COUNT))
        points.append((_key(APIGW, "4xx", dims), at, client_error, COUNT))
        points.append((_key(APIGW, "5xx", dims), at, server_error, COUNT))
        points.append((_key(APIGW, "Latency", dims), at, record.latency_ms, MS))
        points.append(
            (_key(APIGW, "IntegrationLatency", dims), at, record.integration_latency_ms, MS)
        )
    return points


def gateway_points(record: RequestRecord) -> list[Point]:
    if record.api_kind == "HTTP":
        return http_api_points(record)
    at = record.timestamp
    client_error = 1.0 if 400 <= record.status < 500 else 0.0
    server_error = 1.0 if record.status >= 500 else 0.0
    points: list[Point] = []
    for dims in _gateway_dimension_sets(record.api_name, record.stage, record.is_canary):
        points.append((_key(APIGW, "Count", dims), at, 1.0, COUNT))
        points.append((_key(APIGW, "4XXError", dims), at, client_error, COUNT))
        points.append((_key(APIGW, "5XXError", dims), at, server_error, COUNT))
        points.append((_key(APIGW, "Latency", dims), at, record.latency_ms, MS))
        points.append(
            (_key(APIGW, "IntegrationLatency", dims), at, record.integration_latency_ms, MS)
        )
    return points


class MetricFeed:
    """Collects records on the hot path; :meth:`drain` converts and ingests them."""

    def __init__(self, metrics: MetricStore) -> None:
        self._metrics = metrics
        self._pending: list[RequestRecord | LambdaInvocation] = []
        self._lock = threading.Lock()
        self._observers: list[DrainObserver] = []

    def on_drain(self, observer: DrainObserver) -> None:
        """Also give ``observer`` every batch :meth:`drain` ingests (called in the draining
        thread, after the metric store has the points; an exception is logged, not raised)."""
        self._observers.append(observer)

    def add(self, record: RequestRecord | LambdaInvocation) -> None:
        self._pending.append(record)  # list.append is atomic under the GIL

    def drain(self) -> int:
        """Ingest everything pending; returns how many records were converted."""
        with self._lock:
            pending, self._pending = self._pending, []
        points: list[Point] = []
        for record in pending:
            if isinstance(record, RequestRecord):
                points += gateway_points(record)
            else:
                points += lambda_points(record)
        if points:
            self._metrics.put_many(points)
        if pending:
            for observer in self._observers:
                try:
                    observer(pending)
                except Exception:  # an observer must not stop metric ingestion
                    log.exception("metric feed observer failed")
        return len(pending)
