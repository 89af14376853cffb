"""``apicanary doctor --backend aws``: pre-flight checks of an AWS setup, as data.

:func:`run_checks` takes a client factory (``session.client`` with the endpoint and retry
config already bound, or a dict lookup in tests) and a :class:`DoctorTarget`, makes
**read-only** calls, and returns a list of :class:`~apicanary.project.findings.Finding` — it
never raises for what AWS answers: a failed call becomes an ``error`` finding naming the call.
Checks, in order:

``identity``          sts GetCallerIdentity: which account and principal the chain resolved to.
``permissions``       may the principal make every call a rollout makes (:mod:`.permissions`).
``alias``             the alias exists and does not already split traffic (:mod:`.state`).
``stage-canary``      the stage has no canary yet (:mod:`.state`).
``alarms``            every named alarm exists and none is in ``ALARM`` (:mod:`.state`).
``integration``       every Lambda integration calling the function names an alias (:mod:`.api`).
``invoke-permission`` API Gateway may invoke every alias the stage can select (:mod:`.api`).
``log-format``        the function's log format, and what JSON adds (:mod:`.logs`).
``access-log``        stage mode: an access log whose format carries what the reader needs
                      (:mod:`.logs`).
``http-integration``  every HTTP API integration calling the function names an alias
                      (:mod:`.http_api`).
``provisioned-concurrency`` the alias a rollout weights has no provisioned concurrency
                      (:mod:`.http_api`).
"""

import time

from apicanary.errors import ApicanaryError
from apicanary.platform.aws.doctor.api import (
    Integration,
    allows_apigateway,
    check_api,
    check_integrations,
    check_invoke_permissions,
    function_integrations,
    selectable_aliases,
)
from apicanary.platform.aws.doctor.http_api import (
    check_http_api,
    check_http_integrations,
    check_provisioned_concurrency,
)
from apicanary.platform.aws.doctor.logs import check_logs
from apicanary.platform.aws.doctor.permissions import (
    REQUIRED_ACTIONS,
    check_permissions,
    principal_arn,
)
from apicanary.platform.aws.doctor.state import check_alarms, check_alias, check_stage_canary
from apicanary.platform.aws.doctor.target import ClientFactory, DoctorTarget, failed
from apicanary.platform.aws.errors import aws_call
from apicanary.project.findings import Finding


def run_checks(
    client: ClientFactory, target: DoctorTarget, *, now: float | None = None
) -> list[Finding]:
    """Every check of the module docstring, in order. Read-only; never raises for AWS errors."""
    try:
        identity = aws_call(client("sts"), "get_caller_identity")
    except ApicanaryError as error:
        return [failed("identity", error)]
    caller, account = str(identity.get("Arn")), str(identity.get("Account"))
    findings = [Finding("ok", "identity", f"account {account} as {caller}")]
    findings += check_permissions(client, target, caller, account)
    findings += check_alias(client("lambda"), target, time.time() if now is None else now)
    findings += check_stage_canary(client("apigateway"), target)
    findings += check_alarms(client("cloudwatch"), target.alarms)
    findings += check_api(client, target)
    findings += check_http_api(client, target)
    findings += check_logs(client, target)
    return findings


__all__ = [
    "REQUIRED_ACTIONS",
    "DoctorTarget",
    "Integration",
    "allows_apigateway",
    "check_alarms",
    "check_alias",
    "check_api",
    "check_http_api",
    "check_http_integrations",
    "check_integrations",
    "check_invoke_permissions",
    "check_logs",
    "check_permissions",
    "check_provisioned_concurrency",
    "check_stage_canary",
    "function_integrations",
    "principal_arn",
    "run_checks",
    "selectable_aliases",
]
