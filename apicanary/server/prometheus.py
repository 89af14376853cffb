"""Prometheus exposition of the local engine at ``GET /metrics`` on the control port.

A custom collector reads the engine **on scrape**; nothing Prometheus-related runs per request.

Traffic (request / invocation counters and latency histograms) comes from
:class:`TrafficCounters`, which ``MetricFeed.drain`` feeds (``MetricFeed.on_drain``) with each
batch of records it already converts for CloudWatch (a few times a second, off the hot path;
a scrape drains first, so it is current). Why not derive them from the metric store at
scrape time: Prometheus counters must only grow for the life of the process,
while the store rolls up and expires buckets (a sum over its retention shrinks), keeps
quantile sketches rather than fixed histogram buckets (``le`` counts would be estimates), and
a scrape would cost O(retained buckets). Folding records into a few integers per series at
drain time is exact and costs O(1) per record. Series live as long as the process (their
number is bounded by the project's APIs x stages x functions x versions).

Exposed families (label values are strings; a missing function/version is ``""``):

====================================================  =========  =================================
``apicanary_gateway_requests_total``                  counter    api, stage, canary, function,
``apicanary_gateway_errors_total`` (+ ``class``:       counter    version
4xx/5xx)
``apicanary_gateway_latency_seconds``                 histogram
``apicanary_lambda_invocations_total``,               counter    function, alias, version
``..._errors_total``, ``..._throttles_total``
``apicanary_lambda_duration_seconds``                 histogram
``apicanary_alarm_state``                             gauge 0/1  alarm, state
``apicanary_runtime_workers`` / ``_busy_workers`` /    gauge      function, version
``_idle_workers``; ``..._cold_starts_total``,
``..._workers_replaced_total``                        counter
``apicanary_runtime_in_flight``,                      gauge /    —
``apicanary_runtime_throttles_total``                 counter
``apicanary_runtime_environments``,                   gauge /    —
``..._cpu_waiting``; ``..._cpu_waits_total``          counter
``apicanary_rollouts_active``                         gauge      —
``apicanary_rollout_weight_percent``                  gauge      rollout, function, alias, status
====================================================  =========  =================================
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from apicanary.engine.cloudwatch.alarms.decide import STATES
from apicanary.engine.engine import Engine
from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.gateway.messages import RequestRecord
from apicanary.rollout.journal import Journal

LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
"""Histogram upper bounds in seconds (``+Inf`` is implied)."""

GATEWAY_LABELS = ("api", "stage", "canary", "function", "version")
LAMBDA_LABELS = ("function", "alias", "version")


@dataclass(slots=True)
class _Histogram:
    """Per-bucket (non-cumulative) counts, their sum and count."""

    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
        self.total += seconds
        self.count += 1

    def cumulative(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, n in zip((*LATENCY_BUCKETS_S, float("inf")), self.buckets, strict=True):
            running += n
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


@dataclass(slots=True)
class _Series:
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    throttles: int = 0
    latency: _Histogram = field(default_factory=_Histogram)


class TrafficCounters:
    """Cumulative counters per gateway series and per Lambda series; thread-safe.

    :meth:`observe` is a :class:`MetricFeed` drain observer; :meth:`gateway` and
    :meth:`lambdas` return snapshots for a scrape.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gateway: dict[tuple[str, ...], _Series] = {}
        self._lambda: dict[tuple[str, ...], _Series] = {}

    def observe(self, records: Sequence[RequestRecord | LambdaInvocation]) -> None:
        with self._lock:
            for record in records:
                if isinstance(record, RequestRecord):
                    self._add_request(record)
                else:
                    self._add_invocation(record)

    def _add_request(self, r: RequestRecord) -> None:
        labels = (
            r.api_name,
            r.stage,
            "true" if r.is_canary else "false",
            r.function_name or "",
            r.executed_version or "",
        )
        series = self._gateway.get(labels) or self._gateway.setdefault(labels, _Series())
        series.requests += 1
        if r.status >= 400:
            kind = "5xx" if r.status >= 500 else "4xx"
            series.errors[kind] = series.errors.get(kind, 0) + 1
        series.latency.observe(r.latency_ms / 1000.0)

    def _add_invocation(self, r: LambdaInvocation) -> None:
        labels = (r.function_name, r.qualifier or "", r.executed_version or "")
        series = self._lambda.get(labels) or self._lambda.setdefault(labels, _Series())
        if r.throttled:
            series.throttles += 1
            return
        series.requests += 1
        if r.function_error:
            series.errors["function"] = series.errors.get("function", 0) + 1
        series.latency.observe(r.duration_ms / 1000.0)

    def gateway(self) -> list[tuple[tuple[str, ...], _Series]]:
        with self._lock:
            return [(k, _copy(v)) for k, v in sorted(self._gateway.items())]

    def lambdas(self) -> list[tuple[tuple[str, ...], _Series]]:
        with self._lock:
            return [(k, _copy(v)) for k, v in sorted(self._lambda.items())]


def _copy(series: _Series) -> _Series:
    hist = _Histogram(list(series.latency.buckets), series.latency.total, series.latency.count)
    return _Series(series.requests, dict(series.errors), series.throttles, hist)


class EngineCollector:
    """A prometheus_client collector reading ``engine`` (and ``counters``) at each scrape."""

    def __init__(self, engine: Engine, counters: TrafficCounters) -> None:
        self._engine = engine
        self._counters = counters
        self._journal = Journal(engine.store)

    def collect(self) -> Iterator[Metric]:
        self._engine.feed.drain()
        yield from self._gateway()
        yield from self._lambdas()
        yield from self._alarms()
        yield from self._runtime()
        yield from self._rollouts()

    def _gateway(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "apicanary_gateway_requests", "Gateway requests.", labels=GATEWAY_LABELS
        )
        errors = CounterMetricFamily(
            "apicanary_gateway_errors",
            "Gateway answers with status 4xx or 5xx.",
            labels=(*GATEWAY_LABELS, "class"),
        )
        latency = HistogramMetricFamily(
            "apicanary_gateway_latency_seconds",
            "Gateway latency, receive to response.",
            labels=GATEWAY_LABELS,
        )
        for labels, s in self._counters.gateway():
            requests.add_metric(labels, s.requests)
            for kind in ("4xx", "5xx"):
                errors.add_metric((*labels, kind), s.errors.get(kind, 0))
            latency.add_metric(labels, s.latency.cumulative(), s.latency.total)
        yield from (requests, errors, latency)

    def _lambdas(self) -> Iterator[Metric]:
        invocations = CounterMetricFamily(
            "apicanary_lambda_invocations",
            "Lambda invocations that ran code (function errors included).",
            labels=LAMBDA_LABELS,
        )
        errors = CounterMetricFamily(
            "apicanary_lambda_errors", "Lambda function errors.", labels=LAMBDA_LABELS
        )
        throttles = CounterMetricFamily(
            "apicanary_lambda_throttles", "Lambda invocations throttled.", labels=LAMBDA_LABELS
        )
        duration = HistogramMetricFamily(
            "apicanary_lambda_duration_seconds", "Lambda handler duration.", labels=LAMBDA_LABELS
        )
        for labels, s in self._counters.lambdas():
            invocations.add_metric(labels, s.requests)
            errors.add_metric(labels, s.errors.get("function", 0))
            throttles.add_metric(labels, s.throttles)
            duration.add_metric(labels, s.latency.cumulative(), s.latency.total)
        yield from (invocations, errors, throttles, duration)

    def _alarms(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "apicanary_alarm_state",
            "CloudWatch alarm state: 1 for the current state, 0 for the others.",
            labels=("alarm", "state"),
        )
        for alarm in self._engine.alarms.describe_alarms():
            for state in STATES:
                gauge.add_metric(
                    (alarm["AlarmName"], state), 1.0 if alarm["StateValue"] == state else 0.0
                )
        yield gauge

    def _runtime(self) -> Iterator[Metric]:
        stats: dict[str, Any] = self._engine.runtime.stats()
        labels = ("function", "version")
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
            "workers": GaugeMetricFamily(
                "apicanary_runtime_workers", "Live worker processes.", labels=labels
            ),
            "busy": GaugeMetricFamily(
                "apicanary_runtime_busy_workers", "Workers running an invocation.", labels=labels
            ),
            "idle": GaugeMetricFamily(
                "apicanary_runtime_idle_workers", "Warm idle workers.", labels=labels
            ),
            "cold_starts": CounterMetricFamily(
                "apicanary_runtime_cold_starts", "Worker cold starts.", labels=labels
            ),
            "replaced": CounterMetricFamily(
                "apicanary_runtime_workers_replaced",
                "Workers replaced after a crash, timeout or OOM.",
                labels=labels,
            ),
        }
        for pool in stats.get("pools", {}).values():
            key = (str(pool["function"]), str(pool["version"]))
            for stat, family in families.items():
                family.add_metric(key, float(pool[stat]))
        yield from families.values()
        yield GaugeMetricFamily(
            "apicanary_runtime_in_flight", "Invocations in flight.", value=stats.get("in_flight", 0)
        )
        yield CounterMetricFamily(
            "apicanary_runtime_throttles",
            "Invocations refused for lack of concurrency.",
            value=stats.get("throttles", 0),
        )
        yield GaugeMetricFamily(
            "apicanary_runtime_environments",
            "Execution environments (worker processes) alive or starting.",
            value=stats.get("environments", 0),
        )
        cpu = stats.get("cpu", {})
        yield GaugeMetricFamily(
            "apicanary_runtime_cpu_waiting",
            "Invocations waiting for the CPU admission now.",
            value=cpu.get("waiting", 0),
        )
        yield CounterMetricFamily(
            "apicanary_runtime_cpu_waits",
            "Invocations that waited for the CPU admission.",
            value=cpu.get("waits", 0),
        )

    def _rollouts(self) -> Iterator[Metric]:
        active = self._journal.rollouts(active_only=True)
        yield GaugeMetricFamily(
            "apicanary_rollouts_active", "Rollouts in progress.", value=len(active)
        )
        weight = GaugeMetricFamily(
            "apicanary_rollout_weight_percent",
            "Traffic share currently sent to the new version of each active rollout.",
            labels=("rollout", "function", "alias", "status"),
        )
        for stored in active:
            doc = stored.document
            target = doc.get("target") or {}
            weight.add_metric(
                (
                    str(doc.get("id", stored.id)),
                    str(target.get("function", "")),
                    str(target.get("alias", "")),
                    str(doc.get("status", "")),
                ),
                float(doc.get("weight") or 0.0),
            )
        yield weight


def build_registry(engine: Engine) -> CollectorRegistry:
    """A private registry holding the engine collector; subscribes the counters to the feed."""
    counters = TrafficCounters()
    engine.feed.on_drain(counters.observe)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(engine, counters))
    return registry


def routes(engine: Engine) -> list[BaseRoute]:
    """``GET /metrics`` (Prometheus text format, or OpenMetrics when the scraper asks)."""
    registry = build_registry(engine)

    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(registry), headers={"Content-Type": content_type})

    return [Route("/metrics", metrics, methods=["GET"], name="prometheus")]
