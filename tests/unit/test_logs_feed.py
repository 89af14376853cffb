"""Into the log store: worker output per stream in the version's format, access-log lines
per stage and canary, SAM's LoggingConfig and AccessLogSetting read and checked."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from apicanary.clock import VirtualClock
from apicanary.engine.gateway.messages import RequestRecord
from apicanary.engine.logs import feed as feed_module
from apicanary.engine.logs.feed import AccessLogFeed, AccessLogSettings, LambdaLogFeed, LogSettings
from apicanary.engine.logs.store import LogStore
from apicanary.errors import TemplateError
from tests.support.cfn import edited
from tests.support.cfn import load as load_cfn
from tests.support.sam import FUNCTION, load

T0 = 1_700_000_000.0
START = "START RequestId: r1 Version: 2\n"
REPORT = (
    "END RequestId: r1\nREPORT RequestId: r1\tDuration: 1.00 ms\tBilled Duration: 1 ms\t"
    "Memory Size: 128 MB\tMax Memory Used: 30 MB\t\n"
)


def test_lambda_feed_writes_each_worker_to_its_stream_in_its_format() -> None:
    store = LogStore(VirtualClock(T0))
    formats = {"Json": LogSettings("/aws/lambda/Json", "JSON")}
    feed = LambdaLogFeed(store, lambda function, version: formats.get(function))
    json_tap = feed.tap("Json", "2", "2023/11/14/[2]" + "a" * 32)
    text_tap = feed.tap("Gone", "1", "2023/11/14/[1]" + "b" * 32)
    json_tap(START.encode())  # the first piece of a long invocation ...
    text_tap((START + REPORT).encode())
    assert store.groups() == []  # nothing before the housekeeping drains
    json_tap(REPORT.encode())  # ... and its end, in a later write
    assert feed.drain() == 2 + 3
    json_events = store.snapshot("/aws/lambda/Json")
    assert {e.stream for e in json_events} == {"2023/11/14/[2]" + "a" * 32}
    report = orjson.loads(json_events[-1].message)
    assert report["type"] == "platform.report" and report["record"]["requestId"] == "r1"
    text_events = store.snapshot("/aws/lambda/Gone")  # no settings: Text, the default group
    assert [e.message.split(" ")[0] for e in text_events] == ["START", "END", "REPORT"]
    assert all(e.timestamp == int(T0 * 1000) for e in text_events)


def test_an_undrained_feed_drains_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_module, "MAX_PENDING", 3)
    store = LogStore(VirtualClock(T0))
    feed = LambdaLogFeed(store, lambda function, version: None)
    tap = feed.tap("F", "1", "s")
    for _ in range(3):
        tap(b"line\n")
    assert len(store.snapshot("/aws/lambda/F")) == 3


def _record(canary: bool, stage: str = "prod") -> RequestRecord:
    return RequestRecord(
        timestamp=T0, request_id="r", api_id="abc", api_name="api", stage=stage,
        is_canary=canary, deployment_id="d", resource_path="/", method="GET",
        function_name="F", qualifier=None, executed_version="1", status=200, latency_ms=1.0,
        integration_latency_ms=1.0, cold_start=False, error_type=None, path="/prod/",
    )  # fmt: skip


def test_access_feed_writes_the_stage_group_and_its_canary_group() -> None:
    store = LogStore(VirtualClock(T0))
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:access"
    settings = {("abc", "prod"): AccessLogSettings(arn, "$context.requestId $context.status")}
    asked: list[tuple[str, str]] = []

    def settings_of(api: str, stage: str) -> AccessLogSettings | None:
        asked.append((api, stage))
        return settings.get((api, stage))

    feed = AccessLogFeed(store, settings_of)
    for canary in (False, True, False):
        feed.add(_record(canary))
    feed.add(_record(False, stage="dev"))  # no settings: not logged
    assert feed.drain() == 3
    assert [e.message for e in store.snapshot("access")] == ["r 200", "r 200"]
    assert [e.message for e in store.snapshot("access/Canary")] == ["r 200"]
    assert asked == [("abc", "prod"), ("abc", "dev")]  # cached until invalidated
    feed.invalidate()
    feed.add(_record(False))
    feed.drain()
    assert asked[-1] == ("abc", "prod")


def test_sam_logging_config_and_access_log_setting(tmp_path: Path) -> None:
    body = (
        "Globals:\n  Function:\n    LoggingConfig:\n      LogFormat: JSON\n"
        + FUNCTION
        + "  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: prod\n"
        "      AccessLogSetting:\n"
        "        DestinationArn: arn:aws:logs:us-east-1:123456789012:log-group:acc\n"
        "        Format: $context.requestId\n"
    )
    project = load(tmp_path, body)
    assert dict(project.functions[0].logging_config) == {"LogFormat": "JSON"}
    api = next(a for a in project.apis if a.logical_id == "Api")
    assert api.access_log == (
        "arn:aws:logs:us-east-1:123456789012:log-group:acc",
        "$context.requestId",
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("      LoggingConfig:\n        LogFormat: XML\n", '"XML" must be one of Text, JSON'),
        (
            "      LoggingConfig:\n        ApplicationLogLevel: INFO\n",
            "LoggingConfig.ApplicationLogLevel: log levels need LogFormat: JSON",
        ),
        ("      LoggingConfig:\n        Format: JSON\n", "is not a LoggingConfig property"),
    ],
)
def test_bad_logging_config_names_the_property(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        load(tmp_path, FUNCTION + extra)
    assert info.value.exit_code == 2
    assert "Resources.HelloFunction.Properties.LoggingConfig" in str(info.value)
    assert message in str(info.value)


def test_cloudformation_stage_and_function_logging(tmp_path: Path) -> None:
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:cfn-access"
    body = edited(
        {
            "Stage": {
                "Type": "AWS::ApiGateway::Stage",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "DeploymentId": {"Ref": "Deployment"},
                    "StageName": "prod",
                    "AccessLogSetting": {"DestinationArn": arn, "Format": "$context.status"},
                },
            }
        }
    ).replace(
        "      Handler: app.handler\n",
        "      Handler: app.handler\n      LoggingConfig: {LogFormat: JSON}\n",
        1,
    )
    project = load_cfn(tmp_path, body)
    assert project.apis[0].access_log == (arn, "$context.status")
    assert dict(project.functions[0].logging_config) == {"LogFormat": "JSON"}
    bad = body.replace(arn, "arn:aws:firehose:us-east-1:123456789012:deliverystream/x")
    with pytest.raises(
        TemplateError, match=r"AccessLogSetting\.DestinationArn.*not a log group ARN"
    ):
        load_cfn(tmp_path / "bad", bad)
