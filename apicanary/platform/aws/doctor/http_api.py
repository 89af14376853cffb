"""Do the HTTP APIs reach the alias, and can the alias be weighted? Two checks.

``http-integration``        every HTTP API (apigatewayv2) integration invoking the function
                            names an alias: HTTP API stages have no canary, so an integration
                            on the unqualified function or ``$LATEST`` never sees a release.
``provisioned-concurrency`` the alias a rollout weights has no provisioned concurrency: AWS
                            refuses provisioned concurrency on a weighted alias ("Alias with
                            weights can not be used with Provisioned Concurrency").
"""

from __future__ import annotations

from typing import Any

from apicanary.arns import split_function_name
from apicanary.engine.apigatewayv2.rules import integration_function
from apicanary.errors import ApicanaryError, AwsApiError
from apicanary.platform.aws.doctor.target import ClientFactory, DoctorTarget, failed
from apicanary.platform.aws.errors import aws_call, paginate
from apicanary.project.findings import Finding

_NO_CONFIG = ("ProvisionedConcurrencyConfigNotFoundException", "ResourceNotFoundException")


def http_integrations(apis_v2: Any, function: str) -> list[tuple[str, str, str | None]]:
    """``(API name, integration id, qualifier)`` of each HTTP API integration invoking
    ``function`` (qualifier ``None``: unqualified)."""
    found = []
    for api in paginate(apis_v2, "get_apis", "Items"):
        if api.get("ProtocolType") != "HTTP":
            continue
        for item in paginate(apis_v2, "get_integrations", "Items", ApiId=api["ApiId"]):
            ref = integration_function(str(item.get("IntegrationUri") or ""))
            parts = split_function_name(ref.rsplit(":function:", 1)[-1]) if ref else None
            if parts is not None and parts[0] == function:
                found.append((str(api.get("Name")), str(item.get("IntegrationId")), parts[1]))
    return found


def check_http_integrations(apis_v2: Any, target: DoctorTarget) -> list[Finding]:
    try:
        integrations = http_integrations(apis_v2, target.function)
    except ApicanaryError as error:
        return [failed("http-integration", error)]
    bare = [f"{api} ({iid})" for api, iid, q in integrations if q in (None, "$LATEST")]
    if bare:
        return [
            Finding(
                "error",
                "http-integration",
                f"HTTP API integration(s) {', '.join(bare)} invoke {target.function} unqualified "
                f"($LATEST), not the alias {target.alias}: no rollout reaches that traffic",
                f"set the IntegrationUri to the alias ARN (…:function:{target.function}:"
                f"{target.alias}); HTTP API stages have no canary, the alias is the release path",
            )
        ]
    if integrations:
        return [
            Finding(
                "ok",
                "http-integration",
                f"every HTTP API integration of {target.function} names an alias",
            )
        ]
    return []


def check_provisioned_concurrency(lam: Any, target: DoctorTarget) -> list[Finding]:
    try:
        config = aws_call(
            lam,
            "get_provisioned_concurrency_config",
            FunctionName=target.function,
            Qualifier=target.alias,
        )
    except AwsApiError as error:
        if error.code in _NO_CONFIG:
            return []
        return [failed("provisioned-concurrency", error)]
    except ApicanaryError as error:
        return [failed("provisioned-concurrency", error)]
    requested = config.get("RequestedProvisionedConcurrentExecutions")
    return [
        Finding(
            "warning",
            "provisioned-concurrency",
            f"alias {target.function}:{target.alias} has provisioned concurrency ({requested}): "
            "while a rollout weights it, AWS refuses provisioned concurrency on it ('Alias with "
            "weights can not be used with Provisioned Concurrency')",
            "do not change the provisioned concurrency during a rollout, or move it to "
            "another alias",
        )
    ]


def check_http_api(client: ClientFactory, target: DoctorTarget) -> list[Finding]:
    """Both checks for the target's function and alias."""
    if not target.function:
        return []
    return [
        *check_http_integrations(client("apigatewayv2"), target),
        *check_provisioned_concurrency(client("lambda"), target),
    ]
