"""Does the API reach the alias? The ``integration`` and ``invoke-permission`` checks.

``integration``       every Lambda integration of the API calling the function is
                      alias-qualified (literally, or through ``${stageVariables.x}``);
                      unqualified runs ``$LATEST``.
``invoke-permission`` every alias a stage variable (or its canary override) can name has a
                      resource policy letting ``apigateway.amazonaws.com`` invoke it,
                      otherwise API Gateway answers 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apicanary.arns import integration_target
from apicanary.errors import ApicanaryError, AwsApiError
from apicanary.platform.aws.doctor.target import ClientFactory, DoctorTarget, failed
from apicanary.platform.aws.errors import aws_call
from apicanary.project.findings import Finding

_STAGE_VAR = re.compile(r"^\$\{stageVariables\.([A-Za-z0-9_]+)\}$")


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
            target = integration_target(uri)
            if target and target.name == function:
                found.append(Integration(method, str(resource.get("path")), target.qualifier))
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
                findings.append(failed("invoke-permission", error))
                continue
            answer = {"Policy": "{}"}
        except ApicanaryError as error:
            findings.append(failed("invoke-permission", error))
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
        return [failed("integration", error)]
    integrations = function_integrations(resources.get("items") or [], target.function)
    aliases = selectable_aliases(integrations, stage)
    return [
        *check_integrations(integrations, target.function),
        *check_invoke_permissions(client("lambda"), target.function, aliases, target.api_id),
    ]
