"""`rollout start --backend aws --endpoint-url <engine control port>` judged on per-request
evidence from CloudWatch Logs (issue 13): the engine writes Lambda logs and stage access logs
with a 1 s ingestion delay, the AWS backend reads them with Live Tail and FilterLogEvents.

A bad version is rolled back after a handful of failed canary requests (alias and stage
mode), a 5x slower one by the latency test, and a rollout whose CLI was SIGKILLed is resumed
on a "second machine" (an empty state directory) from its record on AWS and promoted.
One server serves the whole module; every test releases a new version of the same alias.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.canary_project import write_project
from tests.support.local import ServerProcess, aws_client, running_server

ENV = {
    **os.environ,
    "AWS_ACCESS_KEY_ID": "apicanary",
    "AWS_SECRET_ACCESS_KEY": "apicanary",
    "AWS_DEFAULT_REGION": "us-east-1",
}
ACCESS_FORMAT = (
    '{"requestId":"$context.requestId","status":"$context.status",'
    '"responseLatency":"$context.responseLatency","integrationLatency":"$context.integrationLatency"}'
)
HANDLER = """\
# release {release}
import time

def handler(event, context):
    time.sleep({sleep_s})
    if {fail}:
        raise RuntimeError("broken release")
    return {{"statusCode": 200, "body": "ok"}}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    root = tmp_path_factory.mktemp("aws-logs")
    template = write_project(root / "project")
    (root / "project" / "src" / "app.py").write_text(
        HANDLER.format(sleep_s=0.01, fail=False, release=0)
    )
    with running_server(root / "state", template, extra_args=["--logs-delay", "1s"]) as server:
        aws_client(server, "apigateway").update_stage(
            restApiId=server.api_id("canary-api"), stageName="prod",
            patchOperations=[
                {"op": "replace", "path": "/accessLogSettings/destinationArn",
                 "value": "arn:aws:logs:us-east-1:123456789012:log-group:canary-api-prod"},
                {"op": "replace", "path": "/accessLogSettings/format", "value": ACCESS_FORMAT},
            ],
        )  # fmt: skip
        load = Traffic(server)
        load.start()
        try:
            yield server, root
        finally:
            load.stop()


class Traffic:
    """Requests through the API (its integration names the alias) until stopped."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        host = {"Host": f"{self.server.api_id('canary-api')}.execute-api.localhost"}
        with httpx.Client(base_url=self.server.gateway_url, headers=host, timeout=10) as client:
            while not self._stop.is_set():
                client.get("/prod/hello")
                time.sleep(0.01)


def publish(world: tuple[ServerProcess, Path], *, sleep_s: float = 0.01, fail: bool = False) -> str:
    server, root = world
    code = HANDLER.format(sleep_s=sleep_s, fail=fail, release=time.time_ns())  # a new version
    (root / "project" / "src" / "app.py").write_text(code)
    return str(aws_client(server, "lambda").publish_version(FunctionName="Fn")["Version"])


def rollout_command(server: ServerProcess, state: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "apicanary", "rollout", *args, "--backend", "aws",
        "--endpoint-url", server.control_url, "--state-dir", str(state), "--output", "json",
    ]  # fmt: skip


def start(world: tuple[ServerProcess, Path], state: Path, version: str, *args: str) -> Any:
    server, _ = world
    command = rollout_command(server, state, "start", "-f", "Fn", "-a", "live",
                              "--to-version", version, *args)  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=150, env=ENV)


def test_bad_version_rolled_back_from_lambda_logs(world: Any, tmp_path: Path) -> None:
    version = publish(world, fail=True)
    done = start(world, tmp_path, version, "--strategy", "Canary10Percent30Minutes",
                 "--time-scale", "60")  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "rolled_back"
    assert "canary error rate" in document["reason"]
    # per-request evidence: a handful of failures, not a CloudWatch minute of them
    assert 1 <= document["progress"]["canaryErrors"] <= 30
    alias = aws_client(world[0], "lambda").get_alias(FunctionName="Fn", Name="live")
    assert alias["FunctionVersion"] != version and "RoutingConfig" not in alias


def test_bad_version_rolled_back_from_stage_access_logs(world: Any, tmp_path: Path) -> None:
    server, _ = world
    version = publish(world, fail=True)
    done = start(world, tmp_path, version, "--mode", "stage", "--api", "canary-api",
                 "--stage", "prod", "--strategy", "Canary10Percent30Minutes",
                 "--time-scale", "60")  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "rolled_back" and "canary error rate" in document["reason"]
    assert 1 <= document["progress"]["canaryErrors"] <= 30
    stage = aws_client(server, "apigateway").get_stage(
        restApiId=server.api_id("canary-api"), stageName="prod"
    )
    assert "canarySettings" not in stage


def test_five_times_slower_version_rolled_back_by_the_latency_test(
    world: Any, tmp_path: Path
) -> None:
    version = publish(world, sleep_s=0.05)
    done = start(world, tmp_path, version, "--strategy", "Canary10Percent30Minutes",
                 "--time-scale", "30")  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "rolled_back"
    assert "above stable p90" in document["reason"], document["reason"]  # the latency test
    assert document["progress"]["canaryErrors"] == 0


def _running_with_traffic(journal: Path) -> bool:
    if not journal.exists():
        return False
    try:
        with sqlite3.connect(journal) as conn:
            row = conn.execute("SELECT document FROM rollouts WHERE active = 1").fetchone()
    except sqlite3.Error:
        return False
    return bool(row) and json.loads(row[0]).get("effectiveShare", 0) > 0


def test_second_machine_resumes_a_killed_rollout_and_promotes(world: Any, tmp_path: Path) -> None:
    server, _ = world
    version = publish(world)
    first = subprocess.Popen(
        rollout_command(server, tmp_path / "machine-1", "start", "-f", "Fn", "-a", "live",
                        "--to-version", version, "--strategy", "Canary10Percent5Minutes",
                        "--time-scale", "20"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        journal = tmp_path / "machine-1" / "aws" / "state.sqlite3"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _running_with_traffic(journal):
            time.sleep(0.1)
        if not _running_with_traffic(journal):
            first.kill()
            out, err = first.communicate(timeout=10)
            pytest.fail(f"the first CLI never shifted traffic: {out[-2000:]} {err[-2000:]}")
        time.sleep(2)  # some evidence that only the logs will remember
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    alias = aws_client(server, "lambda").get_alias(FunctionName="Fn", Name="live")
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {version: 0.1}

    resumed = subprocess.run(
        rollout_command(server, tmp_path / "machine-2", "resume", "-f", "Fn", "-a", "live"),
        capture_output=True, text=True, timeout=150, env=ENV,
    )  # fmt: skip
    # promoted; a test's few hundred requests cannot verify the release, which the exit
    # code says (4: promoted unverified; the evidence issue)
    assert resumed.returncode == 4, resumed.stdout + resumed.stderr
    document = json.loads(resumed.stdout)
    assert document["status"] == "promoted" and document["unverified"]
    assert document["progress"]["canaryRequests"] > 0
    alias = aws_client(server, "lambda").get_alias(FunctionName="Fn", Name="live")
    assert alias["FunctionVersion"] == version and "RoutingConfig" not in alias
    history = subprocess.run(
        rollout_command(server, tmp_path / "machine-2", "history", document["id"]),
        capture_output=True, text=True, timeout=30, env=ENV,
    )  # fmt: skip
    assert "resumed from its record on AWS" in history.stdout
