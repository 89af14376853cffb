"""``apicanary serve``: the local engine, gateway and control plane, from a project's template
(SAM, CloudFormation or a CDK ``cdk.out``)."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

import click

from apicanary.cli.loop import run_event_loop
from apicanary.cli.output import emit, output_option
from apicanary.cli.template_options import resolve_template, template_options
from apicanary.engine.functions.runtime.policy import (
    AWS_ACCOUNT_CONCURRENCY,
    DEFAULT_IDLE_TIMEOUT_S,
)
from apicanary.engine.functions.states import DEFAULT_DELAY_S, MAX_DELAY_S
from apicanary.engine.telemetry import DEFAULT_TELEMETRY_CAPACITY
from apicanary.errors import BadInputError


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str) -> None:
    """Refuse a non-loopback bind unless control-plane credentials are configured."""
    if not _is_loopback(host) and not os.environ.get("APICANARY_CONTROL_TOKEN"):
        raise BadInputError(
            f"--host {host} is not a loopback address and no credentials are configured",
            hint="set APICANARY_CONTROL_TOKEN to a secret (control calls then need "
            "'Authorization: Bearer <token>'), or bind to 127.0.0.1",
        )


MAX_LOGS_DELAY_S = 600.0
_LOGS_DELAY = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)?$")


def parse_logs_delay(text: str) -> float:
    """``"5s"``, ``"500ms"``, ``"1m"``, ``"2"`` (seconds) → seconds in [0, 600]."""
    match = _LOGS_DELAY.match(text.strip())
    if match is None:
        raise click.BadParameter(
            f"{text!r} is not a duration: expected e.g. 5s, 500ms or 0", param_hint="--logs-delay"
        )
    seconds = float(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[match.group(2)]
    if seconds > MAX_LOGS_DELAY_S:
        raise click.BadParameter(
            f"{text!r} is {seconds:g} s; the limit is {MAX_LOGS_DELAY_S:g} s",
            param_hint="--logs-delay",
        )
    return seconds


@click.command()
@template_options("to serve")
@click.option("--port", type=int, default=3000, show_default=True, help="Gateway port.")
@click.option("--control-port", type=int, default=3001, show_default=True,
              help="Control-plane port (AWS APIs, /_apicanary, dashboard).")  # fmt: skip
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path(".apicanary"),
              show_default=True)  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--seed", type=int, default=None, help="Seed the traffic-split RNG (reproducible).")
@click.option("--lambda-state-delay", type=click.FloatRange(0, MAX_DELAY_S),
              default=DEFAULT_DELAY_S, show_default=True, metavar="SECONDS",
              help="How long a Lambda create or update stays Pending/InProgress, as on AWS "
              "(0: settled at once).")  # fmt: skip
@click.option("--edge-headers", is_flag=True, default=False,
              help="Add the headers an edge-optimized API's events carry (Via, X-Amz-Cf-Id, "
              "CloudFront-*); without it events carry a regional API's (X-Forwarded-*, "
              "X-Amzn-Trace-Id).")  # fmt: skip
@click.option("--record", type=click.Path(path_type=Path), default=None,
              help="Capture the requests served as JSON lines, for 'rehearse --replay' "
                   "(default: the state directory's recording.json, if any).")  # fmt: skip
@click.option("--record-redact", multiple=True, metavar="HEADER",
              help="Record this header's value as REDACTED (Authorization and Cookie always "
                   "are). Repeatable.")  # fmt: skip
@click.option("--logs-delay", default="0s", show_default=True, metavar="DURATION",
              callback=lambda ctx, param, value: parse_logs_delay(value),
              help="CloudWatch Logs ingestion delay: log events become visible to "
              "FilterLogEvents, GetLogEvents and Live Tail this long after they are written "
              "(e.g. 5s, 500ms; AWS's is reported at a few seconds to ~20 s).")  # fmt: skip
@click.option("--max-environments", type=click.IntRange(1, AWS_ACCOUNT_CONCURRENCY),
              default=None, metavar="N",
              help="At most N execution environments (worker processes) and N concurrent "
                   "invocations; beyond, invocations are throttled (429). Default: up to "
                   "1,000 within a MemorySize budget of half the machine's RAM.")  # fmt: skip
@click.option("--idle-timeout", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_IDLE_TIMEOUT_S, show_default=True, metavar="SECONDS",
              help="Stop an execution environment idle for this long.")  # fmt: skip
@click.option("--telemetry-buffer", type=click.IntRange(100, 10_000_000),
              default=DEFAULT_TELEMETRY_CAPACITY, show_default=True, metavar="RECORDS",
              help="Request records kept for the rollout controller (two per gateway "
                   "request; in memory and under STATE_DIR/telemetry, so a restart resumes "
                   "them); a controller further behind notes the gap.")  # fmt: skip
@output_option
def serve(
    template: Path | None,
    cdk_out: Path | None,
    stack: str | None,
    port: int,
    control_port: int,
    state_dir: Path,
    host: str,
    seed: int | None,
    lambda_state_delay: float,
    edge_headers: bool,
    record: Path | None,
    record_redact: tuple[str, ...],
    logs_delay: float,
    max_environments: int | None,
    idle_timeout: float,
    telemetry_buffer: int,
) -> None:
    """Run the local engine: gateway, AWS-compatible control plane and rollout scheduler."""
    from apicanary.engine.gateway.recording import resolve_settings
    from apicanary.server.app import LocalServer

    check_exposure(host)
    template = resolve_template(template, cdk_out, stack, required=False)
    server = LocalServer(
        state_dir=state_dir,
        template=template,
        host=host,
        gateway_port=port,
        control_port=control_port,
        seed=seed,
        lambda_state_delay=lambda_state_delay,
        logs_delay=logs_delay,
        edge_headers=edge_headers,
        recording=resolve_settings(state_dir, record, record_redact),
        max_environments=max_environments,
        idle_timeout_s=idle_timeout,
        telemetry_capacity=telemetry_buffer,
    )

    def ready() -> None:
        info = server.describe()
        emit(info, _ready_text)

    run_event_loop(server.run(on_ready=ready))


def _ready_text(info: dict[str, object]) -> str:
    lines = [
        f"apicanary {info['version']} ready",
        f"  gateway        {info['gatewayUrl']}",
        f"  control plane  {info['controlUrl']}  (boto3/aws --endpoint-url, dashboard at /)",
        f"  state          {info['stateDir']}",
    ]
    if info.get("recording"):
        lines.append(f"  recording to   {info['recording']}")
    for route in info.get("routes", []) or []:  # type: ignore[attr-defined]
        lines.append(f"  route          {route}")
    for warning in info.get("warnings", []) or []:  # type: ignore[attr-defined]
        lines.append(f"  warning        {warning}")
    return "\n".join(lines)
