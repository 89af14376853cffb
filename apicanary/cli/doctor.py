"""``apicanary doctor``: pre-flight checks of a project and of the place it will run.

Project checks read the template (``project/doctor.py``). Live checks read the platform:
with the local backend, a running ``apicanary serve`` (through its AWS-compatible port); with
``--backend aws``, AWS itself (``platform/aws/doctor/``: permissions, alias already split,
canary already on the stage, alarms in ALARM, integrations, invoke permissions). Exit 2 when
any check finds an error.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from apicanary.arns import DEFAULT_REGION
from apicanary.cli.client import control_url
from apicanary.cli.output import emit, output_option
from apicanary.cli.template_options import resolve_template, template_options
from apicanary.errors import ApicanaryError, BadInputError
from apicanary.project.doctor import check_project
from apicanary.project.findings import Finding
from apicanary.project.loader import load_project

MARK = {"error": "✗", "warning": "!", "ok": "✓"}


@click.command()
@template_options("to check")
@click.option("--backend", type=click.Choice(["local", "aws"]), default="local", show_default=True)
@click.option("--function", "-f", default=None, help="Function to check live (with --alias).")
@click.option("--alias", "-a", default="live", show_default=True)
@click.option("--api", default=None, help="REST API id whose stage to check.")
@click.option("--stage", default=None)
@click.option("--alarm", "alarms", multiple=True, help="Alarm to check (repeatable).")
@click.option("--control-url", default=None, help="Local server to check (local backend).")
@click.option("--region", default=None)
@click.option("--profile", default=None)
@click.option("--endpoint-url", default=None)
@output_option
def doctor(template: Path | None, cdk_out: Path | None, stack: str | None, backend: str,
           function: str | None, alias: str, api: str | None, stage: str | None,
           alarms: tuple[str, ...], control_url: str | None, region: str | None,
           profile: str | None, endpoint_url: str | None) -> None:  # fmt: skip
    """Pre-flight checks: the template, and the live alias/stage/alarms a rollout will touch."""
    findings: list[dict[str, Any]] = []
    template = resolve_template(template, cdk_out, stack, required=False)
    targets: list[tuple[str, str, tuple[str, ...]]] = []
    if template is not None:
        project = load_project(template)  # a broken template is exit 2 with its own message
        findings += [asdict(f) for f in check_project(project)]
        for spec in project.functions:
            if spec.auto_publish_alias and spec.deployment_preference is not None:
                targets.append((spec.function_name, spec.auto_publish_alias,
                                spec.deployment_preference.alarms))  # fmt: skip
    if function is not None:
        targets = [(function, alias, tuple(alarms))]
    if targets or api:
        findings += _live(backend, targets, api, stage, control_url, region, profile, endpoint_url)
    if not findings:
        raise BadInputError(
            "nothing to check",
            hint="run it in a project directory, or pass --template / --function",
        )
    emit({"findings": findings}, _text)
    errors = [f for f in findings if f["level"] == "error"]
    if errors:
        failure = BadInputError(f"{len(errors)} check(s) failed")
        failure.reported = True
        raise failure


def _live(
    backend: str,
    targets: list[tuple[str, str, tuple[str, ...]]],
    api: str | None,
    stage: str | None,
    url: str | None,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
) -> list[dict[str, Any]]:
    from apicanary.platform.aws import doctor as aws_doctor

    if backend == "aws":
        from apicanary.platform.aws.clients import make_session

        session = make_session(region=region, profile=profile)

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=endpoint_url)

        on_aws: list[dict[str, Any]] = []
        for function, alias, alarms in targets or [("", "", ())]:
            target = aws_doctor.DoctorTarget(function, alias, api, stage, alarms)
            on_aws += [asdict(f) for f in aws_doctor.run_checks(client, target)]
        return on_aws
    import boto3

    base = control_url(url)

    def local_client(service: str) -> Any:
        return boto3.client(
            service, endpoint_url=base, region_name=DEFAULT_REGION,
            aws_access_key_id="apicanary", aws_secret_access_key="apicanary",
        )  # fmt: skip

    import httpx

    try:
        httpx.get(f"{base}/_apicanary/health", timeout=2)
    except httpx.HTTPError:
        skipped = Finding(
            "ok",
            "server",
            f"no server at {base}: live checks skipped",
            "start 'apicanary serve' to check aliases, canaries and alarms",
        )
        return [asdict(skipped)]
    found: list[dict[str, Any]] = []
    try:
        for function, alias, alarms in targets:
            target = aws_doctor.DoctorTarget(function, alias, api, stage, alarms)
            found += [asdict(f) for f in aws_doctor.check_alias(local_client("lambda"), target, 0)]
            found += [
                asdict(f)
                for f in aws_doctor.check_http_integrations(local_client("apigatewayv2"), target)
            ]
            if alarms:
                found += [
                    asdict(f) for f in aws_doctor.check_alarms(local_client("cloudwatch"), alarms)
                ]
        if api and stage:
            target = aws_doctor.DoctorTarget("", "", api, stage)
            found += [
                asdict(f) for f in aws_doctor.check_stage_canary(local_client("apigateway"), target)
            ]
    except ApicanaryError as error:
        found.append(asdict(Finding("error", "server", str(error))))
    return found


def _text(result: dict[str, Any]) -> str:
    lines = []
    for finding in result["findings"]:
        lines.append(f"{MARK[finding['level']]} {finding['check']:<11} {finding['message']}")
        if finding.get("hint") and finding["level"] != "ok":
            lines.append(f"  {'':<11} → {finding['hint']}")
    return "\n".join(lines)
