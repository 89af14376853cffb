"""``apicanary doctor --backend aws``: pre-flight checks of an AWS setup, as data.

:func:`run_checks` takes a client factory (``session.client`` with the endpoint and retry
config already bound, or a dict lookup in tests) and a :class:`DoctorTarget`, makes **read-only**
calls, and returns a list of :class:`Finding` — it never raises for what AWS answers: a failed
call becomes an ``error`` finding naming the call. Checks, in order:

``identity``       sts GetCallerIdentity: which account and principal the chain resolved to.
``permissions``    iam SimulatePrincipalPolicy for every action in :data:`REQUIRED_ACTIONS` on
                   the target's resources; when the principal may not simulate, the read calls
                   are tried instead and the write actions are reported as not verified.
``alias``          the alias exists; a warning if it already splits traffic (with the rollout
                   marker's owner and whether its deadline has passed).
``stage-canary``   a warning if the stage already has ``canarySettings``.
``alarms``         every named alarm exists and none is in ``ALARM`` (the guard would refuse).
``integration``    every Lambda integration of the API calling the function is alias-qualified
                   (literally, or through ``${stageVariables.x}``); unqualified runs ``$LATEST``.
``invoke-permission`` every alias a stage variable (or its canary override) can name has a
                   resource policy letting ``apigateway.amazonaws.com`` invoke it (§1.7),
                   otherwise API Gateway answers 500.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from apicanary.errors import ApicanaryError, AwsApiError
from apicanary.platform.aws.errors import aws_call
from apicanary.platform.marker import decode

Level = Literal["error", "warning", "ok"]
ClientFactory = Callable[[str], Any]

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
    "any": ("cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "cloudwatch:DescribeAlarms"),
}
_WRITES = {
    "lambda:PublishVersion",
    "lambda:UpdateAlias",
    "lambda:InvokeFunction",
    "apigateway:POST",
    "apigateway:PATCH",
}
_URI_FUNCTION = re.compile(r":function:([A-Za-z0-9_-]+)(?::([^/]+))?/invocations")
_STAGE_VAR = re.compile(r"^\$\{stageVariables\.([A-Za-z0-9_]+)\}$")


@dataclass(frozen=True, slots=True)
class Finding:
    """One result: ``level`` error (the rollout would fail), warning (look first) or ok."""

    level: Level
    check: str
    message: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class DoctorTarget:
    """What the rollout will touch."""

    function: str
    alias: str
    api_id: str | None = None
    stage: str | None = None
    alarms: tuple[str, ...] = ()


def _failed(check: str, error: ApicanaryError) -> Finding:
    return Finding("error", check, str(error), error.hint or "")


def _region(client: Any) -> str:
    return str(getattr(getattr(client, "meta", None), "region_name", None) or "*")


# -- identity and permissions ---------------------------------------------------------------


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
    fn = f"arn:aws:lambda:{region}:{account}:function:{target.function}"
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
    region = _region(client("lambda"))
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
    ]
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
            if "AccessDenied" in error.code or "Unauthorized" in error.code:
                findings.append(
                    Finding("error", "permissions", f"{action} is denied: {error.message}", "")
                )
        except ApicanaryError as error:
            findings.append(_failed("permissions", error))
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


# -- state of the alias, the stage and the alarms ---------------------------------------------


def check_alias(lam: Any, target: DoctorTarget, now: float) -> list[Finding]:
    name = f"{target.function}:{target.alias}"
    try:
        data = aws_call(lam, "get_alias", FunctionName=target.function, Name=target.alias)
    except ApicanaryError as error:
        return [_failed("alias", error)]
    weights = (data.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    if not weights:
        return [Finding("ok", "alias", f"{name} sends all traffic to {data['FunctionVersion']}")]
    version, weight = next(iter(weights.items()))
    message = (
        f"{name} already splits traffic: {float(weight):.1%} to version {version}, "
        f"the rest to {data['FunctionVersion']}"
    )
    try:
        marker = decode(str(data.get("Description") or ""))
    except ValueError:
        marker = None
    if marker is not None:
        state = "abandoned (deadline passed)" if marker.expired(now) else "in progress"
        message += f"; rollout {marker.rollout_id} {state}"
    return [
        Finding(
            "warning",
            "alias",
            message,
            "see `apicanary rollout status --backend aws`, or abort it before starting another",
        )
    ]


def check_stage_canary(apigw: Any, target: DoctorTarget) -> list[Finding]:
    if not (target.api_id and target.stage):
        return []
    try:
        stage = aws_call(apigw, "get_stage", restApiId=target.api_id, stageName=target.stage)
    except ApicanaryError as error:
        return [_failed("stage-canary", error)]
    canary = stage.get("canarySettings")
    if canary is None:
        return [Finding("ok", "stage-canary", f"stage {target.stage} has no canary")]
    return [
        Finding(
            "warning",
            "stage-canary",
            f"stage {target.stage} already has a canary: {canary.get('percentTraffic', 0.0)}% "
            f"to deployment {canary.get('deploymentId')}",
            "promote or remove it (`apicanary rollout abort`) before starting a stage rollout",
        )
    ]


def check_alarms(cloudwatch: Any, names: Sequence[str]) -> list[Finding]:
    if not names:
        return []
    try:
        answer = aws_call(
            cloudwatch,
            "describe_alarms",
            AlarmNames=list(names),
            AlarmTypes=["MetricAlarm", "CompositeAlarm"],
        )
    except ApicanaryError as error:
        return [_failed("alarms", error)]
    states = {
        str(alarm["AlarmName"]): str(alarm["StateValue"])
        for key in ("MetricAlarms", "CompositeAlarms")
        for alarm in answer.get(key) or []
    }
    findings: list[Finding] = []
    for name in names:
        if name not in states:
            findings.append(Finding("error", "alarms", f"no alarm named {name}", "check --alarm"))
        elif states[name] == "ALARM":
            findings.append(
                Finding(
                    "error",
                    "alarms",
                    f"alarm {name} is already in ALARM: a rollout would be refused",
                    "fix what it reports, or wait until it returns to OK",
                )
            )
    if not findings:
        findings.append(Finding("ok", "alarms", f"{len(names)} alarm(s) found, none in ALARM"))
    return findings


# -- integrations and invoke permissions ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Integration:
    """A Lambda integration of the API that calls the target function."""

    method: str
    path: str
    qualifier: str | None  # None: unqualified; "${stageVariables.x}" or a literal alias


def function_integrations(
    resources: Iterable[Mapping[str, Any]], function: str
) -> list[Integration]:
    """The integrations (from GetResources with ``embed=methods``) that call ``function``."""
    found: list[Integration] = []
    for resource in resources:
        for method, spec in (resource.get("resourceMethods") or {}).items():
            uri = str((spec.get("methodIntegration") or {}).get("uri") or "")
            match = _URI_FUNCTION.search(uri)
            if match and match.group(1) == function:
                found.append(Integration(method, str(resource.get("path")), match.group(2)))
    return found


def check_integrations(integrations: Sequence[Integration], function: str) -> list[Finding]:
    bare = [f"{i.method} {i.path}" for i in integrations if i.qualifier is None]
    if bare:
        return [
            Finding(
                "error",
                "integration",
                f"{', '.join(bare)} invoke {function} without an alias: they run $LATEST, "
                "which no rollout shifts",
                f"make the integration URI end in {function}:${{stageVariables.lambdaAlias}}"
                "/invocations (or :<alias>) and redeploy",
            )
        ]
    if integrations:
        return [Finding("ok", "integration", f"every integration of {function} names an alias")]
    return [Finding("warning", "integration", f"no integration of this API calls {function}", "")]


def selectable_aliases(
    integrations: Sequence[Integration], stage: Mapping[str, Any] | None
) -> list[str]:
    """Every alias the integrations can name: literal qualifiers, and each stage variable's
    value in the stage and in its canary overrides."""
    variables = dict((stage or {}).get("variables") or {})
    overrides = dict(
        ((stage or {}).get("canarySettings") or {}).get("stageVariableOverrides") or {}
    )
    aliases: set[str] = set()
    for integration in integrations:
        if integration.qualifier is None:
            continue
        match = _STAGE_VAR.match(integration.qualifier)
        if match is None:
            aliases.add(integration.qualifier)
            continue
        for source in (variables, overrides):
            if match.group(1) in source:
                aliases.add(str(source[match.group(1)]))
    return sorted(a for a in aliases if not a.isdigit() and a != "$LATEST")


def allows_apigateway(policy_text: str, api_id: str | None) -> bool:
    """Whether a Lambda resource policy lets API Gateway (this API, if conditioned) invoke."""
    statements = json.loads(policy_text).get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        service = principal.get("Service") if isinstance(principal, dict) else principal
        services = service if isinstance(service, list) else [service]
        if "apigateway.amazonaws.com" not in services and "*" not in services:
            continue
        actions = statement.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        if not any(a in ("lambda:InvokeFunction", "lambda:*", "*") for a in actions):
            continue
        source = json.dumps(statement.get("Condition") or {})
        if api_id is None or "SourceArn" not in source or api_id in source or ":*/" in source:
            return True
    return False


def check_invoke_permissions(
    lam: Any, function: str, aliases: Sequence[str], api_id: str | None
) -> list[Finding]:
    findings: list[Finding] = []
    for alias in aliases:
        hint = (
            f"aws lambda add-permission --function-name {function} --qualifier {alias} "
            f"--statement-id apigateway-{alias} --action lambda:InvokeFunction "
            "--principal apigateway.amazonaws.com "
            f"--source-arn 'arn:aws:execute-api:<region>:<account>:{api_id or '<api-id>'}/*'"
        )
        try:
            answer = aws_call(lam, "get_policy", FunctionName=function, Qualifier=alias)
        except AwsApiError as error:
            if error.code != "ResourceNotFoundException":
                findings.append(_failed("invoke-permission", error))
                continue
            answer = {"Policy": "{}"}
        except ApicanaryError as error:
            findings.append(_failed("invoke-permission", error))
            continue
        if allows_apigateway(str(answer.get("Policy") or "{}"), api_id):
            findings.append(
                Finding("ok", "invoke-permission", f"API Gateway may invoke {function}:{alias}")
            )
        else:
            findings.append(
                Finding(
                    "error",
                    "invoke-permission",
                    f"API Gateway may not invoke {function}:{alias}: requests routed to it "
                    "would get 500",
                    hint,
                )
            )
    return findings


def check_api(client: ClientFactory, target: DoctorTarget) -> list[Finding]:
    """The ``integration`` and ``invoke-permission`` checks of the target's API."""
    if not target.api_id:
        return []
    apigw = client("apigateway")
    try:
        resources = aws_call(apigw, "get_resources", restApiId=target.api_id, embed=["methods"])
        stage = (
            aws_call(apigw, "get_stage", restApiId=target.api_id, stageName=target.stage)
            if target.stage
            else None
        )
    except ApicanaryError as error:
        return [_failed("integration", error)]
    integrations = function_integrations(resources.get("items") or [], target.function)
    aliases = selectable_aliases(integrations, stage)
    return [
        *check_integrations(integrations, target.function),
        *check_invoke_permissions(client("lambda"), target.function, aliases, target.api_id),
    ]


def run_checks(
    client: ClientFactory, target: DoctorTarget, *, now: float | None = None
) -> list[Finding]:
    """Every check of the module docstring, in order. Read-only; never raises for AWS errors."""
    try:
        identity = aws_call(client("sts"), "get_caller_identity")
    except ApicanaryError as error:
        return [_failed("identity", error)]
    caller, account = str(identity.get("Arn")), str(identity.get("Account"))
    findings = [Finding("ok", "identity", f"account {account} as {caller}")]
    findings += check_permissions(client, target, caller, account)
    findings += check_alias(client("lambda"), target, time.time() if now is None else now)
    findings += check_stage_canary(client("apigateway"), target)
    findings += check_alarms(client("cloudwatch"), target.alarms)
    findings += check_api(client, target)
    return findings


__all__ = [
    "REQUIRED_ACTIONS",
    "DoctorTarget",
    "Finding",
    "Integration",
    "allows_apigateway",
    "check_alarms",
    "check_alias",
    "check_api",
    "check_integrations",
    "check_invoke_permissions",
    "check_permissions",
    "check_stage_canary",
    "function_integrations",
    "principal_arn",
    "run_checks",
    "selectable_aliases",
]
