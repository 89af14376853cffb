"""A request through the local gateway is in flight, for the evidence watermark, from its start
until its record is written, whichever kind of API it came through (REST or HTTP API).

In process, with real worker processes: the engine of the issue-12 project (REST, or HTTP API)
and the local platform's telemetry reads. A read that falls between a request's Lambda record
and its gateway record (made here from a listener on the Lambda record, which runs before the
gateway writes its own) must hold that Lambda record and the watermark, so the client's status
is what counts: a malformed answer is a success for Lambda and a 5xx for the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from apicanary.engine.engine import Engine
from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.gateway.messages import GatewayReply, GatewayRequest, RequestRecord
from apicanary.engine.provision import provision
from apicanary.platform.base import TelemetryBatch, TelemetryTarget
from apicanary.platform.local import LocalPlatform
from apicanary.project.loader import load_project
from tests.fixtures.evidence_project import write_project

TARGET = TelemetryTarget(function="Fn", alias="live", stable_version="1", canary_version="2")
#: per kind: the request path (REST has the stage prefix) and the client's malformed status
KINDS = {"rest": ("/prod/x", 502), "http": ("/x", 500)}


@dataclass
class World:
    engine: Engine
    loop: asyncio.AbstractEventLoop  # the engine's workers are bound to one loop
    path: str
    malformed: int

    def send(self, query: str) -> tuple[asyncio.Future[GatewayReply], float]:
        """Dispatch ``GET path?query``; returns the reply's future and the request's start
        time as the in-flight table holds it (while the future is pending)."""
        request = GatewayRequest("GET", self.path, query, [], b"", "127.0.0.1", None)
        answer = self.engine.gateway.dispatch(request)
        _, in_flight = self.engine.gateway.inflight.snapshot()
        (started,) = in_flight.values()  # registered as it started
        return answer, started


@pytest.fixture(params=sorted(KINDS))
def world(request: Any, tmp_path: Path) -> Iterator[World]:
    kind = str(request.param)
    template = write_project(tmp_path / "project", kind=kind)
    engine = Engine(tmp_path / "state")
    loop = asyncio.new_event_loop()
    try:
        provision(engine, load_project(template))
        engine.lambdas.wait_settled("Fn")
        yield World(engine, loop, *KINDS[kind])
    finally:
        loop.run_until_complete(engine.aclose())
        loop.close()


def failures(batch: TelemetryBatch) -> int:
    return sum(1 for invocation in batch.invocations if invocation.failed)


def test_a_request_is_in_flight_until_its_record_is_written(world: World) -> None:
    engine = world.engine
    platform = LocalPlatform(engine)
    cursor = platform.read_telemetry(TARGET, None).cursor

    async def go() -> tuple[float, float, GatewayReply]:
        answer, started = world.send("mode=sleep")  # past the 1 s integration timeout
        during = platform.read_telemetry(TARGET, cursor).fresh_until
        return started, during, await answer

    started, during, reply = world.loop.run_until_complete(go())
    assert reply.status in (503, 504)  # the integration timed out (HTTP API: 503, REST: 504)
    assert during == started  # the watermark waits for the request in flight
    assert len(engine.gateway.inflight) == 0  # its record is written: no longer in flight
    (record,) = [r for r in engine.telemetry.since(0).records if isinstance(r, RequestRecord)]
    assert (record.status, record.timestamp) == (reply.status, started)


def test_a_read_between_the_lambda_record_and_the_gateway_record_waits_for_the_gateway(
    world: World,
) -> None:
    engine = world.engine
    platform = LocalPlatform(engine)
    cursor = platform.read_telemetry(TARGET, None).cursor
    between: list[TelemetryBatch] = []

    def read_when_lambda_answers(record: RequestRecord | LambdaInvocation) -> None:
        if isinstance(record, LambdaInvocation) and not between:
            between.append(platform.read_telemetry(TARGET, cursor))

    engine.lambdas.invoker.add_listener(read_when_lambda_answers)

    async def go() -> tuple[float, GatewayReply]:
        answer, started = world.send("mode=malformed")
        return started, await answer

    started, reply = world.loop.run_until_complete(go())
    assert reply.status == world.malformed
    (first,) = between
    assert first.invocations == []  # the Lambda record (a success) waits for the gateway's
    assert first.fresh_until == started  # and holds the watermark at the request's start
    second = platform.read_telemetry(TARGET, first.cursor)
    assert len(second.invocations) == 1 and failures(second) == 1  # the client's 5xx counts
