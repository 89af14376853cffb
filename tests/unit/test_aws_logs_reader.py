"""``LogsReader`` against moto's CloudWatch Logs (FilterLogEvents and StartLiveTail, in
process): each request delivered once across Live Tail, the gap filler and a restart from
the cursor; late events found; the watermark behind the measured ingestion delay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from apicanary.clock import SystemClock
from apicanary.model import Invocation
from apicanary.platform.aws.logs.reader import LogsReader, Sources, plan_sources
from apicanary.platform.base import Mode, TelemetryTarget

GROUP = "/aws/lambda/fn"
V1 = "2026/12/02/[1]0123456789abcdef0123456789abcdef"
V2 = "2026/12/02/[2]fedcba9876543210fedcba9876543210"
TARGET = TelemetryTarget("fn", "live", stable_version="1", canary_version="2")


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("logs", region_name="us-east-1")
        client.create_log_group(logGroupName=GROUP)
        for stream in (V1, V2):
            client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        yield client


def put_invocation(logs: Any, stream: str, rid: str, *, ago_s: float, failed: bool = False) -> None:
    ts = int((time.time() - ago_s) * 1000)
    lines = [f"START RequestId: {rid} Version: {stream[12]}"]
    if failed:
        lines.append("[ERROR] RuntimeError: boom")
    lines.append(f"END RequestId: {rid}")
    lines.append(f"REPORT RequestId: {rid}\tDuration: 10.00 ms\tBilled Duration: 10 ms\t")
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": ts + i, "message": line} for i, line in enumerate(lines)],
    )


def read_until(
    reader: LogsReader, cursor: Any, count: int, within: float = 20.0
) -> tuple[list[Invocation], Any]:
    got: list[Invocation] = []
    deadline = time.monotonic() + within
    while len(got) < count and time.monotonic() < deadline:
        batch = reader.read(cursor)
        cursor = batch.cursor
        got.extend(batch.invocations or ())
        time.sleep(0.05)
    return got, cursor


def test_live_tail_and_gap_filler_deliver_each_request_once(logs: Any) -> None:
    start = {"since": int((time.time() - 60) * 1000), "seen": {}}
    for i in range(5):
        put_invocation(logs, V1, f"stable-{i:030d}", ago_s=3)
    put_invocation(logs, V2, "canary-bad-000000000000000000000", ago_s=3.5, failed=True)
    put_invocation(logs, V2, "canary-ok-0000000000000000000000", ago_s=3)
    reader = LogsReader(logs, TARGET, Sources(lambda_group=GROUP), SystemClock())
    try:
        got, cursor = read_until(reader, start, 7)
        # moto's Live Tail sessions replay what it stores, so reconnects bring duplicates
        more, cursor = read_until(reader, cursor, 1, within=2.5)
        assert more == []
        assert len(got) == 7 and len({i.request_id for i in got}) == 7
        canary = [i for i in got if i.canary]
        assert sorted((i.request_id or "", i.failed) for i in canary) == [
            ("canary-bad-000000000000000000000", True),
            ("canary-ok-0000000000000000000000", False),
        ]
        assert reader.stats.duplicate_events > 0  # the two sources overlapped
        assert reader.delays.last_s is not None and reader.delays.last_s >= 2.9
        batch = reader.read(cursor)
        # prior bound (20 s) applies until ten delays are measured; here 28 events were
        assert batch.fresh_until <= time.time() - 2.9
    finally:
        reader.close()


def test_restart_from_cursor_counts_once_and_finds_late_events(logs: Any) -> None:
    since = {"since": int((time.time() - 60) * 1000), "seen": {}}
    put_invocation(logs, V1, "a" * 32, ago_s=2)
    put_invocation(logs, V2, "b" * 32, ago_s=2)
    first = LogsReader(logs, TARGET, Sources(lambda_group=GROUP), SystemClock(), live_tail=False)
    got, cursor = read_until(first, since, 2)
    assert len(got) == 2
    assert cursor["since"] <= int((time.time() - 2) * 1000)
    assert set(cursor["seen"]) <= {"a" * 32, "b" * 32}
    # a new process resumes from the cursor: nothing twice, and an event ingested late
    # (its timestamp before the newest already read) is still found
    put_invocation(logs, V2, "c" * 32, ago_s=2.5, failed=True)
    second = LogsReader(logs, TARGET, Sources(lambda_group=GROUP), SystemClock(), live_tail=False)
    again, _ = read_until(second, cursor, 1)
    assert [(i.request_id, i.canary, i.failed) for i in again] == [("c" * 32, True, True)]


def test_stage_mode_reads_the_access_log_and_its_canary_group(logs: Any) -> None:
    fmt = (
        '{"requestId":"$context.requestId","status":"$context.status",'
        '"lat":$context.responseLatency}'
    )
    stage = {
        "accessLogSettings": {
            "destinationArn": "arn:aws:logs:us-east-1:1:log-group:api-prod",
            "format": fmt,
        }
    }
    target = TelemetryTarget("fn", "live", "1", "2", api_id="a1", stage="prod", mode=Mode.STAGE)
    sources = plan_sources(target, {}, stage)
    assert isinstance(sources, Sources) and sources.groups == ["api-prod", "api-prod/Canary"]
    lacking = {
        "destinationArn": "arn:aws:logs:us-east-1:1:log-group:x",
        "format": "$context.requestId",
    }
    assert "lacks $context.status" in str(plan_sources(target, {}, {"accessLogSettings": lacking}))
    assert plan_sources(target, {}, {}) == "stage prod has no access log (accessLogSettings)"
    now = int(time.time() * 1000)
    for group, rid, status in (("api-prod", "r1", 200), ("api-prod/Canary", "r2", 500)):
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        message = f'{{"requestId":"{rid}","status":"{status}","lat":42}}'
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": now, "message": message}],
        )
    reader = LogsReader(logs, target, sources, SystemClock(), live_tail=False)
    got, _ = read_until(reader, {"since": now - 1000, "seen": {}}, 2)
    assert sorted((i.request_id, i.canary, i.failed, i.duration_ms) for i in got) == [
        ("r1", False, False, 42.0),
        ("r2", True, True, 42.0),
    ]
