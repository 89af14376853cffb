"""Sending rehearsal traffic through the engine's real gateway, and what each request got.

Requests go through :class:`~apicanary.engine.gateway.gateway.Gateway` exactly as ``serve``'s
would: route matching, the stage's integration, the alias's weighted draw, a real proxy event
to a real worker process, strict response parsing, API Gateway's error answers. Requests are
sent one at a time, so the gateway's record of each one (status, executed version, error
type) and the Lambda service's (the function's duration) are the ones their listeners saw
last.

**Latency is the function's reported duration**, not the gateway's wall time, both in the
report and in what the analysis reads (:class:`RehearsalPlatform`): it is what Lambda reports
on AWS (and what the AWS backend's alias-mode analysis reads), it carries the latency a fault
injects (the clock is virtual, so nothing sleeps), and it leaves out the local hop between
the gateway and a worker process, whose wake-up delay on a busy machine is longer for the
rarely used canary worker than for the stable one: a bias that would roll back identical code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from apicanary.engine.engine import Engine
from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.gateway.messages import GatewayReply, GatewayRequest, RequestRecord
from apicanary.local.rehearse.traffic import TrafficRequest
from apicanary.platform.base import TelemetryBatch, TelemetryTarget
from apicanary.platform.local import LocalPlatform


@dataclass(frozen=True, slots=True)
class Observation:
    """One request of the rollout as the client saw it."""

    at: float  # virtual seconds since the rollout started
    route: str  # "GET /quote/{sku}"
    version: str | None  # the version that ran (None: none was chosen)
    status: int
    error_type: str | None
    latency_ms: float
    cold_start: bool


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply, the gateway's record of it (``None`` when no route matched) and the duration
    the function reported (``None`` when none ran)."""

    reply: GatewayReply
    record: RequestRecord | None
    duration_ms: float | None

    @property
    def content_type(self) -> str:
        for name, value in self.reply.headers:
            if name.lower() == b"content-type":
                return value.decode("latin-1")
        return ""


class Sender:
    """Sends :class:`TrafficRequest` values to ``engine``'s gateway, one at a time."""

    def __init__(self, engine: Engine, api_ids: Mapping[str, str]) -> None:
        self._gateway = engine.gateway
        self._api_ids = dict(api_ids)
        self._record: RequestRecord | None = None
        self._invocation: LambdaInvocation | None = None
        self._lock = asyncio.Lock()
        engine.gateway.add_listener(self._remember_record)
        engine.lambdas.invoker.add_listener(self._remember_invocation)

    def _remember_record(self, record: RequestRecord) -> None:
        self._record = record

    def _remember_invocation(self, invocation: LambdaInvocation) -> None:
        self._invocation = invocation

    async def send(self, request: TrafficRequest) -> Answer:
        async with self._lock:
            self._record = self._invocation = None
            reply = await self._gateway.handle(self._gateway_request(request))
            record, invocation = self._record, self._invocation
        if invocation is None or record is None or invocation.request_id != record.request_id:
            return Answer(reply, record, None)
        return Answer(reply, record, invocation.duration_ms)

    def _gateway_request(self, request: TrafficRequest) -> GatewayRequest:
        api_id = self._api_ids.get(request.api or "")
        host = f"{api_id}.execute-api.localhost" if api_id else None
        headers = [(name.lower(), value) for name, value in request.headers]
        headers = [h for h in headers if h[0] != "host"]
        if host is not None:
            headers.insert(0, ("host", host))
        return GatewayRequest(
            method=request.method,
            path=request.path,
            query_string=request.query,
            headers=headers,
            body=request.body,
            source_ip="127.0.0.1",
            host=host,
        )


def observe(answer: Answer, at: float, route: str) -> Observation:
    """What the report keeps of one answer."""
    record = answer.record
    if record is None:
        return Observation(at, route, None, answer.reply.status, "NoRoute", 0.0, False)
    return Observation(
        at=at,
        route=route,
        version=record.executed_version,
        status=record.status,
        error_type=record.error_type,
        latency_ms=record.latency_ms if answer.duration_ms is None else answer.duration_ms,
        cold_start=record.cold_start,
    )


class RehearsalPlatform(LocalPlatform):
    """The local platform, judging latency by the function's reported duration (see above)."""

    def read_telemetry(self, target: TelemetryTarget, cursor: Any) -> TelemetryBatch:
        log = self.engine.telemetry
        # the local platform's cursor is {"log": uid, "at": position} (platform/local.py)
        if cursor is None:
            start = log.cursor
        elif isinstance(cursor, dict):
            start = int(cursor.get("at") or 0) if cursor.get("log") == log.uid else 0
        else:
            start = int(cursor)
        durations = {
            r.request_id: r.duration_ms
            for r in log.since(start).records
            if isinstance(r, LambdaInvocation) and not r.throttled
        }
        batch = super().read_telemetry(target, cursor)
        if batch.invocations is None:
            return batch
        timed = [
            replace(i, duration_ms=durations[i.request_id])
            if i.request_id is not None and i.request_id in durations
            else i
            for i in batch.invocations
        ]
        return replace(batch, invocations=timed)
