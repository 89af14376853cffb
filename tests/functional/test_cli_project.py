"""`apicanary init` then `serve` then `deploy`: the tutorial's path, as processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import httpx

from tests.support.local import running_server


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apicanary", *args], capture_output=True, text=True,
        timeout=120, cwd=cwd,
    )  # fmt: skip


def test_init_serve_edit_deploy(tmp_path: Path) -> None:
    project = tmp_path / "hello"
    created = run("init", str(project))
    assert created.returncode == 0, created.stderr
    assert (project / "template.yaml").is_file() and (project / "src" / "app.py").is_file()
    again = run("init", str(project))
    assert again.returncode == 2 and "already exists" in again.stderr  # never overwrites

    with running_server(tmp_path / "state", project / "template.yaml") as server:
        hello = httpx.get(f"{server.gateway_url}/Prod/hello", params={"name": "ada"})
        assert hello.status_code == 200 and hello.json()["message"] == "Hello, ada!"
        assert hello.headers["x-app-version"] == "1"

        unchanged = run("deploy", "--control-url", server.control_url, "--output", "json")
        assert unchanged.returncode == 0
        assert json.loads(unchanged.stdout)["rollouts"] == []

        source = project / "src" / "app.py"
        source.write_text(source.read_text().replace("Hello, ", "Hi, "))
        deployed = run("deploy", "--control-url", server.control_url, "--time-scale", "600",
                       "--wait", "--output", "json")  # fmt: skip
        assert deployed.returncode == 0, deployed.stderr
        result = json.loads(deployed.stdout)
        (rollout,) = result["rollouts"]
        assert rollout["status"] == "promoted"
        assert rollout["target"]["toVersion"] == "2"
        assert "alarms HelloErrorsAlarm" in rollout["strategySummary"]
        lam = boto3.client(
            "lambda", endpoint_url=server.control_url, region_name="us-east-1",
            aws_access_key_id="x", aws_secret_access_key="x",
        )  # fmt: skip
        assert lam.get_alias(FunctionName="HelloFunction", Name="live")["FunctionVersion"] == "2"
        assert httpx.get(f"{server.gateway_url}/Prod/hello").json()["message"] == "Hi, world!"


def test_deploy_without_a_server_explains(tmp_path: Path) -> None:
    done = run("deploy", "--control-url", "http://127.0.0.1:9")
    assert done.returncode == 1 and "apicanary serve" in done.stderr


def test_serve_with_the_default_relative_state_dir(tmp_path: Path) -> None:
    """The tutorial's path: `apicanary serve` in the project directory, state in ./.apicanary
    (relative), and the handler must still import in its worker."""
    import os
    import signal

    from apicanary.server.process import free_port

    assert run("init", str(tmp_path / "hello")).returncode == 0
    port, control = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "apicanary", "serve", "--port", str(port), "--control-port",
         str(control), "--output", "json"],
        cwd=tmp_path / "hello", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        text = ""
        while True:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            text += line
            try:
                json.loads(text)
                break
            except json.JSONDecodeError:
                continue
        answer = httpx.get(f"http://127.0.0.1:{port}/Prod/hello")
        assert answer.status_code == 200, answer.text
        assert (tmp_path / "hello" / ".apicanary" / "state.sqlite3").is_file()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
