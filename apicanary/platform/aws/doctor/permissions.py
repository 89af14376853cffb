"""The ``permissions`` check: may the caller make every call a rollout makes?

IAM SimulatePrincipalPolicy for every action in :data:`REQUIRED_ACTIONS` on the target's
resources; when the principal may not simulate, the read calls are tried instead and the write
actions are reported as not verified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from apicanary.arns import function_arn
from apicanary.errors import ApicanaryError, AwsApiError
from apicanary.platform.aws.doctor.target import ClientFactory, DoctorTarget, failed, region_of
from apicanary.platform.aws.errors import aws_call
from apicanary.project.findings import Finding

#: what a rollout calls, grouped by the resource it acts on (see docs/aws.md for the policy)
REQUIRED_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "function": (
        "lambda:GetFunction",
        "lambda:PublishVersion",
        "lambda:GetAlias",
        "lambda:UpdateAlias",
        "lambda:InvokeFunction",
    ),
    "api": ("apigateway:GET", "apigateway:POST", "apigateway:PATCH"),
    "any": (
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
        "cloudwatch:DescribeAlarms",
        # per-request evidence and the rollout's record on AWS
        "logs:StartLiveTail",
        "logs:FilterLogEvents",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
        "logs:GetLogEvents",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ),
}
_WRITES = {
    "lambda:PublishVersion",
    "lambda:UpdateAlias",
    "lambda:InvokeFunction",
    "apigateway:POST",
    "apigateway:PATCH",
    "logs:StartLiveTail",  # not probed: a session is billed per minute
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}


def principal_arn(caller_arn: str) -> str | None:
    """The IAM principal to simulate for a caller ARN (assumed role → its role; root → None)."""
    match = re.fullmatch(r"arn:(aws[\w-]*):sts::(\d+):assumed-role/([^/]+)/.+", caller_arn)
    if match:
        partition, account, role = match.groups()
        return f"arn:{partition}:iam::{account}:role/{role}"
    if caller_arn.endswith(":root"):
        return None
    return caller_arn


def _resources(target: DoctorTarget, region: str, account: str) -> dict[str, list[str]]:
    fn = function_arn(target.function, region=region, account=account)
    api = f"arn:aws:apigateway:{region}::/restapis/{target.api_id or '*'}"
    return {"function": [fn, f"{fn}:*"], "api": [api, f"{api}/*"], "any": ["*"]}


def check_permissions(
    client: ClientFactory, target: DoctorTarget, caller_arn: str, account: str
) -> list[Finding]:
    """Simulate the required actions; fall back to trying the read calls."""
    principal = principal_arn(caller_arn)
    if principal is None:
        return [
            Finding(
                "warning",
                "permissions",
                "running as the account root user: every action is allowed",
                "use an IAM role with the policy in docs/aws.md instead of root credentials",
            )
        ]
    iam = client("iam")
    region = region_of(client("lambda"))
    denied: list[str] = []
    try:
        for group, resources in _resources(target, region, account).items():
            answer = aws_call(
                iam,
                "simulate_principal_policy",
                PolicySourceArn=principal,
                ActionNames=list(REQUIRED_ACTIONS[group]),
                ResourceArns=resources,
            )
            for result in answer.get("EvaluationResults") or []:
                if result.get("EvalDecision") != "allowed":
                    denied.append(f"{result['EvalActionName']} ({result.get('EvalDecision')})")
    except ApicanaryError as error:
        return _probe_reads(client, target, f"cannot simulate the policy ({error})")
    if denied:
        return [
            Finding(
                "error",
                "permissions",
                f"{principal} is not allowed: {', '.join(denied)}",
                "attach the IAM policy from docs/aws.md to this principal",
            )
        ]
    return [Finding("ok", "permissions", f"{principal} is allowed every action a rollout needs")]


def _probe_reads(client: ClientFactory, target: DoctorTarget, why: str) -> list[Finding]:
    probes: list[tuple[str, str, str, dict[str, Any]]] = [
        ("lambda:GetFunction", "lambda", "get_function", {"FunctionName": target.function}),
        ("cloudwatch:DescribeAlarms", "cloudwatch", "describe_alarms", {"MaxRecords": 1}),
        ("cloudwatch:ListMetrics", "cloudwatch", "list_metrics", {"Namespace": "AWS/Lambda"}),
        ("logs:FilterLogEvents", "logs", "filter_log_events",
         {"logGroupName": f"/aws/lambda/{target.function}", "limit": 1}),
    ]  # fmt: skip
    if target.api_id and target.stage:
        probes.append(
            (
                "apigateway:GET",
                "apigateway",
                "get_stage",
                {"restApiId": target.api_id, "stageName": target.stage},
            )
        )
    findings: list[Finding] = []
    for action, service, operation, params in probes:
        try:
            aws_call(client(service), operation, **params)
        except AwsApiError as error:
            if error.code == "ResourceNotFoundException":
                continue  # allowed; the log group just does not exist yet
            if "AccessDenied" in error.code or "Unauthorized" in error.code:
                findings.append(
                    Finding("error", "permissions", f"{action} is denied: {error.message}", "")
                )
        except ApicanaryError as error:
            findings.append(failed("permissions", error))
    writes = ", ".join(sorted(_WRITES))
    findings.append(
        Finding(
            "warning",
            "permissions",
            f"{why}; read calls were tried instead, write actions not verified: {writes}",
            "allow iam:SimulatePrincipalPolicy on yourself, or compare with docs/aws.md",
        )
    )
    return findings
