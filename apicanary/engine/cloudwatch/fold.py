"""Fold request records into per-second metric buckets before they reach the store.

One gateway request (REST or HTTP API) makes 10 AWS/ApiGateway points and one invocation 12 to
16 AWS/Lambda points (:mod:`.feed`). Ingesting them one by one cost about 30 µs per request in
the engine process. Here the records of one drain are grouped by what their points share (API,
stage and canary flag; an HTTP API's id and stage; or function, qualifier and executed version)
and by their second; each group becomes one :class:`Bucket` per metric (count, sum, min, max,
sketch), merged into every dimension set's series with one :meth:`MetricStore.put_buckets`.
Merging is exact, so the store answers every statistic exactly as it would after the per-point
path (the unit test compares the two).

Pure: no I/O, no locks; :class:`~.feed.MetricFeed` calls :func:`fold` from its drain.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from apicanary.engine.cloudwatch.metrics.buckets import Bucket
from apicanary.engine.cloudwatch.values import MetricKey
from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.gateway.messages import RequestRecord
from apicanary.sketch import QuantileSketch

LAMBDA = "AWS/Lambda"
APIGW = "AWS/ApiGateway"
COUNT = "Count"
MS = "Milliseconds"

FoldedPoint = tuple[MetricKey, int, Bucket, str]
"""A metric key, the second its bucket covers, the bucket, and the unit."""
Dimensions = tuple[tuple[str, str], ...]


@lru_cache(maxsize=4096)
def metric_key(namespace: str, name: str, dimensions: Dimensions) -> MetricKey:
    return (namespace, name, tuple(sorted(dimensions)))


@lru_cache(maxsize=4096)
def lambda_dimension_sets(
    function: str, qualifier: str | None, executed: str | None
) -> tuple[Dimensions, ...]:
    """AWS/Lambda's dimension sets for one invocation (aws-semantics §1.6)."""
    resource = f"{function}:{qualifier}" if qualifier else function
    sets: list[Dimensions] = [
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
def http_dimension_sets(api_id: str, stage: str) -> tuple[Dimensions, ...]:
    """An HTTP API's dimension sets (``ApiId``, then ``ApiId`` and ``Stage``)."""
    return ((("ApiId", api_id),), (("ApiId", api_id), ("Stage", stage)))


@lru_cache(maxsize=1024)
def gateway_dimension_sets(api_name: str, stage: str, canary: bool) -> tuple[Dimensions, ...]:
    """AWS/ApiGateway's dimension sets for one request (§2.8; canary: ``<stage>/Canary``)."""
    stage_value = f"{stage}/Canary" if canary else stage
    return ((("ApiName", api_name),), (("ApiName", api_name), ("Stage", stage_value)))


class _GatewayGroup:
    __slots__ = ("client_errors", "integration", "latency", "server_errors")

    def __init__(self) -> None:
        self.latency: list[float] = []
        self.integration: list[float] = []
        self.client_errors = 0
        self.server_errors = 0


class _LambdaGroup:
    __slots__ = ("durations", "errors", "throttles")

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.errors = 0
        self.throttles = 0


def fold(records: Iterable[RequestRecord | LambdaInvocation]) -> list[FoldedPoint]:
    """The buckets that ``records`` add to the store, one per (metric key, second)."""
    gateway: dict[tuple[bool, str, str, bool, int], _GatewayGroup] = {}
    lambdas: dict[tuple[str, str | None, str | None, int], _LambdaGroup] = {}
    for record in records:
        if type(record) is RequestRecord:
            if record.api_kind == "HTTP":  # HTTP APIs: under ApiId, no canary dimension
                gkey = (True, record.api_id, record.stage, False, int(record.timestamp))
            else:
                gkey = (
                    False,
                    record.api_name,
                    record.stage,
                    record.is_canary,
                    int(record.timestamp),
                )
            group = gateway.get(gkey)
            if group is None:
                group = gateway[gkey] = _GatewayGroup()
            group.latency.append(record.latency_ms)
            group.integration.append(record.integration_latency_ms)
            status = record.status
            if status >= 500:
                group.server_errors += 1
            elif status >= 400:
                group.client_errors += 1
        else:
            assert isinstance(record, LambdaInvocation)
            lkey = (
                record.function_name,
                record.qualifier,
                record.executed_version,
                int(record.timestamp),
            )
            lgroup = lambdas.get(lkey)
            if lgroup is None:
                lgroup = lambdas[lkey] = _LambdaGroup()
            if record.throttled:
                lgroup.throttles += 1
            else:
                lgroup.durations.append(record.duration_ms)
                if record.function_error:
                    lgroup.errors += 1

    out: list[FoldedPoint] = []
    for (http, api, stage, canary, second), group in gateway.items():
        n = len(group.latency)
        count = Bucket.repeated(1.0, n)
        client = _flags(group.client_errors, n)
        server = _flags(group.server_errors, n)
        latency = _bucket(group.latency)
        integration = _bucket(group.integration)
        if http:
            dim_sets, client_name, server_name = http_dimension_sets(api, stage), "4xx", "5xx"
        else:
            dim_sets = gateway_dimension_sets(api, stage, canary)
            client_name, server_name = "4XXError", "5XXError"
        for dims in dim_sets:
            out.append((metric_key(APIGW, "Count", dims), second, count, COUNT))
            out.append((metric_key(APIGW, client_name, dims), second, client, COUNT))
            out.append((metric_key(APIGW, server_name, dims), second, server, COUNT))
            out.append((metric_key(APIGW, "Latency", dims), second, latency, MS))
            out.append((metric_key(APIGW, "IntegrationLatency", dims), second, integration, MS))
    for (function, qualifier, executed, second), lgroup in lambdas.items():
        n = len(lgroup.durations)
        dim_sets = lambda_dimension_sets(function, qualifier, executed)
        if lgroup.throttles:
            throttles = Bucket.repeated(1.0, lgroup.throttles)
            for dims in dim_sets:
                out.append((metric_key(LAMBDA, "Throttles", dims), second, throttles, COUNT))
        if not n:
            continue
        invocations = Bucket.repeated(1.0, n)
        errors = _flags(lgroup.errors, n)
        duration = _bucket(lgroup.durations)
        for dims in dim_sets:
            out.append((metric_key(LAMBDA, "Invocations", dims), second, invocations, COUNT))
            out.append((metric_key(LAMBDA, "Errors", dims), second, errors, COUNT))
            out.append((metric_key(LAMBDA, "Duration", dims), second, duration, MS))
    return out


def _flags(ones: int, n: int) -> Bucket:
    """The bucket of ``n`` samples of which ``ones`` are 1.0 and the rest 0.0."""
    if ones == 0:
        return Bucket.repeated(0.0, n)
    if ones == n:
        return Bucket.repeated(1.0, n)
    bucket = Bucket.repeated(0.0, n - ones)
    bucket.count = n
    bucket.total = float(ones)
    bucket.hi = 1.0
    sketch = QuantileSketch()
    sketch.add(0.0, n - ones)
    sketch.add(1.0, ones)
    bucket.sketch = sketch
    return bucket


def _bucket(values: list[float]) -> Bucket:
    """The bucket of ``values`` (not empty), with a sketch unless every value is equal."""
    first = values[0]
    bucket = Bucket(first)
    if len(values) == 1:
        return bucket
    lo, hi = min(values), max(values)
    bucket.count = len(values)
    bucket.total = sum(values)
    bucket.lo = lo
    bucket.hi = hi
    if lo != hi:
        sketch = QuantileSketch()
        add = sketch.add
        for value in values:
            add(value)
        bucket.sketch = sketch
    return bucket
