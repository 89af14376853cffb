"""What is already there: an alias split, a canary on the stage, alarms in ALARM.

``alias``        the alias exists; a warning if it already splits traffic (with the rollout
                 marker's owner and whether its deadline has passed).
``stage-canary`` a warning if the stage already has ``canarySettings``.
``alarms``       every named alarm exists and none is in ``ALARM`` (the guard would refuse).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apicanary.errors import ApicanaryError
from apicanary.platform.aws.doctor.target import DoctorTarget, failed
from apicanary.platform.aws.errors import aws_call
from apicanary.platform.marker import decode
from apicanary.project.findings import Finding


def check_alias(lam: Any, target: DoctorTarget, now: float) -> list[Finding]:
    name = f"{target.function}:{target.alias}"
    try:
        data = aws_call(lam, "get_alias", FunctionName=target.function, Name=target.alias)
    except ApicanaryError as error:
        return [failed("alias", error)]
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
        return [failed("stage-canary", error)]
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
        return [failed("alarms", error)]
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
