"""Evidence counted exactly once: the pure accumulator, and the local platform's reads split
between a gateway request's two records (issue 12, break 1), its watermark and its gaps."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from apicanary.clock import VirtualClock
from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.gateway.inflight import InFlight
from apicanary.engine.gateway.messages import RequestRecord
from apicanary.engine.telemetry import TelemetryLog
from apicanary.model import Invocation
from apicanary.platform.base import TelemetryTarget
from apicanary.platform.evidence import EvidenceAccumulator, Observation, Source
from apicanary.platform.local import LocalPlatform

TARGET = TelemetryTarget(function="Fn", alias="live", stable_version="1", canary_version="2")


def _inv(rid: str, failed: bool = True) -> Invocation:
    return Invocation(canary=True, failed=failed, duration_ms=5.0, request_id=rid)


def _gw(rid: str, at: float = 0.0, expects: bool = True) -> Observation:
    return Observation(rid, at, Source.GATEWAY, _inv(rid), expects)


def _fn(rid: str, at: float = 0.0) -> Observation:
    return Observation(rid, at, Source.LAMBDA, _inv(rid))


def test_lambda_first_then_gateway_in_another_read_is_one_observation() -> None:
    acc = EvidenceAccumulator(hold_s=30, remember_s=960)
    assert acc.add([_fn("a")], now=1.0, awaiting={"a"}) == []  # held: its gateway is in flight
    assert acc.oldest_held() == 0.0
    assert [i.request_id for i in acc.add([_gw("a")], now=2.0, awaiting=set())] == ["a"]
    assert acc.held == 0 and acc.remembered == 0


def test_gateway_first_then_a_late_lambda_record_is_one_observation() -> None:
    acc = EvidenceAccumulator(hold_s=30, remember_s=960)
    assert len(acc.add([_gw("t")], now=1.0, awaiting=set())) == 1  # integration timeout
    assert acc.add([_fn("t")], now=5.0, awaiting=set()) == []  # the function ended later
    assert acc.remembered == 0


def test_a_direct_invoke_counts_at_once_and_an_unknown_one_after_the_hold() -> None:
    acc = EvidenceAccumulator(hold_s=30, remember_s=960)
    assert len(acc.add([_fn("d")], now=1.0, awaiting=set())) == 1
    assert acc.add([_fn("u", at=1.0)], now=1.0, awaiting=None) == []  # cannot know: held
    assert acc.add([], now=30.0, awaiting=None) == []
    assert [i.request_id for i in acc.add([], now=31.0, awaiting=None)] == ["u"]


def test_memory_is_bounded() -> None:
    acc = EvidenceAccumulator(hold_s=30, remember_s=960, max_remembered=3)
    acc.add([_gw(str(n)) for n in range(5)], now=0.0, awaiting=set())
    assert acc.remembered == 3 and acc.forgotten == 2
    acc.add([], now=961.0, awaiting=set())
    assert acc.remembered == 0


# -- the local platform over a real telemetry log ---------------------------------------------


def _engine(capacity: int = 1000) -> Any:
    clock = VirtualClock(1000.0)
    return SimpleNamespace(
        telemetry=TelemetryLog(capacity),
        clock=clock,
        gateway=SimpleNamespace(inflight=InFlight(clock)),
    )


def _request(rid: str, at: float, status: int, version: str = "2") -> RequestRecord:
    return RequestRecord(
        timestamp=at, request_id=rid, api_id="api", api_name="Api", stage="prod",
        is_canary=False, deployment_id="d", resource_path="/", method="GET",
        function_name="Fn", qualifier="live", executed_version=version, status=status,
        latency_ms=1000.0, integration_latency_ms=1000.0, cold_start=False, error_type=None,
    )  # fmt: skip


def _lambda(
    rid: str, at: float, error: str | None, version: str = "2", via_gateway: bool = True
) -> LambdaInvocation:
    return LambdaInvocation(
        timestamp=at, request_id=rid, function_name="Fn", qualifier="live",
        executed_version=version, duration_ms=3.0, function_error=error, error_type=error,
        throttled=False, cold_start=False, init_duration_ms=None, via_gateway=via_gateway,
    )  # fmt: skip


def _failures(batch: Any) -> int:
    return sum(1 for i in batch.invocations if i.failed)


def test_reads_split_between_the_two_records_count_one_failure() -> None:
    engine = _engine()
    platform = LocalPlatform(engine)
    cursor = platform.read_telemetry(TARGET, None).cursor
    start = engine.gateway.inflight.begin("r1")  # the request starts ...
    engine.clock.advance(0.2)
    engine.telemetry.add(_lambda("r1", start, "Unhandled"))  # ... the function raises ...
    first = platform.read_telemetry(TARGET, cursor)  # ... a read falls here ...
    assert _failures(first) == 0 and first.fresh_until == start  # not complete from r1 on
    engine.telemetry.add(_request("r1", start, 502))  # ... then the gateway answers 502
    engine.gateway.inflight.end("r1")
    second = platform.read_telemetry(TARGET, first.cursor)
    assert _failures(second) == 1 and second.fresh_until == engine.clock.now()


def test_an_integration_timeout_then_the_late_function_is_one_failure() -> None:
    engine = _engine()
    platform = LocalPlatform(engine)
    cursor = platform.read_telemetry(TARGET, None).cursor
    start = engine.gateway.inflight.begin("r2")
    engine.clock.advance(1.0)
    engine.telemetry.add(_request("r2", start, 504))  # the gateway gives up after 1 s
    engine.gateway.inflight.end("r2")
    first = platform.read_telemetry(TARGET, cursor)
    engine.clock.advance(2.0)
    engine.telemetry.add(_lambda("r2", start, "Unhandled"))  # the function ends 2 s later
    second = platform.read_telemetry(TARGET, first.cursor)
    assert _failures(first) + _failures(second) == 1


def test_a_direct_invoke_counts_without_waiting() -> None:
    engine = _engine()
    platform = LocalPlatform(engine)
    cursor = platform.read_telemetry(TARGET, None).cursor
    engine.telemetry.add(_lambda("direct", engine.clock.now(), "Unhandled", via_gateway=False))
    assert _failures(platform.read_telemetry(TARGET, cursor)) == 1


def test_a_request_cut_off_before_its_answer_counts_nowhere() -> None:
    """The function failed, but the engine died before the gateway wrote its record, so no
    answer reached the client: the Lambda record alone is not a failure a client saw."""
    engine = _engine()
    platform = LocalPlatform(engine)
    cursor = platform.read_telemetry(TARGET, None).cursor
    engine.telemetry.add(_lambda("cut", engine.clock.now(), "Unhandled"))
    engine.clock.advance(60.0)  # however long it waits, no gateway record comes
    assert platform.read_telemetry(TARGET, cursor).invocations == []


def test_falling_behind_the_buffer_reports_the_gap_per_arm_and_reads_on() -> None:
    engine = _engine(capacity=100)
    platform = LocalPlatform(engine)
    cursor = platform.read_telemetry(TARGET, None).cursor
    for n in range(150):  # 150 requests, one record each: 50 never seen by the reader
        engine.telemetry.add(_request(f"q{n}", 1000.0, 200, version="2" if n % 3 == 0 else "1"))
    batch = platform.read_telemetry(TARGET, cursor)
    assert len(batch.invocations) == 100
    assert (batch.lost_stable, batch.lost_canary) == (33, 17)
    assert batch.lost_stable + batch.lost_canary + len(batch.invocations) == 150


def test_both_records_in_one_read_are_one_observation() -> None:
    acc = EvidenceAccumulator(hold_s=30, remember_s=960)
    assert len(acc.add([_fn("b"), _gw("b")], now=1.0, awaiting=set())) == 1
    assert acc.held == 0 and acc.remembered == 0


def test_a_gateway_record_for_a_request_counted_as_direct_is_not_counted_again() -> None:
    acc = EvidenceAccumulator(hold_s=30, remember_s=960)
    assert len(acc.add([_fn("h")], now=1.0, awaiting=set())) == 1  # not seen in flight
    assert acc.add([_gw("h")], now=1.5, awaiting=set()) == []  # still exactly once
