"""``apicanary metrics`` and ``apicanary alarms``: read CloudWatch from a running server.

Both commands use a real boto3 ``cloudwatch`` client pointed at the control plane
(``--control-url``, else ``APICANARY_CONTROL_URL``, else ``http://127.0.0.1:3001``), with
region ``us-east-1`` and placeholder credentials; ``APICANARY_CONTROL_TOKEN``, when set, is
the access key id (the control plane accepts a SigV4 header whose key id is the token).

Exit codes: 2 for bad input (the message names the flag) or a 4xx answer, 1 when no server
answers (with a hint to run ``apicanary serve``) or on any other failure.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime
from typing import Any

import click

from apicanary.arns import DEFAULT_REGION
from apicanary.cli.client import control_url
from apicanary.cli.output import emit, output_option
from apicanary.engine.cloudwatch.values import parse_percentile
from apicanary.errors import BadInputError, PlatformError

BASIC_STATS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CONTROL_URL_HELP = "Local server (default $APICANARY_CONTROL_URL or http://127.0.0.1:3001)."


def parse_duration(text: str, flag: str) -> float:
    """``"90s"``, ``"15m"``, ``"2h"``, ``"1d"`` → seconds (> 0)."""
    match = _DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise BadInputError(f"{flag} {text!r}: expected a duration such as 90s, 15m, 2h or 1d")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def parse_dimensions(items: tuple[str, ...]) -> list[dict[str, str]]:
    """``("FunctionName=api", ...)`` → CloudWatch ``[{Name, Value}]`` (names unique)."""
    out: list[dict[str, str]] = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise BadInputError(f"--dimension {item!r}: expected Name=Value, e.g. FunctionName=api")
        if any(d["Name"] == name for d in out):
            raise BadInputError(f"--dimension {name} is given twice")
        out.append({"Name": name, "Value": value})
    return out


def check_stat(stat: str) -> str:
    if stat in BASIC_STATS or parse_percentile(stat) is not None:
        return stat
    raise BadInputError(
        f"--stat {stat!r}: expected one of {', '.join(BASIC_STATS)} or a percentile p0-p100 "
        "(p50, p99, p99.9)"
    )


def cloudwatch_client(url: str | None) -> Any:
    """A boto3 CloudWatch client for the local control plane (fails fast, no retries)."""
    import boto3
    from botocore.config import Config

    token = os.environ.get("APICANARY_CONTROL_TOKEN")
    return boto3.client(
        "cloudwatch",
        endpoint_url=control_url(url),
        region_name=DEFAULT_REGION,
        aws_access_key_id=token or "apicanary",
        aws_secret_access_key="apicanary",
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=3,
            read_timeout=30,
        ),
    )


def call(client: Any, operation: str, url: str | None, **params: Any) -> dict[str, Any]:
    """``client.<operation>(**params)``; SDK errors become apicanary errors."""
    from botocore import exceptions as bce

    from apicanary.platform.aws.errors import translate

    try:
        result: dict[str, Any] = getattr(client, operation)(**params)
    except (bce.EndpointConnectionError, bce.ConnectTimeoutError) as exc:
        raise PlatformError(
            f"no apicanary server answers at {control_url(url)}",
            hint="start one with 'apicanary serve' (or pass --control-url)",
        ) from exc
    except Exception as exc:
        raise translate(exc, operation) from exc
    return result


def _iso(ts: Any) -> str:
    if isinstance(ts, datetime):
        return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return datetime.fromtimestamp(float(ts), UTC).isoformat().replace("+00:00", "Z")


@click.command()
@click.option("--namespace", required=True, help="e.g. AWS/Lambda, AWS/ApiGateway.")
@click.option("--metric-name", required=True, help="e.g. Invocations, Errors, Latency.")
@click.option(
    "--dimension",
    "dimensions",
    multiple=True,
    metavar="NAME=VALUE",
    help="A dimension (repeatable); the metric must have exactly these dimensions.",
)
@click.option(
    "--stat",
    default="Sum",
    show_default=True,
    help="SampleCount, Average, Sum, Minimum, Maximum or a percentile (p99).",
)
@click.option("--period", type=int, default=60, show_default=True, help="Seconds per datapoint.")
@click.option("--since", default="15m", show_default=True, help="How far back: 90s, 15m, 2h, 1d.")
@click.option("--control-url", default=None, help=_CONTROL_URL_HELP)
@output_option
def metrics(
    namespace: str,
    metric_name: str,
    dimensions: tuple[str, ...],
    stat: str,
    period: int,
    since: str,
    control_url: str | None,
) -> None:
    """Datapoints of one metric (GetMetricData), oldest first."""
    dims = parse_dimensions(dimensions)
    check_stat(stat)
    if period < 1:
        raise BadInputError(f"--period {period}: must be a whole number of seconds >= 1")
    window = parse_duration(since, "--since")
    end = time.time() + period
    start = end - period - window
    query = {
        "Id": "m",
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric_name, "Dimensions": dims},
            "Period": period,
            "Stat": stat,
        },
    }
    client = cloudwatch_client(control_url)
    stamps: list[Any] = []
    values: list[float] = []
    token: str | None = None
    while True:
        extra = {"NextToken": token} if token else {}
        answer = call(
            client, "get_metric_data", control_url, MetricDataQueries=[query],
            StartTime=start, EndTime=end, ScanBy="TimestampAscending", **extra,
        )  # fmt: skip
        for result in answer.get("MetricDataResults", []):
            stamps += result.get("Timestamps", [])
            values += result.get("Values", [])
        token = answer.get("NextToken")
        if not token:
            break
    data = {
        "namespace": namespace,
        "metricName": metric_name,
        "dimensions": {d["Name"]: d["Value"] for d in dims},
        "stat": stat,
        "period": period,
        "start": _iso(start),
        "end": _iso(end),
        "datapoints": [
            {"timestamp": _iso(t), "value": v} for t, v in zip(stamps, values, strict=True)
        ],
    }
    emit(data, _metrics_text)


def _metrics_text(data: dict[str, Any]) -> str:
    dims = ", ".join(f"{k}={v}" for k, v in data["dimensions"].items())
    title = f"{data['namespace']} {data['metricName']}" + (f" {{{dims}}}" if dims else "")
    header = f"{title}  {data['stat']} per {data['period']}s"
    if not data["datapoints"]:
        return f"{header}\n  no datapoints between {data['start']} and {data['end']}"
    lines = [header, f"  {'TIMESTAMP':<22}{data['stat']:>14}"]
    for point in data["datapoints"]:
        lines.append(f"  {point['timestamp'][:19] + 'Z':<22}{point['value']:>14.6g}")
    return "\n".join(lines)


@click.command()
@click.option("--state", type=click.Choice(STATES), default=None, help="Only alarms in this state.")
@click.option("--prefix", default=None, help="Only alarms whose name starts with this.")
@click.option("--control-url", default=None, help=_CONTROL_URL_HELP)
@output_option
def alarms(state: str | None, prefix: str | None, control_url: str | None) -> None:
    """CloudWatch alarms with their state and the reason for it."""
    client = cloudwatch_client(control_url)
    params: dict[str, Any] = {}
    if state:
        params["StateValue"] = state
    if prefix:
        params["AlarmNamePrefix"] = prefix
    found: list[dict[str, Any]] = []
    while True:
        answer = call(client, "describe_alarms", control_url, **params)
        found += answer.get("MetricAlarms", [])
        if not answer.get("NextToken"):
            break
        params["NextToken"] = answer["NextToken"]
    rows = [
        {
            "name": a["AlarmName"],
            "state": a.get("StateValue"),
            "reason": a.get("StateReason"),
            "updated": _iso(a["StateUpdatedTimestamp"]) if a.get("StateUpdatedTimestamp") else None,
            "metric": _metric_of(a),
            "threshold": a.get("Threshold"),
            "comparison": a.get("ComparisonOperator"),
        }
        for a in found
    ]
    emit({"alarms": rows}, _alarms_text)


def _metric_of(alarm: dict[str, Any]) -> str:
    if alarm.get("Metrics"):
        shown = [
            q.get("Expression") or q["Id"] for q in alarm["Metrics"] if q.get("ReturnData", True)
        ]
        return "math: " + ", ".join(shown)
    return f"{alarm.get('Namespace')} {alarm.get('MetricName')}"


def _alarms_text(data: dict[str, Any]) -> str:
    rows = data["alarms"]
    if not rows:
        return "no alarms"
    width = max(len(r["name"]) for r in rows) + 2
    lines = [f"{'NAME':<{width}}{'STATE':<19}{'UPDATED':<22}REASON"]
    for r in rows:
        updated = (r["updated"] or "")[:19]
        lines.append(f"{r['name']:<{width}}{r['state']:<19}{updated:<22}{r['reason']}")
    return "\n".join(lines)
