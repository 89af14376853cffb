"""`apicanary rollout ...` as a user runs it: real server process, real CLI processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.canary_project import set_handler_tag, write_project
from tests.support.local import ServerProcess, aws_client, running_server


def cli(
    server: ServerProcess, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apicanary", *args, "--control-url", server.control_url],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    template = write_project(tmp_path / "project")
    with running_server(tmp_path / "state", template, seed=5) as srv:
        yield srv


def publish(server: ServerProcess, project: Path, tag: str, handler: str | None = None) -> str:
    set_handler_tag(project, tag)
    if handler is not None:
        (project / "src" / "app.py").write_text(handler)
    return str(aws_client(server, "lambda").publish_version(FunctionName="Fn")["Version"])


def traffic(server: ServerProcess, stop: threading.Event) -> None:
    host = {"Host": f"{server.api_id('canary-api')}.execute-api.localhost"}
    with httpx.Client(base_url=server.gateway_url, headers=host) as client:
        while not stop.is_set():
            client.get("/prod/hello")


def test_start_wait_promotes_and_history_explains(server: ServerProcess, tmp_path: Path) -> None:
    version = publish(server, tmp_path / "project", "v2")
    done = cli(server, "rollout", "start", "--function", "Fn", "--alias", "live",
               "--to-version", version, "--strategy", "Canary10Percent5Minutes",
               "--time-scale", "300", "--wait", "--output", "json")  # fmt: skip
    assert done.returncode == 4, done.stderr  # no traffic: promoted, but never as verified
    document: dict[str, Any] = json.loads(done.stdout)
    assert document["status"] == "promoted" and document["unverified"] is True
    listed = cli(server, "rollout", "list", "--output", "json")
    assert [r["id"] for r in json.loads(listed.stdout)["rollouts"]] == [document["id"]]
    history = cli(server, "rollout", "history", document["id"])
    assert history.returncode == 0
    assert "canary at 10% of traffic" in history.stdout and "promoted" in history.stdout


def test_bad_release_under_traffic_exits_3(server: ServerProcess, tmp_path: Path) -> None:
    bad = "def handler(event, context):\n    raise RuntimeError('broken release')\n"
    version = publish(server, tmp_path / "project", "v2", handler=bad)
    stop = threading.Event()
    load = threading.Thread(target=traffic, args=(server, stop), daemon=True)
    load.start()
    try:
        done = cli(server, "rollout", "start", "--function", "Fn", "--alias", "live",
                   "--to-version", version, "--strategy", "Canary10Percent30Minutes",
                   "--time-scale", "60", "--wait")  # fmt: skip
    finally:
        stop.set()
        load.join(10)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "rolled_back" in done.stdout + done.stderr
    assert "canary error rate" in done.stdout + done.stderr


def test_intents_pause_resume_abort_and_bad_input(server: ServerProcess, tmp_path: Path) -> None:
    version = publish(server, tmp_path / "project", "v2")
    strategy = tmp_path / "hold.yaml"
    strategy.write_text("steps:\n  - setWeight: 25\n  - pause: {}\n")
    started = cli(server, "rollout", "start", "-f", "Fn", "-a", "live", "--to-version", version,
                  "--strategy", str(strategy), "--output", "json")  # fmt: skip
    assert started.returncode == 0, started.stderr
    rid = json.loads(started.stdout)["id"]
    assert cli(server, "rollout", "abort", rid).returncode == 0
    final = cli(server, "rollout", "status", rid, "--watch", "--output", "json")
    assert final.returncode == 3
    assert json.loads(final.stdout)["status"] == "aborted"

    unknown = cli(server, "rollout", "status", "nope")
    assert unknown.returncode == 2 and "no rollout 'nope'" in unknown.stderr
    bad_strategy = cli(server, "rollout", "start", "-f", "Fn", "-a", "live", "--to-version",
                       version, "--strategy", "Canary10Percent7Minutes")  # fmt: skip
    assert bad_strategy.returncode == 2
    assert "Canary10Percent7Minutes" in bad_strategy.stderr


def test_no_server_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "apicanary", "rollout", "list", "--control-url",
         "http://127.0.0.1:9"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 1
    assert "no apicanary server answers" in done.stderr and "apicanary serve" in done.stderr
