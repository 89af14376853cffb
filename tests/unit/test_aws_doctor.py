"""`doctor` checks for AWS, driven through Stubber-backed clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from apicanary.platform.aws.doctor import (
    DoctorTarget,
    allows_apigateway,
    principal_arn,
    run_checks,
)
from apicanary.platform.aws.doctor.logs import RECOMMENDED_FORMAT
from apicanary.platform.marker import Marker, encode
from apicanary.project.findings import Finding

TARGET = DoctorTarget("fn", "live", api_id="api1", stage="prod", alarms=("errors", "latency"))
URI = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:1:function:{}/invocations"
)


class Clients:
    def __init__(self) -> None:
        self.clients = {
            s: boto3.client(
                s, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
            )
            for s in ("sts", "iam", "lambda", "apigateway", "apigatewayv2", "cloudwatch", "logs")
        }
        self.stubs = {s: Stubber(c) for s, c in self.clients.items()}

    def __call__(self, service: str) -> Any:
        return self.clients[service]


@pytest.fixture
def clients() -> Iterator[Clients]:
    c = Clients()
    for stub in c.stubs.values():
        stub.activate()
    yield c
    for stub in c.stubs.values():
        stub.assert_no_pending_responses()


def _policy(qualifier: str) -> dict[str, Any]:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:1:api1/*"}},
    }
    return {"Policy": json.dumps({"Statement": [statement]}), "RevisionId": qualifier}


def _stub_all(
    c: Clients,
    *,
    simulate_denied: bool,
    split: bool,
    canary: bool,
    alarm: str,
    unqualified: bool,
    permission_for: set[str],
    access_log: bool = True,
) -> None:
    s = c.stubs
    s["sts"].add_response(
        "get_caller_identity",
        {
            "Account": "123456789012",
            "Arn": "arn:aws:sts::123456789012:assumed-role/deployer/me",
            "UserId": "u",
        },
    )
    if simulate_denied:
        s["iam"].add_client_error("simulate_principal_policy", "AccessDenied", "no", 403)
        s["lambda"].add_response("get_function", {}, {"FunctionName": "fn"})
        s["cloudwatch"].add_response("describe_alarms", {}, {"MaxRecords": 1})
        s["cloudwatch"].add_client_error("list_metrics", "AccessDenied", "not you", 403)
        s["logs"].add_client_error(
            "filter_log_events",
            "ResourceNotFoundException",
            "The specified log group does not exist.",
        )
        s["apigateway"].add_response(
            "get_stage", {"stageName": "prod"}, {"restApiId": "api1", "stageName": "prod"}
        )
    else:
        for _ in range(3):
            s["iam"].add_response(
                "simulate_principal_policy",
                {
                    "EvaluationResults": [
                        {"EvalActionName": "lambda:UpdateAlias", "EvalDecision": "allowed"}
                    ]
                },
                {
                    "PolicySourceArn": "arn:aws:iam::123456789012:role/deployer",
                    "ActionNames": ANY,
                    "ResourceArns": ANY,
                },
            )
    alias: dict[str, Any] = {"Name": "live", "FunctionVersion": "7"}
    if split:
        alias["RoutingConfig"] = {"AdditionalVersionWeights": {"8": 0.25}}
        alias["Description"] = encode(Marker("r9", "8", "7", 1, 0.25, 100))
    s["lambda"].add_response("get_alias", alias, {"FunctionName": "fn", "Name": "live"})
    stage: dict[str, Any] = {
        "stageName": "prod",
        "deploymentId": "d1",
        "variables": {"lambdaAlias": "live"},
    }
    if canary:
        stage["canarySettings"] = {
            "percentTraffic": 10.0,
            "deploymentId": "d2",
            "stageVariableOverrides": {"lambdaAlias": "canary"},
        }
    s["apigateway"].add_response("get_stage", stage, {"restApiId": "api1", "stageName": "prod"})
    s["cloudwatch"].add_response(
        "describe_alarms",
        {
            "MetricAlarms": [
                {"AlarmName": "errors", "StateValue": alarm},
                {"AlarmName": "latency", "StateValue": "OK"},
            ]
        },
        {"AlarmNames": ["errors", "latency"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]},
    )
    qualifier = "" if unqualified else ":${stageVariables.lambdaAlias}"
    s["apigateway"].add_response(
        "get_resources",
        {
            "items": [
                {
                    "id": "r1",
                    "path": "/{proxy+}",
                    "resourceMethods": {
                        "ANY": {
                            "methodIntegration": {
                                "type": "AWS_PROXY",
                                "uri": URI.format("fn" + qualifier),
                            }
                        }
                    },
                },
                {
                    "id": "r2",
                    "path": "/other",
                    "resourceMethods": {
                        "GET": {
                            "methodIntegration": {"type": "AWS_PROXY", "uri": URI.format("otherfn")}
                        }
                    },
                },
            ]
        },
        {"restApiId": "api1", "embed": ["methods"]},
    )
    s["apigateway"].add_response("get_stage", stage, {"restApiId": "api1", "stageName": "prod"})
    if not unqualified:
        _stub_policies(c, canary, permission_for)
    _stub_http_apis(c, http_qualifier=None if unqualified else "live", provisioned=split)
    config: dict[str, Any] = {"FunctionName": "fn"}
    if access_log:
        config["LoggingConfig"] = {"LogFormat": "JSON", "LogGroup": "/aws/lambda/fn"}
        stage["accessLogSettings"] = {
            "destinationArn": "arn:aws:logs:us-east-1:1:log-group:api-prod",
            "format": RECOMMENDED_FORMAT,
        }
    s["lambda"].add_response("get_function_configuration", config, {"FunctionName": "fn"})
    s["apigateway"].add_response("get_stage", stage, {"restApiId": "api1", "stageName": "prod"})


def _stub_http_apis(c: Clients, *, http_qualifier: str | None, provisioned: bool) -> None:
    """One HTTP API whose integration invokes fn (qualified or not); provisioned concurrency."""
    s = c.stubs
    api = {"ApiId": "h1", "Name": "shop", "ProtocolType": "HTTP", "RouteSelectionExpression": "x"}
    s["apigatewayv2"].add_response("get_apis", {"Items": [api]}, {})
    arn = "arn:aws:lambda:us-east-1:1:function:fn" + (
        f":{http_qualifier}" if http_qualifier else ""
    )
    integration = {"IntegrationId": "i1", "IntegrationType": "AWS_PROXY", "IntegrationUri": arn}
    s["apigatewayv2"].add_response("get_integrations", {"Items": [integration]}, {"ApiId": "h1"})
    params = {"FunctionName": "fn", "Qualifier": "live"}
    if provisioned:
        answer = {"RequestedProvisionedConcurrentExecutions": 5, "Status": "READY"}
        s["lambda"].add_response("get_provisioned_concurrency_config", answer, params)
    else:
        s["lambda"].add_client_error(
            "get_provisioned_concurrency_config", "ProvisionedConcurrencyConfigNotFoundException",
            "No Provisioned Concurrency Config found for this function", 404,
            expected_params=params,
        )  # fmt: skip


def _stub_policies(c: Clients, canary: bool, permission_for: set[str]) -> None:
    s = c.stubs
    for alias_name in sorted({"live", "canary"} if canary else {"live"}):
        params = {"FunctionName": "fn", "Qualifier": alias_name}
        if alias_name in permission_for:
            s["lambda"].add_response("get_policy", _policy(alias_name), params)
        else:
            s["lambda"].add_client_error(
                "get_policy", "ResourceNotFoundException", "none", 404, expected_params=params
            )


def _by_check(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for finding in findings:
        out.setdefault(finding.check, []).append(finding)
    return out


def test_a_clean_setup(clients: Clients) -> None:
    _stub_all(
        clients,
        simulate_denied=False,
        split=False,
        canary=False,
        alarm="OK",
        unqualified=False,
        permission_for={"live"},
    )
    findings = run_checks(clients, TARGET, now=0)
    assert [f.level for f in findings] == ["ok"] * len(findings), findings
    assert [f.check for f in findings] == [
        "identity",
        "permissions",
        "alias",
        "stage-canary",
        "alarms",
        "integration",
        "invoke-permission",
        "http-integration",
        "log-format",
        "access-log",
    ]


def test_every_problem_is_reported(clients: Clients) -> None:
    _stub_all(
        clients,
        simulate_denied=True,
        split=True,
        canary=True,
        alarm="ALARM",
        unqualified=False,
        permission_for={"live"},
        access_log=False,
    )
    found = _by_check(run_checks(clients, TARGET, now=1000))
    levels = {check: [f.level for f in fs] for check, fs in found.items()}
    assert levels["permissions"] == ["error", "warning"]
    assert "cloudwatch:ListMetrics is denied" in found["permissions"][0].message
    assert "not verified" in found["permissions"][1].message
    assert levels["alias"] == ["warning"]
    assert "25.0% to version 8" in found["alias"][0].message
    assert "rollout r9 abandoned" in found["alias"][0].message
    assert levels["stage-canary"] == ["warning"]
    assert (
        levels["alarms"] == ["error"] and "errors is already in ALARM" in found["alarms"][0].message
    )
    by_alias = {f.message.split(":")[1].split()[0]: f.level for f in found["invoke-permission"]}
    assert by_alias == {"canary": "error", "live": "ok"}
    assert "add-permission" in next(
        f.hint for f in found["invoke-permission"] if f.level == "error"
    )
    assert levels["log-format"] == ["ok"] and "JSON adds" in found["log-format"][0].message
    assert levels["access-log"] == ["error"]
    assert "writes no access log" in found["access-log"][0].message
    assert levels["provisioned-concurrency"] == ["warning"]
    assert "Alias with weights" in found["provisioned-concurrency"][0].message


def test_unqualified_integration(clients: Clients) -> None:
    _stub_all(
        clients,
        simulate_denied=False,
        split=False,
        canary=False,
        alarm="OK",
        unqualified=True,
        permission_for=set(),
    )
    found = _by_check(run_checks(clients, TARGET, now=0))
    assert found["integration"][0].level == "error"
    assert "ANY /{proxy+}" in found["integration"][0].message
    (http,) = found["http-integration"]
    assert http.level == "error" and "shop (i1) invoke fn unqualified" in http.message
    assert "HTTP API stages have no canary" in http.hint


def test_identity_failure_stops_early(clients: Clients) -> None:
    clients.stubs["sts"].add_client_error("get_caller_identity", "ExpiredToken", "expired", 403)
    findings = run_checks(clients, TARGET)
    assert [(f.level, f.check) for f in findings] == [("error", "identity")]
    assert "ExpiredToken" in findings[0].message


def test_pure_helpers() -> None:
    assert principal_arn("arn:aws:sts::1:assumed-role/R/s") == "arn:aws:iam::1:role/R"
    assert principal_arn("arn:aws:iam::1:user/u") == "arn:aws:iam::1:user/u"
    assert principal_arn("arn:aws:iam::1:root") is None
    assert allows_apigateway(_policy("x")["Policy"], "api1")
    assert not allows_apigateway(_policy("x")["Policy"], "api2")
    assert allows_apigateway(_policy("x")["Policy"], None)
    assert not allows_apigateway(json.dumps({"Statement": []}), "api1")


class _Stage:
    def __init__(self, fmt: str | None) -> None:
        self.fmt = fmt

    def get_stage(self, **_: Any) -> dict[str, Any]:
        settings = {"destinationArn": "arn:aws:logs:us-east-1:1:log-group:g", "format": self.fmt}
        return {"stageName": "prod", "accessLogSettings": settings if self.fmt else {}}


@pytest.mark.parametrize(
    ("fmt", "level", "words"),
    [
        ('{"id":"$context.requestId"}', "error", "lacks $context.status"),
        (
            "$context.requestId $context.status $context.responseLatency",
            "warning",
            "cold starts count",
        ),
        (RECOMMENDED_FORMAT, "ok", "every field"),
    ],
)
def test_access_log_format_checks(fmt: str, level: str, words: str) -> None:
    from apicanary.platform.aws.doctor.logs import check_access_log

    [finding] = check_access_log(_Stage(fmt), TARGET)
    assert (finding.check, finding.level) == ("access-log", level)
    assert words in finding.message
