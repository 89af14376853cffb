"""Exact request shapes of every call AwsPlatform makes, checked with botocore's Stubber
(which also validates requests and canned answers against the real service models)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from apicanary.clock import VirtualClock
from apicanary.errors import AwsApiError, BadInputError
from apicanary.platform.aws.clients import AwsClients
from apicanary.platform.aws.platform import AwsPlatform
from apicanary.platform.base import Platform, TelemetryTarget

NOW = 1_700_000_000.0  # 20 s into the minute starting at T0
T0 = 1_699_999_980.0  # the minute NOW falls in


def _client(service: str) -> Any:
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


class Stubs:
    def __init__(self) -> None:
        self.lam, self.apigw, self.cw = (
            _client("lambda"),
            _client("apigateway"),
            _client("cloudwatch"),
        )
        self.stubs = {
            "lambda": Stubber(self.lam),
            "apigateway": Stubber(self.apigw),
            "cloudwatch": Stubber(self.cw),
        }
        self.clock = VirtualClock(NOW)
        self.platform = AwsPlatform(
            AwsClients(self.lam, self.apigw, self.cw, hook_client=lambda _t: self.lam),
            clock=self.clock,
        )

    def expect(self, service: str, op: str, params: dict[str, Any], answer: dict[str, Any]) -> None:
        self.stubs[service].add_response(op, answer, params)


@pytest.fixture
def aws() -> Iterator[Stubs]:
    s = Stubs()
    for stub in s.stubs.values():
        stub.activate()
    yield s
    for stub in s.stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def _alias(
    version: str, weights: dict[str, float] | None = None, rev: str = "r2", description: str = ""
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "Name": "live",
        "FunctionVersion": version,
        "RevisionId": rev,
        "Description": description,
        "AliasArn": "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
    }
    if weights:
        answer["RoutingConfig"] = {"AdditionalVersionWeights": weights}
    return answer


def test_is_a_platform(aws: Stubs) -> None:
    assert isinstance(aws.platform, Platform)
    assert aws.platform.name == "aws"


def test_publish_version_with_preconditions(aws: Stubs) -> None:
    aws.expect(
        "lambda",
        "publish_version",
        {"FunctionName": "fn", "CodeSha256": "abc=", "Description": "release 8"},
        {"Version": "8"},
    )
    assert aws.platform.publish_version("fn", code_sha256="abc=", description="release 8") == "8"


def test_write_alias_split_with_revision_and_marker(aws: Stubs) -> None:
    aws.expect(
        "lambda",
        "update_alias",
        {
            "FunctionName": "fn",
            "Name": "live",
            "FunctionVersion": "7",
            "RoutingConfig": {"AdditionalVersionWeights": {"8": 0.1}},
            "RevisionId": "r1",
            "Description": "apicanary:v1 id=a to=8 from=7 step=0 w=0.1 exp=9",
        },
        _alias("7", {"8": 0.1}, description="apicanary:v1 id=a to=8 from=7 step=0 w=0.1 exp=9"),
    )
    # verified with a fresh GetAlias, not the UpdateAlias answer: here a later revision
    fresh = _alias("7", {"8": 0.1}, "r3", "apicanary:v1 id=a to=8 from=7 step=0 w=0.1 exp=9")
    aws.expect("lambda", "get_alias", {"FunctionName": "fn", "Name": "live"}, fresh)
    state = aws.platform.write_alias(
        "fn",
        "live",
        primary="7",
        canary="8",
        weight=0.1,
        expected_revision="r1",
        description="apicanary:v1 id=a to=8 from=7 step=0 w=0.1 exp=9",
    )
    assert (state.primary, state.canary, state.weight, state.revision_id) == ("7", "8", 0.1, "r3")
    assert aws.platform.marker_of(state) is not None


def test_promotion_is_one_update_alias_with_empty_weights(aws: Stubs) -> None:
    aws.expect(
        "lambda",
        "update_alias",
        {
            "FunctionName": "fn",
            "Name": "live",
            "FunctionVersion": "8",
            "RoutingConfig": {"AdditionalVersionWeights": {}},
        },
        _alias("8"),
    )
    aws.expect("lambda", "get_alias", {"FunctionName": "fn", "Name": "live"}, _alias("8"))
    state = aws.platform.write_alias("fn", "live", primary="8", canary=None, weight=0.0)
    assert (state.primary, state.canary, state.weight) == ("8", None, 0.0)


def test_lost_update_is_refused(aws: Stubs) -> None:
    aws.stubs["lambda"].add_client_error(
        "update_alias",
        "PreconditionFailedException",
        "The Revision Id provided does not match",
        412,
        expected_params={
            "FunctionName": "fn",
            "Name": "live",
            "FunctionVersion": "7",
            "RoutingConfig": {"AdditionalVersionWeights": {"8": 0.2}},
            "RevisionId": "old",
        },
    )
    with pytest.raises(AwsApiError) as info:
        aws.platform.write_alias(
            "fn", "live", primary="7", canary="8", weight=0.2, expected_revision="old"
        )
    assert (info.value.code, info.value.status) == ("PreconditionFailedException", 412)


def _stage(
    canary: dict[str, Any] | None = None,
    deployment: str = "d1",
    variables: dict[str, str] | None = None,
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "stageName": "prod",
        "deploymentId": deployment,
        "variables": variables or {"lambdaAlias": "live"},
    }
    if canary is not None:
        answer["canarySettings"] = canary
    return answer


STAGE = {"restApiId": "api1", "stageName": "prod"}
CANARY: dict[str, Any] = {
    "percentTraffic": 10.0,
    "deploymentId": "d2",
    "stageVariableOverrides": {"lambdaAlias": "canary", "old": "x"},
    "useStageCache": False,
}


def test_first_canary_is_a_create_deployment(aws: Stubs) -> None:
    aws.expect("apigateway", "get_stage", STAGE, _stage())
    aws.expect(
        "apigateway",
        "create_deployment",
        {
            "restApiId": "api1",
            "stageName": "prod",
            "description": ANY,
            "canarySettings": {
                "percentTraffic": 10.0,
                "useStageCache": False,
                "stageVariableOverrides": {"lambdaAlias": "canary"},
            },
        },
        {"id": "d2"},
    )
    aws.expect("apigateway", "get_stage", STAGE, _stage(CANARY))
    state = aws.platform.write_stage_canary(
        "api1", "prod", percent=10, overrides={"lambdaAlias": "canary"}
    )
    assert (state.canary_percent, state.canary_deployment_id) == (10.0, "d2")


def test_existing_canary_is_patched_to_exactly_what_is_asked(aws: Stubs) -> None:
    aws.expect("apigateway", "get_stage", STAGE, _stage(CANARY))
    aws.expect(
        "apigateway",
        "update_stage",
        {
            **STAGE,
            "patchOperations": [
                {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "25.0"},
                {
                    "op": "replace",
                    "path": "/canarySettings/stageVariableOverrides/new",
                    "value": "v",
                },
                {"op": "remove", "path": "/canarySettings/stageVariableOverrides/old"},
            ],
        },
        _stage(
            {
                **CANARY,
                "percentTraffic": 25.0,
                "stageVariableOverrides": {"lambdaAlias": "canary", "new": "v"},
            }
        ),
    )
    fresh = {**CANARY, "percentTraffic": 25.0}
    fresh["stageVariableOverrides"] = {"lambdaAlias": "canary", "new": "v"}
    aws.expect("apigateway", "get_stage", STAGE, _stage(fresh))
    state = aws.platform.write_stage_canary(
        "api1", "prod", percent=25, overrides={"lambdaAlias": "canary", "new": "v"}
    )
    assert state.canary_overrides == {"lambdaAlias": "canary", "new": "v"}


def test_unchanged_canary_makes_no_write(aws: Stubs) -> None:
    aws.expect("apigateway", "get_stage", STAGE, _stage(CANARY))
    state = aws.platform.write_stage_canary(
        "api1", "prod", percent=10.0, overrides=CANARY["stageVariableOverrides"]
    )
    assert state.canary_percent == 10.0
    with pytest.raises(BadInputError, match="out of range"):
        aws.platform.write_stage_canary("api1", "prod", percent=101, overrides={})


def test_promotion_is_three_operations_then_removal(aws: Stubs) -> None:
    aws.expect("apigateway", "get_stage", STAGE, _stage(CANARY))
    aws.expect(
        "apigateway",
        "update_stage",
        {
            **STAGE,
            "patchOperations": [
                {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"},
                {
                    "op": "copy",
                    "from": "/canarySettings/stageVariableOverrides",
                    "path": "/variables",
                },
                {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
            ],
        },
        _stage({**CANARY, "percentTraffic": 0.0}, "d2", {"lambdaAlias": "canary"}),
    )
    promoted = _stage({**CANARY, "percentTraffic": 0.0}, "d2", {"lambdaAlias": "canary"})
    aws.expect("apigateway", "get_stage", STAGE, promoted)
    aws.expect(
        "apigateway",
        "update_stage",
        {**STAGE, "patchOperations": [{"op": "remove", "path": "/canarySettings"}]},
        _stage(None, "d2", {"lambdaAlias": "canary"}),
    )
    aws.expect("apigateway", "get_stage", STAGE, _stage(None, "d2", {"lambdaAlias": "canary"}))
    state = aws.platform.promote_stage_canary("api1", "prod")
    assert (state.deployment_id, state.canary_percent) == ("d2", None)


def test_removal_and_idempotent_reruns(aws: Stubs) -> None:
    aws.expect("apigateway", "get_stage", STAGE, _stage(CANARY))
    aws.expect(
        "apigateway",
        "update_stage",
        {**STAGE, "patchOperations": [{"op": "remove", "path": "/canarySettings"}]},
        _stage(),
    )
    aws.expect("apigateway", "get_stage", STAGE, _stage())
    assert aws.platform.remove_stage_canary("api1", "prod").canary_percent is None
    aws.expect("apigateway", "get_stage", STAGE, _stage())
    assert aws.platform.remove_stage_canary("api1", "prod").deployment_id == "d1"
    aws.expect("apigateway", "get_stage", STAGE, _stage())
    assert aws.platform.promote_stage_canary("api1", "prod").canary_percent is None


def test_find_api_by_id_or_name(aws: Stubs) -> None:
    apis = {
        "items": [
            {"id": "a1", "name": "orders"},
            {"id": "b2", "name": "twin"},
            {"id": "c3", "name": "twin"},
        ]
    }
    for _ in range(4):
        aws.expect("apigateway", "get_rest_apis", {}, apis)
    assert aws.platform.find_api("a1") == "a1"
    assert aws.platform.find_api("orders") == "a1"
    with pytest.raises(BadInputError, match="2 REST APIs are named 'twin'"):
        aws.platform.find_api("twin")
    with pytest.raises(BadInputError, match="orders"):
        aws.platform.find_api("nope")


def _query(
    qid: str, namespace: str, metric: str, dims: dict[str, str], stat: str = "Sum", period: int = 60
) -> dict[str, Any]:
    return {
        "Id": qid,
        "ReturnData": True,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            },
            "Period": period,
            "Stat": stat,
        },
    }


def _lambda_dims(version: str) -> dict[str, str]:
    return {"FunctionName": "fn", "Resource": "fn:live", "ExecutedVersion": version}


ALIAS_TARGET = TelemetryTarget("fn", "live", stable_version="7", canary_version="8")


def test_alias_telemetry_queries_by_executed_version(aws: Stubs) -> None:
    batch = aws.platform.read_telemetry(ALIAS_TARGET, None)  # cursor starts at this minute
    assert batch.cursor == T0 and batch.windows == () and batch.fresh_until == T0
    aws.clock.advance(300)  # fresh boundary now: T0 + 120; data read up to now (T0 + 320)
    minute = datetime.fromtimestamp(T0, UTC)
    aws.expect(
        "cloudwatch",
        "get_metric_data",
        {
            "MetricDataQueries": [
                _query("stableRequests", "AWS/Lambda", "Invocations", _lambda_dims("7")),
                _query("stableErrors", "AWS/Lambda", "Errors", _lambda_dims("7")),
                _query("canaryRequests", "AWS/Lambda", "Invocations", _lambda_dims("8")),
                _query("canaryErrors", "AWS/Lambda", "Errors", _lambda_dims("8")),
            ],
            "StartTime": T0,
            "EndTime": T0 + 320,
            "ScanBy": "TimestampAscending",
        },
        {
            "MetricDataResults": [
                {"Id": "stableRequests", "Timestamps": [minute], "Values": [90.0]},
                {"Id": "stableErrors", "Timestamps": [minute], "Values": [1.0]},
                {"Id": "canaryRequests", "Timestamps": [minute], "Values": [10.0]},
                {"Id": "canaryErrors", "Timestamps": [minute], "Values": [12.0]},
            ],
            "NextToken": "page2",
        },
    )
    aws.expect(
        "cloudwatch",
        "get_metric_data",
        {
            "MetricDataQueries": ANY,
            "StartTime": T0,
            "EndTime": T0 + 320,
            "ScanBy": "TimestampAscending",
            "NextToken": "page2",
        },
        {
            "MetricDataResults": [
                {
                    "Id": "stableRequests",
                    "Timestamps": [datetime.fromtimestamp(T0 + 60, UTC)],
                    "Values": [5.0],
                }
            ]
        },
    )
    batch = aws.platform.read_telemetry(ALIAS_TARGET, batch.cursor)
    assert batch.cursor == batch.fresh_until == T0 + 120
    assert batch.invocations is None and batch.windows is not None
    first, second = batch.windows
    assert (first.stable.requests, first.stable.errors) == (90, 1)
    assert (first.canary.requests, first.canary.errors) == (10, 10)  # capped at its requests
    assert (first.canary.warm, first.canary.slow_p90, first.error_order) == (0, 0, None)
    assert (second.stable.requests, second.canary.requests) == (5, 0)
    for window in batch.windows:
        window.validate()


def test_stage_telemetry_discovers_the_canary_dimension(aws: Stubs) -> None:
    target = TelemetryTarget("fn", "live", "7", "8", api_id="api1", stage="prod", mode="stage")
    aws.clock.advance(300)
    aws.expect(
        "apigateway", "get_rest_api", {"restApiId": "api1"}, {"id": "api1", "name": "orders"}
    )
    aws.expect(
        "cloudwatch",
        "list_metrics",
        {
            "Namespace": "AWS/ApiGateway",
            "MetricName": "Count",
            "Dimensions": [{"Name": "ApiName", "Value": "orders"}],
        },
        {
            "Metrics": [
                {
                    "Namespace": "AWS/ApiGateway",
                    "MetricName": "Count",
                    "Dimensions": [
                        {"Name": "ApiName", "Value": "orders"},
                        {"Name": "Stage", "Value": "prod"},
                    ],
                },
                {
                    "Namespace": "AWS/ApiGateway",
                    "MetricName": "Count",
                    "Dimensions": [
                        {"Name": "ApiName", "Value": "orders"},
                        {"Name": "Stage", "Value": "prod/Canary"},
                    ],
                },
            ]
        },
    )

    def dims(stage: str) -> dict[str, str]:
        return {"ApiName": "orders", "Stage": stage}

    aws.expect(
        "cloudwatch",
        "get_metric_data",
        {
            "MetricDataQueries": [
                _query("stableRequests", "AWS/ApiGateway", "Count", dims("prod")),
                _query("stableErrors", "AWS/ApiGateway", "5XXError", dims("prod")),
                _query("canaryRequests", "AWS/ApiGateway", "Count", dims("prod/Canary")),
                _query("canaryErrors", "AWS/ApiGateway", "5XXError", dims("prod/Canary")),
            ],
            "StartTime": T0,
            "EndTime": T0 + 320,
            "ScanBy": "TimestampAscending",
        },
        {"MetricDataResults": []},
    )
    batch = aws.platform.read_telemetry(target, T0)
    assert batch.windows == ()
    # discovered once: asking again makes no ListMetrics call (the Stubber has none queued)
    assert aws.platform.cloudwatch.canary_stage_dimension("orders", "prod") == "prod/Canary"


def test_latency_percentiles(aws: Stubs) -> None:
    aws.expect(
        "cloudwatch",
        "get_metric_data",
        {
            "MetricDataQueries": [
                _query("stableP90", "AWS/Lambda", "Duration", _lambda_dims("7"), "p90", 300),
                _query("stableP99", "AWS/Lambda", "Duration", _lambda_dims("7"), "p99", 300),
                _query("canaryP90", "AWS/Lambda", "Duration", _lambda_dims("8"), "p90", 300),
                _query("canaryP99", "AWS/Lambda", "Duration", _lambda_dims("8"), "p99", 300),
            ],
            "StartTime": T0 - 300,
            "EndTime": T0,
            "ScanBy": "TimestampAscending",
        },
        {
            "MetricDataResults": [
                {
                    "Id": "stableP90",
                    "Timestamps": [datetime.fromtimestamp(T0 - 300, UTC)],
                    "Values": [12.5],
                },
                {
                    "Id": "canaryP99",
                    "Timestamps": [datetime.fromtimestamp(T0 - 300, UTC)],
                    "Values": [80.0],
                },
            ]
        },
    )
    got = aws.platform.cloudwatch.read_latency_percentiles(ALIAS_TARGET, T0 - 300, T0)
    assert got == {"stable": {"p90": 12.5}, "canary": {"p99": 80.0}}


def test_alarm_states(aws: Stubs) -> None:
    params = {"AlarmNames": ["a", "b"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    aws.expect(
        "cloudwatch",
        "describe_alarms",
        params,
        {"MetricAlarms": [{"AlarmName": "a", "StateValue": "ALARM"}]},
    )
    aws.expect(
        "cloudwatch",
        "describe_alarms",
        params,
        {"CompositeAlarms": [{"AlarmName": "b", "StateValue": "OK"}]},
    )
    assert aws.platform.alarm_states(["a", "b"]) == {"a": "ALARM", "b": "OK"}
    params = {"AlarmNames": ["gone"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    aws.expect("cloudwatch", "describe_alarms", params, {"MetricAlarms": []})
    aws.expect("cloudwatch", "describe_alarms", params, {"CompositeAlarms": []})
    with pytest.raises(AwsApiError, match="gone"):
        aws.platform.alarm_states(["gone"])


def _payload(text: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(text), len(text))


def test_invoke_hook(aws: Stubs) -> None:
    params = {
        "FunctionName": "hook",
        "InvocationType": "RequestResponse",
        "Payload": b'{"id": "r1"}',
    }
    aws.expect("lambda", "invoke", params, {"StatusCode": 200, "Payload": _payload(b'"ok"')})
    assert aws.platform.invoke_hook("hook", {"id": "r1"}, 30).succeeded
    aws.expect(
        "lambda",
        "invoke",
        params,
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": _payload(b'{"errorMessage":"no"}'),
        },
    )
    result = aws.platform.invoke_hook("hook", {"id": "r1"}, 30)
    assert not result.succeeded and "Unhandled" in result.detail and "no" in result.detail
    aws.stubs["lambda"].add_client_error(
        "invoke", "ResourceNotFoundException", "Function not found", 404, expected_params=params
    )
    with pytest.raises(AwsApiError, match="ResourceNotFoundException"):
        aws.platform.invoke_hook("hook", {"id": "r1"}, 30)
