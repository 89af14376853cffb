"""`apicanary rollout start --backend aws --endpoint-url <apicanary's own control port>`.

The AWS backend (boto3, in the CLI process) drives our engine through its AWS-compatible
API exactly as it would drive AWS: promotion and rollback, alias and stage modes, and the end
states are read back with plain boto3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.canary_project import set_handler_tag, write_project
from tests.fixtures.evidence_project import set_tag
from tests.fixtures.evidence_project import write_project as write_evidence_project
from tests.support.local import ServerProcess, aws_client, running_server
from tests.support.traffic import Traffic

ENV = {
    **os.environ,
    "AWS_ACCESS_KEY_ID": "apicanary",
    "AWS_SECRET_ACCESS_KEY": "apicanary",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    template = write_project(tmp_path / "project")
    with running_server(tmp_path / "state", template) as srv:
        set_handler_tag(tmp_path / "project", "v2")
        aws_client(srv, "lambda").publish_version(FunctionName="Fn")
        yield srv


def command(server: ServerProcess, tmp_path: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "apicanary", "rollout", "start", "--backend", "aws",
        "--endpoint-url", server.control_url, "--state-dir", str(tmp_path / "aws-journal"),
        "--function", "Fn", "--alias", "live", "--to-version", "2", "--output", "json", *args,
    ]  # fmt: skip


def aws_cli(server: ServerProcess, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(server, tmp_path, *args), capture_output=True, text=True, timeout=240, env=ENV
    )


def aws_cli_with_alarm_firing_later(
    server: ServerProcess, tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """Start the rollout, and only once it is running make the "Breach" alarm fire."""
    stop, breacher = start_breaching_alarm(server)
    process = subprocess.Popen(
        command(server, tmp_path, *args, "--alarm", "Breach"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        journal = tmp_path / "aws-journal" / "aws" / "state.sqlite3"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _has_active_rollout(journal):
            time.sleep(0.1)
        breacher.start()
        out, err = process.communicate(timeout=90)
    finally:
        stop.set()
        if breacher.is_alive():
            breacher.join(5)
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _has_active_rollout(journal: Path) -> bool:
    import sqlite3

    if not journal.exists():
        return False
    try:
        with sqlite3.connect(journal) as conn:
            return bool(conn.execute("SELECT 1 FROM rollouts WHERE active = 1").fetchone())
    except sqlite3.Error:
        return False


def keep_alarm_breaching(server: ServerProcess, stop: threading.Event) -> None:
    cloudwatch = aws_client(server, "cloudwatch")
    while not stop.is_set():
        cloudwatch.put_metric_data(
            Namespace="Test", MetricData=[{"MetricName": "Bad", "Value": 100.0}]
        )
        time.sleep(0.3)


def start_breaching_alarm(server: ServerProcess) -> tuple[threading.Event, threading.Thread]:
    aws_client(server, "cloudwatch").put_metric_alarm(
        AlarmName="Breach", Namespace="Test", MetricName="Bad", Statistic="Maximum",
        Period=1, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=keep_alarm_breaching, args=(server, stop), daemon=True)
    return stop, thread


def test_alias_mode_promotion(server: ServerProcess, tmp_path: Path) -> None:
    # no traffic: promoted as CodeDeploy would, but never as a verified success (exit 4);
    # with no CloudWatch data to measure freshness by, a minute counts as complete once over
    done = aws_cli(server, tmp_path, "--strategy", "Canary10Percent5Minutes", "--time-scale",
                   "300", "--telemetry-delay", "0")  # fmt: skip
    assert done.returncode == 4, done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "promoted" and document["unverified"] is True
    alias = aws_client(server, "lambda").get_alias(FunctionName="Fn", Name="live")
    assert alias["FunctionVersion"] == "2" and "RoutingConfig" not in alias


def test_alias_mode_rollback_on_alarm(server: ServerProcess, tmp_path: Path) -> None:
    hold = tmp_path / "hold.yaml"
    hold.write_text("steps:\n  - setWeight: 20\n  - pause: {}\n")
    done = aws_cli_with_alarm_firing_later(server, tmp_path, "--strategy", str(hold))
    assert done.returncode == 3, done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "rolled_back" and "Breach" in document["reason"]
    alias = aws_client(server, "lambda").get_alias(FunctionName="Fn", Name="live")
    assert alias["FunctionVersion"] == "1" and "RoutingConfig" not in alias


def test_stage_mode_promotion_and_rollback(server: ServerProcess, tmp_path: Path) -> None:
    apigw = aws_client(server, "apigateway")
    api_id = server.api_id("canary-api")
    done = aws_cli(server, tmp_path, "--mode", "stage", "--api", api_id, "--stage", "prod",
                   "--strategy", "Canary10Percent5Minutes", "--time-scale", "300",
                   "--telemetry-delay", "0")  # fmt: skip
    assert done.returncode == 4, done.stderr  # promoted, unverified: no traffic was sent
    stage = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert "canarySettings" not in stage
    assert stage["variables"]["lambdaAlias"] == "2" and stage["variables"]["color"] == "blue"

    # now roll a stage canary back on an alarm: the stage keeps its deployment and variables
    apigw.update_stage(
        restApiId=api_id, stageName="prod",
        patchOperations=[{"op": "replace", "path": "/variables/lambdaAlias", "value": "live"}],
    )  # fmt: skip
    hold = tmp_path / "hold.yaml"
    hold.write_text("steps:\n  - setWeight: 30\n  - pause: {}\n")
    before = apigw.get_stage(restApiId=api_id, stageName="prod")
    done = aws_cli_with_alarm_firing_later(
        server, tmp_path, "--mode", "stage", "--api", api_id, "--stage", "prod",
        "--strategy", str(hold),
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    after = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert "canarySettings" not in after
    assert after["deploymentId"] == before["deploymentId"]
    assert after["variables"] == before["variables"]


@pytest.fixture
def evidence_server(tmp_path: Path) -> Iterator[ServerProcess]:
    template = write_evidence_project(tmp_path / "project")
    with running_server(tmp_path / "state", template) as srv:
        set_tag(tmp_path / "project", "v2")
        aws_client(srv, "lambda").publish_version(FunctionName="Fn")
        yield srv


def test_a_time_scaled_preset_never_promotes_a_bad_version_blind(
    evidence_server: ServerProcess, tmp_path: Path
) -> None:
    """Issue 12, break 2: ten one-minute steps compressed to ten seconds used to outrun
    CloudWatch's minutes and promote a version failing a third of its requests, "0/0". Now
    each step waits for the evidence up to its end, and the first minute read rolls it back."""

    def bad_version(n: int) -> str:  # version 2 raises for a third of the requests
        return "/x?fail=2" if n % 3 == 0 else "/x"

    traffic = Traffic(evidence_server.gateway_url + "/prod", bad_version, clients=3).start()
    try:
        done = aws_cli(
            evidence_server, tmp_path, "--strategy", "Linear10PercentEvery1Minute",
            "--time-scale", "60",
        )  # fmt: skip
    finally:
        traffic.stop()
    assert done.returncode == 3, done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "rolled_back" and "canary error rate" in document["reason"]
    assert document["progress"]["canaryErrors"] > 0
    events = subprocess.run(
        [*command(evidence_server, tmp_path)[:4], "history", document["id"], "--backend", "aws",
         "--state-dir", str(tmp_path / "aws-journal"), "--output", "json"],
        capture_output=True, text=True, timeout=60, env=ENV,
    )  # fmt: skip
    kinds = [e["kind"] for e in json.loads(events.stdout)["events"]]
    # the evidence is read per request from the logs (issue 13): no step was left before it
    # was judged, and the rollback came from it, not from a minute of metrics
    assert "rolled_back" in kinds and "promoted" not in kinds
    alias = aws_client(evidence_server, "lambda").get_alias(FunctionName="Fn", Name="live")
    assert alias["FunctionVersion"] == "1" and "RoutingConfig" not in alias
