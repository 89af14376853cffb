"""The telemetry log on file: a reopened log (a restarted engine) keeps its uid, sequence and
records, so a journalled cursor resumes exactly; a torn last line is cut; the files stay
bounded and a reader's gap stays exact across the restart (issue 12, the crash test)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from apicanary.clock import VirtualClock
from apicanary.engine.gateway.inflight import InFlight
from apicanary.engine.telemetry import TelemetryLog
from apicanary.engine.telemetry_file import Record
from apicanary.platform.base import TelemetryTarget
from apicanary.platform.local import LocalPlatform
from tests.unit.test_evidence_once import _lambda, _request

TARGET = TelemetryTarget(function="Fn", alias="live", stable_version="1", canary_version="2")


def _engine(log: TelemetryLog) -> Any:
    clock = VirtualClock(1000.0)
    return SimpleNamespace(
        telemetry=log, clock=clock, gateway=SimpleNamespace(inflight=InFlight(clock))
    )


def _lines(directory: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in directory.glob("*.seg"))


def test_a_reopened_log_keeps_its_uid_its_sequence_and_its_records(tmp_path: Path) -> None:
    log = TelemetryLog(100, tmp_path)
    records: list[Record] = [_request(f"g{n}", 1000.0 + n, 502 if n % 2 else 200) for n in range(5)]
    records.append(_lambda("direct", 1006.0, "Unhandled", via_gateway=False))
    for record in records:
        log.add(record)
    # no close: a SIGKILL runs no cleanup, and what add() wrote is already in the file
    again = TelemetryLog(100, tmp_path)
    assert again.uid == log.uid and again.cursor == log.cursor == 6
    assert again.since(0).records == records
    assert again.since(0).appended == log.since(0).appended
    again.add(_request("after", 1010.0, 200))
    assert TelemetryLog(100, tmp_path).since(6).records == [_request("after", 1010.0, 200)]


def test_the_lambda_record_of_a_request_is_written_with_the_next_record(tmp_path: Path) -> None:
    log = TelemetryLog(100, tmp_path)
    log.add(_lambda("r", 1000.0, None))  # not evidence alone: no write(2) of its own
    assert _lines(tmp_path) == 0
    log.add(_request("r", 1000.0, 200))  # the gateway record, written before the answer
    assert _lines(tmp_path) == 2
    log.add(_lambda("s", 1001.0, None))
    assert len(log.since(2).records) == 1 and _lines(tmp_path) == 3  # a reader sees it on file


def test_a_write_cut_short_by_a_kill_is_cut_off_on_reopening(tmp_path: Path) -> None:
    log = TelemetryLog(100, tmp_path)
    log.add(_request("whole", 1000.0, 500))
    segment = next(tmp_path.glob("*.seg"))
    with segment.open("ab") as file:
        file.write(b'G[1001.0,"torn-in-the-mid')  # the kill landed inside a write(2)
    again = TelemetryLog(100, tmp_path)
    assert [r.request_id for r in again.since(0).records] == ["whole"]
    again.add(_request("next", 1002.0, 200))
    assert [r.request_id for r in TelemetryLog(100, tmp_path).since(0).records] == [
        "whole",
        "next",
    ]


def test_a_journalled_cursor_resumes_exactly_after_a_restart(tmp_path: Path) -> None:
    before = LocalPlatform(_engine(TelemetryLog(100, tmp_path)))
    cursor = before.read_telemetry(TARGET, None).cursor
    for n in range(4):
        before.engine.telemetry.add(_request(f"a{n}", 1000.0, 502))
    cursor = before.read_telemetry(TARGET, cursor).cursor  # counted and journalled
    for n in range(3):  # answered after the last read, before the kill
        before.engine.telemetry.add(_request(f"b{n}", 1000.0, 502))
    after = LocalPlatform(_engine(TelemetryLog(100, tmp_path)))  # serve restarted
    batch = after.read_telemetry(TARGET, cursor)
    assert [i.request_id for i in batch.invocations or []] == ["b0", "b1", "b2"]
    assert after.read_telemetry(TARGET, batch.cursor).invocations == []


def test_the_files_are_bounded_and_a_gap_stays_exact_across_a_restart(tmp_path: Path) -> None:
    before = LocalPlatform(_engine(TelemetryLog(100, tmp_path)))
    for n in range(30):  # older traffic: appended before the reader's cursor
        before.engine.telemetry.add(_request(f"o{n}", 1000.0, 200, version="2"))
    cursor = before.read_telemetry(TARGET, None).cursor
    for n in range(300):  # the reader (paused) falls 230 records behind a 100-record window
        version = "2" if n % 3 == 0 else "1"
        before.engine.telemetry.add(_request(f"q{n}", 1000.0, 200, version=version))
    assert _lines(tmp_path) <= 100 + 2 * 25  # the window plus at most two segments
    after = LocalPlatform(_engine(TelemetryLog(100, tmp_path)))
    batch = after.read_telemetry(TARGET, cursor)
    assert len(batch.invocations or []) == 100
    assert (batch.lost_stable, batch.lost_canary) == (133, 67)  # of q0..q199: exact per arm
