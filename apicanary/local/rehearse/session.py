"""Sending rehearsal traffic through the engine's real gateway, and what each request got.

Requests go through :class:`~apicanary.engine.gateway.gateway.Gateway` exactly as ``serve``'s
would: route matching, the stage's integration, the alias's weighted draw, a real proxy event
to a real worker process, strict response parsing, API Gateway's error answers. Requests are
sent one at a time, so the gateway's record of each one (status, executed version, error
type, latency) is the one its listener saw last.

Latency a fault injects is not slept (the clock is virtual): it is added to what the report
shows here and, by :class:`RehearsalPlatform`, to what the rollout analysis reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, replace
from typing import Any

from apicanary.engine.engine import Engine
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
    """A reply and the gateway's record of it (``None`` when no route matched)."""

    reply: GatewayReply
    record: RequestRecord | None
    injected_ms: float

    @property
    def content_type(self) -> str:
        for name, value in self.reply.headers:
            if name.lower() == b"content-type":
                return value.decode("latin-1")
        return ""


class Sender:
    """Sends :class:`TrafficRequest` values to ``engine``'s gateway, one at a time."""

    def __init__(
        self,
        engine: Engine,
        api_ids: Mapping[str, str],
        injected_ms: Mapping[str, float],
    ) -> None:
        self._gateway = engine.gateway
        self._api_ids = dict(api_ids)
        self._injected = injected_ms
        self._last: RequestRecord | None = None
        self._lock = asyncio.Lock()
        engine.gateway.add_listener(self._remember)

    def _remember(self, record: RequestRecord) -> None:
        self._last = record

    async def send(self, request: TrafficRequest) -> Answer:
        async with self._lock:
            self._last = None
            reply = await self._gateway.handle(self._gateway_request(request))
            record = self._last
        extra = self._injected.get(record.request_id, 0.0) if record is not None else 0.0
        return Answer(reply, record, extra)

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
        latency_ms=record.latency_ms + answer.injected_ms,
        cold_start=record.cold_start,
    )


class RehearsalPlatform(LocalPlatform):
    """The local platform, with injected latency added to what the analysis reads."""

    def __init__(
        self,
        engine: Engine,
        loop: asyncio.AbstractEventLoop | None,
        injected_ms: MutableMapping[str, float],
    ) -> None:
        super().__init__(engine, loop)
        self._injected = injected_ms

    def read_telemetry(self, target: TelemetryTarget, cursor: Any) -> TelemetryBatch:
        batch = super().read_telemetry(target, cursor)
        if not self._injected or batch.invocations is None:
            return batch
        adjusted = [
            replace(i, duration_ms=i.duration_ms + self._injected.pop(i.request_id, 0.0))
            if i.request_id is not None and i.request_id in self._injected
            else i
            for i in batch.invocations
        ]
        return replace(batch, invocations=adjusted)
