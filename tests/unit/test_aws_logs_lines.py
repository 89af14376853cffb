"""The log readers' pure parts: Lambda Text/JSON lines, access-log formats, the fold, the
watermark. Lines are shaped as AWS writes them (aws-telemetry reference §2, §4)."""

from __future__ import annotations

import json

import pytest

from apicanary.platform.aws.logs.access_lines import compile_format, parse_access_line
from apicanary.platform.aws.logs.events import LogEvent, SeenSet, from_live_tail, group_name
from apicanary.platform.aws.logs.fold import Fold
from apicanary.platform.aws.logs.lambda_lines import LambdaLineParser, stream_version
from apicanary.platform.aws.logs.watermark import DelayTracker, watermark

V1 = "2026/12/02/[1]0123456789abcdef0123456789abcdef"
V2 = "2026/12/02/[2]fedcba9876543210fedcba9876543210"
RID = "8f5c6a2e-1111-4c7e-9a0b-000000000001"


def ev(message: str, stream: str = V2, ts: int = 1_000, group: str = "/aws/lambda/fn") -> LogEvent:
    return LogEvent(group, stream, ts, ts + 250, message)


def report(rid: str = RID, init: bool = False, status: str = "") -> str:
    extra = "Init Duration: 151.20 ms\t" if init else ""
    return (
        f"REPORT RequestId: {rid}\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
        f"Memory Size: 128 MB\tMax Memory Used: 40 MB\t{extra}{status}"
    )


def test_stream_name_carries_the_version() -> None:
    assert stream_version(V2) == "2"
    assert stream_version("2026/12/02/[$LATEST]abc") == "$LATEST"
    assert stream_version("not-a-lambda-stream") is None


def test_text_report_success_and_cold_start() -> None:
    parser = LambdaLineParser()
    assert parser.feed(ev(f"START RequestId: {RID} Version: 2")) is None
    assert parser.feed(ev(f"END RequestId: {RID}")) is None
    outcome = parser.feed(ev(report(init=True)))
    assert outcome is not None
    assert (outcome.version, outcome.failed, outcome.duration_ms, outcome.cold_start) == (
        "2",
        False,
        12.34,
        True,
    )
    assert outcome.log_format == "Text"


def test_text_unhandled_error_belongs_to_the_next_report_of_its_stream() -> None:
    parser = LambdaLineParser()
    parser.feed(ev(f"START RequestId: {RID} Version: 2"))
    parser.feed(
        ev("[ERROR] ZeroDivisionError: division by zero\nTraceback (most recent call last):")
    )
    other = parser.feed(ev(report("other-request-0000000000000"), stream=V1))
    assert other is not None and not other.failed  # another stream: not its error
    failed = parser.feed(ev(report()))
    assert failed is not None and failed.failed and failed.reason == "error"
    after = parser.feed(ev(report("next-request-00000000000000")))
    assert after is not None and not after.failed


def test_text_logging_at_error_level_is_not_a_failure() -> None:
    parser = LambdaLineParser()
    parser.feed(ev(f"[ERROR]\t2026-12-02T10:00:00.000Z\t{RID}\tpayment provider slow, retrying"))
    outcome = parser.feed(ev(report()))
    assert outcome is not None and not outcome.failed


@pytest.mark.parametrize(
    "line",
    [
        f"2026-12-02T10:00:03.000Z {RID} Task timed out after 3.00 seconds",
        f'2026-12-02T10:00:03.000Z\t{RID}\tERROR\tInvoke Error \t{{"errorType":"Error"}}',
    ],
)
def test_text_timeout_and_node_errors_carry_their_request_id(line: str) -> None:
    parser = LambdaLineParser()
    parser.feed(ev(line))
    outcome = parser.feed(ev(report()))
    assert outcome is not None and outcome.failed


def test_text_report_status_field() -> None:
    outcome = LambdaLineParser().feed(ev(report(status="Status: timeout\t")))
    assert outcome is not None and outcome.failed and outcome.reason == "timeout"


def _json_report(status: str, init: float | None = None) -> str:
    metrics: dict[str, float] = {"durationMs": 20.5, "billedDurationMs": 21}
    if init is not None:
        metrics["initDurationMs"] = init
    record = {"requestId": RID, "status": status, "metrics": metrics}
    return json.dumps({"time": "2026-12-02T10:00:00Z", "type": "platform.report", "record": record})


@pytest.mark.parametrize(
    ("status", "failed"),
    [("success", False), ("error", True), ("failure", True), ("timeout", True)],
)
def test_json_platform_report_status(status: str, failed: bool) -> None:
    outcome = LambdaLineParser().feed(ev(_json_report(status, init=120.0)))
    assert outcome is not None
    assert (outcome.failed, outcome.duration_ms, outcome.cold_start) == (failed, 20.5, True)
    assert outcome.log_format == "JSON" and outcome.version == "2"


def test_json_version_from_platform_start_when_the_stream_has_none() -> None:
    parser = LambdaLineParser()
    start = {"type": "platform.start", "record": {"requestId": RID, "version": "7"}}
    parser.feed(ev(json.dumps(start), stream="custom-stream"))
    outcome = parser.feed(ev(_json_report("success"), stream="custom-stream"))
    assert outcome is not None and outcome.version == "7" and not outcome.cold_start


JSON_FORMAT = (
    '{"requestId":"$context.requestId","status":"$context.status",'
    '"responseLatency":$context.responseLatency,"integration":"$context.integration.requestId"}'
)
CLF_FORMAT = (
    "$context.identity.sourceIp - - [$context.requestTime] "
    '"$context.httpMethod $context.resourcePath $context.protocol" '
    "$context.status $context.responseLength $context.requestId $context.integrationLatency"
)


def test_access_json_format_read_back() -> None:
    fmt = compile_format(JSON_FORMAT)
    assert fmt.missing() == []
    line = '{"requestId":"abc-1","status":"502","responseLatency":31,"integration":"lam-1"}'
    record = parse_access_line(fmt, ev(line, group="/api/prod/Canary"), canary=True)
    assert record is not None
    assert (record.request_id, record.status, record.latency_ms, record.failed) == (
        "abc-1",
        502,
        31.0,
        True,
    )
    assert record.integration_request_id == "lam-1" and record.canary


def test_access_clf_format_read_back_and_mismatch() -> None:
    fmt = compile_format(CLF_FORMAT)
    line = '10.0.0.1 - - [02/Dec/2026:10:00:00 +0000] "GET /items HTTP/1.1" 200 17 req-9 12'
    record = parse_access_line(fmt, ev(line), canary=False)
    assert record is not None
    assert (record.request_id, record.status, record.latency_ms, record.failed) == (
        "req-9",
        200,
        12.0,
        False,
    )
    assert parse_access_line(fmt, ev("something else entirely"), canary=False) is None


def test_access_format_missing_fields_are_named() -> None:
    fmt = compile_format('{"id":"$context.requestId"}')
    assert fmt.missing() == [
        "$context.status",
        "$context.responseLatency or $context.integrationLatency",
    ]


def test_fold_counts_each_request_once_and_ignores_other_versions() -> None:
    parser = LambdaLineParser()
    fold = Fold("1", "2")
    outcome = parser.feed(ev(report()))
    assert outcome is not None
    first = fold.lambda_outcome(outcome)
    assert first is not None and first.canary and first.request_id == RID
    assert fold.lambda_outcome(outcome) is None and fold.duplicates == 1
    other = parser.feed(ev(report("x" * 36), stream="2026/12/02/[5]abc"))
    assert other is not None and fold.lambda_outcome(other) is None
    assert fold.recent_ids(1_000) == {RID: 1_000} and fold.recent_ids(1_001) == {}
    restarted = Fold("1", "2", fold.recent_ids(1_000))
    assert restarted.lambda_outcome(outcome) is None


def test_fold_stage_mode_cold_start_from_the_integration_request_id() -> None:
    fold = Fold("1", "2")
    cold = LambdaLineParser().feed(ev(report("lam-1", init=True)))
    assert cold is not None
    fold.remember_cold(cold)
    fmt = compile_format(JSON_FORMAT)
    line = '{"requestId":"abc-1","status":"200","responseLatency":300,"integration":"lam-1"}'
    record = parse_access_line(fmt, ev(line), canary=False)
    assert record is not None
    invocation = fold.access_record(record)
    assert invocation is not None and invocation.cold_start and not invocation.canary


def test_delay_tracker_prior_then_measured_max_in_window() -> None:
    tracker = DelayTracker(window_s=60, min_samples=3, prior_s=20)
    assert tracker.bound(0) == 20
    for t, d in ((0, 5.0), (1, 2.0), (2, 1.0)):
        tracker.add(t, d)
    assert tracker.bound(2) == 5.0  # measured: the prior no longer applies
    assert tracker.bound(61) == 2.0  # the 5 s sample has left the window
    assert tracker.bound(70) == 0.0
    assert watermark(100.0, 5.0) == 94.0


def test_events_identity_and_live_tail_shape() -> None:
    event = from_live_tail(
        {
            "logStreamName": V2,
            "logGroupIdentifier": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:*",
            "message": "m",
            "timestamp": 10,
            "ingestionTime": 4_010,
        }
    )
    assert event.group == "/aws/lambda/fn" and event.delay_ms == 4_000
    assert group_name("/aws/lambda/fn") == "/aws/lambda/fn"
    seen = SeenSet(limit=2)
    assert seen.add(event.key) and not seen.add(event.key)
    seen.add("a")
    seen.add("b")
    assert event.key not in seen and len(seen) == 2
