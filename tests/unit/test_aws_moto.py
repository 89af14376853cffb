"""AwsPlatform against moto in-process: Lambda versions and aliases, alarms, metric data.

moto does not emulate stage canaries, alarm evaluation, percentiles or ExecutedVersion
routing (ecosystem-probe §1): those are covered by test_aws_requests.py (Stubber) and the
local-engine functional test.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from apicanary.clock import VirtualClock
from apicanary.errors import AwsApiError
from apicanary.platform.aws.platform import AwsPlatform
from apicanary.platform.base import TelemetryTarget
from apicanary.platform.marker import Marker, with_marker


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture
def moto_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AwsPlatform, VirtualClock]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name="us-east-1")
        lam.create_function(
            FunctionName="fn",
            Runtime="python3.11",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": _zip("v = 1")},
        )
        lam.publish_version(FunctionName="fn")
        lam.create_alias(FunctionName="fn", Name="live", FunctionVersion="1")
        clock = VirtualClock(1_700_000_000.0)
        yield AwsPlatform.connect(region="us-east-1", clock=clock), clock


def test_versions_and_alias_shift(moto_env: tuple[AwsPlatform, VirtualClock]) -> None:
    platform, _ = moto_env
    boto3.client("lambda", region_name="us-east-1").update_function_code(
        FunctionName="fn", ZipFile=_zip("v = 2")
    )
    assert platform.publish_version("fn", description="two") == "2"
    assert platform.publish_version("fn") == "2"  # no-op publish
    before = platform.get_alias("fn", "live")
    assert (before.primary, before.canary) == ("1", None)
    marker = Marker("r1", "2", "1", 0, 0.1, 1_700_000_600)
    split = platform.write_alias(
        "fn",
        "live",
        primary="1",
        canary="2",
        weight=0.1,
        expected_revision=before.revision_id,
        description=with_marker("", marker),
    )
    assert (split.primary, split.canary, split.weight) == ("1", "2", 0.1)
    assert platform.read_marker("fn", "live") == marker
    promoted = platform.write_alias("fn", "live", primary="2", canary=None, weight=0.0)
    assert (promoted.primary, promoted.canary, promoted.weight) == ("2", None, 0.0)
    with pytest.raises(AwsApiError) as info:
        platform.get_alias("fn", "nope")
    assert (info.value.code, info.value.status) == ("ResourceNotFoundException", 404)


def test_alarm_states_follow_set_alarm_state(moto_env: tuple[AwsPlatform, VirtualClock]) -> None:
    platform, _ = moto_env
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    for name in ("errors", "latency"):
        cw.put_metric_alarm(
            AlarmName=name,
            MetricName="Errors",
            Namespace="AWS/Lambda",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    cw.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="test")
    states = platform.alarm_states(["errors", "latency"])
    assert states["errors"] == "ALARM"
    assert states["latency"] in ("OK", "INSUFFICIENT_DATA")
    with pytest.raises(AwsApiError, match="missing"):
        platform.alarm_states(["errors", "missing"])


def _put(cw: Any, metric: str, version: str, at: float, value: float) -> None:
    cw.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": metric,
                "Value": value,
                "Unit": "Count",
                "Timestamp": datetime.fromtimestamp(at, UTC),
                "Dimensions": [
                    {"Name": "FunctionName", "Value": "fn"},
                    {"Name": "Resource", "Value": "fn:live"},
                    {"Name": "ExecutedVersion", "Value": version},
                ],
            }
        ],
    )


def test_telemetry_from_metric_data(moto_env: tuple[AwsPlatform, VirtualClock]) -> None:
    platform, clock = moto_env
    target = TelemetryTarget("fn", "live", stable_version="1", canary_version="2")
    first = platform.cloudwatch.read_telemetry(target, None)
    start = first.cursor
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    _put(cw, "Invocations", "1", start + 5, 40)
    _put(cw, "Invocations", "1", start + 30, 50)
    _put(cw, "Errors", "1", start + 30, 1)
    _put(cw, "Invocations", "2", start + 10, 10)
    _put(cw, "Errors", "2", start + 10, 4)
    _put(cw, "Invocations", "2", start + 70, 3)
    clock.advance(30)  # the first minute is not over
    assert platform.cloudwatch.read_telemetry(target, start).windows == ()
    clock.advance(270)
    batch = platform.cloudwatch.read_telemetry(target, start)
    assert batch.fresh_until == batch.cursor == start + 120
    assert batch.windows is not None
    assert [
        (w.stable.requests, w.stable.errors, w.canary.requests, w.canary.errors)
        for w in batch.windows
    ] == [(90, 1, 10, 4), (0, 0, 3, 0)]
    again = platform.cloudwatch.read_telemetry(target, batch.cursor)
    assert again.windows == ()


def test_a_minute_is_complete_once_a_later_one_has_data(
    moto_env: tuple[AwsPlatform, VirtualClock],
) -> None:
    """The watermark is measured, not assumed: no need to wait the whole publishing delay
    when CloudWatch already has the next minute (issue 12: the AWS backend promoted blind
    because 180 s of assumed delay outlasted a time-scaled strategy)."""
    platform, clock = moto_env
    target = TelemetryTarget("fn", "live", stable_version="1", canary_version="2")
    start = platform.cloudwatch.read_telemetry(target, None).cursor
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    _put(cw, "Invocations", "1", start + 5, 40)
    _put(cw, "Invocations", "2", start + 10, 10)
    _put(cw, "Errors", "2", start + 10, 4)
    clock.advance(65)
    assert (
        platform.cloudwatch.read_telemetry(target, start).fresh_until == start
    )  # no later minute yet
    _put(cw, "Invocations", "1", start + 61, 7)
    batch = platform.cloudwatch.read_telemetry(target, start)
    assert batch.fresh_until == batch.cursor == start + 60  # 65 s, not 180 + 60
    assert [(w.stable.requests, w.canary.errors) for w in batch.windows or ()] == [(40, 4)]
