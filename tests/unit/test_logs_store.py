"""The log store and its reads: ingestion delay, GetLogEvents tokens, FilterLogEvents order
and cursor, retention and bounds, Live Tail updates; Lambda's Text/JSON lines; access logs."""

from __future__ import annotations

import orjson
import pytest

from apicanary.clock import VirtualClock
from apicanary.engine.gateway.access_log import context_variables, render_access_log
from apicanary.engine.gateway.messages import RequestRecord
from apicanary.engine.logs import reads
from apicanary.engine.logs.filter import compile_pattern
from apicanary.engine.logs.lambda_lines import JSON, TEXT, StreamState, events
from apicanary.engine.logs.store import LogStore
from apicanary.engine.logs.tail import TailScope, TailSession
from apicanary.errors import AwsApiError

T0 = 1_700_000_000.0


def _store(delay: float = 0.0, **kwargs: int) -> tuple[VirtualClock, LogStore]:
    clock = VirtualClock(T0)
    return clock, LogStore(clock, delay_s=delay, **kwargs)


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def test_events_are_invisible_until_their_ingestion_time() -> None:
    clock, store = _store(delay=5.0)
    store.append("g", "s", [(_ms(T0), "hello")])
    now = store.now_ms()
    page = reads.filter_page(
        store.snapshot("g"), now_ms=now, start=None, end=None,
        matches=compile_pattern(""), token=None, limit=None,
    )  # fmt: skip
    assert page.events == []
    clock.advance(5.0)
    page = reads.filter_page(
        store.snapshot("g"), now_ms=store.now_ms(), start=None, end=None,
        matches=compile_pattern(""), token=None, limit=None,
    )  # fmt: skip
    assert [(e.message, e.ingestion_time - e.timestamp) for e in page.events] == [("hello", 5000)]


def test_get_log_events_tokens_come_back_unchanged_at_the_end() -> None:
    _, store = _store()
    store.append("g", "s", [(_ms(T0) + i, f"m{i}") for i in range(5)])
    stream = list(store.stream("g", "s").events)
    now = store.now_ms()

    def page(token: str | None, limit: int | None = 2, head: bool = True) -> reads.StreamPage:
        return reads.stream_page(
            stream, now_ms=now, start=None, end=None, token=token, limit=limit,
            start_from_head=head,
        )  # fmt: skip

    first = page(None)
    assert [e.message for e in first.events] == ["m0", "m1"]
    second = page(first.forward_token)
    assert [e.message for e in second.events] == ["m2", "m3"]
    third = page(second.forward_token)
    assert [e.message for e in third.events] == ["m4"]
    end = page(third.forward_token)
    assert end.events == [] and end.forward_token == third.forward_token
    back = page(third.backward_token)
    assert [e.message for e in back.events] == ["m2", "m3"]
    assert [e.message for e in page(None, head=False).events] == ["m3", "m4"]
    with pytest.raises(AwsApiError, match="nextToken is invalid"):
        page("nonsense")
    with pytest.raises(AwsApiError, match="between 1 and 10000"):
        page(None, limit=0)


def test_filter_orders_by_time_and_a_late_event_lands_behind_the_cursor() -> None:
    _, store = _store()
    store.append("g", "a", [(_ms(T0) + 10, "a10"), (_ms(T0) + 30, "a30")])
    store.append("g", "b", [(_ms(T0) + 20, "b20")])

    def page(token: str | None) -> reads.FilterPage:
        return reads.filter_page(
            store.snapshot("g"), now_ms=store.now_ms(), start=None, end=None,
            matches=compile_pattern(""), token=token, limit=2,
        )  # fmt: skip

    first = page(None)
    assert [e.message for e in first.events] == ["a10", "b20"]
    assert first.next_token is not None
    store.append("g", "b", [(_ms(T0) + 15, "late15")])  # ingested now, older timestamp
    second = page(first.next_token)
    assert [e.message for e in second.events] == ["a30"]
    assert second.next_token is None
    ids = [e.event_id for e in page(None).events]
    assert all(len(i) == 56 and i.isdigit() for i in ids)


def test_filter_time_range_is_start_inclusive_end_exclusive() -> None:
    _, store = _store()
    store.append("g", "s", [(_ms(T0) + i, f"m{i}") for i in range(4)])
    page = reads.filter_page(
        store.snapshot("g"), now_ms=store.now_ms(), start=_ms(T0) + 1, end=_ms(T0) + 3,
        matches=compile_pattern(""), token=None, limit=None,
    )  # fmt: skip
    assert [e.message for e in page.events] == ["m1", "m2"]


def test_groups_are_bounded_and_retention_evicts_old_events() -> None:
    clock, store = _store(max_events_per_group=3)
    store.append("g", "s", [(_ms(T0) + i, f"m{i}") for i in range(5)])
    assert [e.message for e in store.snapshot("g")] == ["m2", "m3", "m4"]
    assert [e.message for e in store.stream("g", "s").events] == ["m2", "m3", "m4"]
    store.set_retention("g", 1)
    clock.advance(86_400 + 1)
    store.expire()
    assert store.snapshot("g") == []
    with pytest.raises(AwsApiError, match="retentionInDays 2 is not one of"):
        store.set_retention("g", 2)


def test_missing_and_duplicate_resources_are_aws_errors() -> None:
    _, store = _store()
    with pytest.raises(AwsApiError, match=r"The specified log group does not exist\."):
        store.group("nope")
    store.create_group("g")
    with pytest.raises(AwsApiError) as exists:
        store.create_group("g")
    assert exists.value.code == "ResourceAlreadyExistsException"
    with pytest.raises(AwsApiError, match=r"The specified log stream does not exist\."):
        store.append("g", "s", [(1, "x")], create=False)


def test_live_tail_sees_only_new_ingested_events_and_samples_above_500() -> None:
    clock, store = _store(delay=2.0)
    store.append("g", "s", [(_ms(T0), "before")])
    clock.advance(2.0)
    store.append("g", "s", [(_ms(T0) + 2000, "in flight at start")])
    session = TailSession(store, TailScope(groups=("g",), identifiers=("g",)))
    assert session.next_update().events == []
    clock.advance(2.0)
    assert [e.message for e in session.next_update().events] == ["in flight at start"]
    store.append("g", "s", [(_ms(T0) + 4000, f"burst {i}") for i in range(1200)])
    clock.advance(2.0)
    update = session.next_update()
    assert update.sampled and update.matched == 1200 and len(update.events) == 500
    assert update.events[0].message == "burst 0"
    assert session.next_update().events == []


def test_live_tail_scope_filters_streams_and_pattern() -> None:
    _, store = _store()
    scope = TailScope(
        groups=("g",), identifiers=("g",), stream_prefixes=("2024/",),
        matches=compile_pattern("REPORT"),
    )  # fmt: skip
    session = TailSession(store, scope)
    store.append("g", "2024/a", [(1, "REPORT x"), (2, "START y")])
    store.append("g", "other", [(3, "REPORT z")])
    assert [e.message for e in session.next_update().events] == ["REPORT x"]


TRANSCRIPT = (
    "START RequestId: r1 Version: 3\n"
    "[INFO]\t2024-05-01T00:00:00.000Z\tr1\thello\n"
    "printed\n"
    "[ERROR] ValueError: boom\n"
    "Traceback (most recent call last):\n"
    '  File "/app.py", line 3, in handler\n'
    "    raise ValueError('boom')\n"
    "END RequestId: r1\n"
    "REPORT RequestId: r1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
    "Max Memory Used: 40 MB\tInit Duration: 150.00 ms\t\n"
)


def test_text_format_keeps_lambdas_lines_and_joins_a_traceback() -> None:
    out = events(TRANSCRIPT, TEXT, StreamState(), 0)
    assert out[0] == "START RequestId: r1 Version: 3\n"
    assert out[3].startswith("[ERROR] ValueError: boom\rTraceback") and out[3].count("\n") == 1
    assert out[-1].startswith("REPORT RequestId: r1\tDuration: 12.34 ms")
    assert "Init Duration: 150.00 ms" in out[-1]
    assert len(out) == 6


def test_json_format_writes_platform_records() -> None:
    out = events(TRANSCRIPT, JSON, StreamState(), 1_714_521_600_000)
    docs = [orjson.loads(line) if line.startswith("{") else line for line in out]
    assert docs[0] == {
        "time": "2024-05-01T00:00:00.000Z",
        "type": "platform.start",
        "record": {"requestId": "r1", "version": "3"},
    }
    assert docs[1] == {
        "timestamp": "2024-05-01T00:00:00.000Z", "level": "INFO", "message": "hello",
        "logger": "root", "requestId": "r1",
    }  # fmt: skip
    assert docs[2] == "printed\n"
    assert docs[3]["errorType"] == "ValueError" and docs[3]["level"] == "ERROR"
    assert docs[3]["errorMessage"] == "boom" and docs[3]["requestId"] == "r1"
    report = docs[4]
    assert report["type"] == "platform.report"
    assert report["record"] == {
        "requestId": "r1",
        "status": "error",
        "errorType": "ValueError",
        "metrics": {
            "durationMs": 12.34, "billedDurationMs": 13, "memorySizeMB": 128,
            "maxMemoryUsedMB": 40, "initDurationMs": 150.0,
        },
    }  # fmt: skip
    assert len(docs) == 5  # END is not written in JSON


def test_json_format_timeouts_and_successes() -> None:
    state = StreamState()
    timeout = (
        "START RequestId: r2 Version: $LATEST\n"
        "2024-05-01T00:00:03.000Z r2 Task timed out after 3.00 seconds\n"
        "END RequestId: r2\n"
        "REPORT RequestId: r2\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 30 MB\tStatus: timeout\t\n"
    )
    docs = [orjson.loads(line) for line in events(timeout, JSON, state, 0)]
    assert docs[1]["message"] == "Task timed out after 3.00 seconds"
    assert docs[2]["record"]["status"] == "timeout"
    ok = "START RequestId: r3 Version: 1\nEND RequestId: r3\nREPORT RequestId: r3\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\t\n"  # noqa: E501
    report = orjson.loads(events(ok, JSON, state, 0)[-1])
    assert report["record"]["status"] == "success" and "errorType" not in report["record"]
    assert "initDurationMs" not in report["record"]["metrics"]


def _record(**changes: object) -> RequestRecord:
    base = RequestRecord(
        timestamp=T0, request_id="req-1", api_id="abc", api_name="api", stage="prod",
        is_canary=False, deployment_id="dep", resource_path="/items/{id}", method="GET",
        function_name="Fn", qualifier="live", executed_version="2", status=201,
        latency_ms=12.6, integration_latency_ms=10.2, cold_start=False, error_type=None,
        path="/prod/items/7", source_ip="10.0.0.9",
    )  # fmt: skip
    return base._replace(**changes)


FORMAT = (
    '{"id":"$context.requestId","st":"$context.status","is":"$context.integrationStatus",'
    '"fs":"$context.integration.status","il":"$context.integrationLatency",'
    '"rl":"$context.responseLatency","ip":"$context.identity.sourceIp",'
    '"err":"$context.error.message","waf":"$context.wafResponseCode",'
    '"epoch":"$context.requestTimeEpoch","rp":"$context.resourcePath","p":"$context.path"}'
)


def test_access_log_format_renders_context_variables() -> None:
    line = orjson.loads(render_access_log(FORMAT, context_variables(_record())))
    assert line == {
        "id": "req-1", "st": "201", "is": "200", "fs": "201", "il": "10", "rl": "13",
        "ip": "10.0.0.9", "err": "-", "waf": "-", "epoch": str(int(T0 * 1000)),
        "rp": "/items/{id}", "p": "/prod/items/7",
    }  # fmt: skip


def test_access_log_of_a_function_error_and_a_timeout() -> None:
    failed = orjson.loads(
        render_access_log(FORMAT, context_variables(_record(status=502, error_type="ValueError")))
    )
    assert (failed["st"], failed["is"], failed["fs"]) == ("502", "200", "-")
    assert failed["err"] == "Internal server error"
    timed_out = orjson.loads(
        render_access_log(
            FORMAT, context_variables(_record(status=504, error_type="IntegrationTimeout"))
        )
    )
    assert (timed_out["is"], timed_out["il"], timed_out["err"]) == (
        "-", "-", "Endpoint request timed out",
    )  # fmt: skip
    clf = render_access_log(
        "$context.identity.sourceIp [$context.requestTime] $context.status.",
        context_variables(_record()),
    )
    assert clf == "10.0.0.9 [14/Nov/2023:22:13:20 +0000] 201."
