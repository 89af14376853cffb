"""`apicanary init` then `serve` then `deploy`: the tutorial's path, as processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.local import aws_client, running_server


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

        # in the project directory, as the tutorial does: -t defaults to ./template.yaml
        unchanged = run(
            "deploy", "--control-url", server.control_url, "--output", "json", cwd=project
        )
        assert unchanged.returncode == 0, unchanged.stderr
        assert json.loads(unchanged.stdout)["rollouts"] == []

        source = project / "src" / "app.py"
        source.write_text(source.read_text().replace("Hello, ", "Hi, "))
        deployed = run("deploy", "--control-url", server.control_url, "--time-scale", "600",
                       "--wait", "--output", "json", cwd=project)  # fmt: skip
        assert deployed.returncode == 4, deployed.stderr  # no traffic: promoted, unverified
        result = json.loads(deployed.stdout)
        (rollout,) = result["rollouts"]
        assert rollout["status"] == "promoted" and rollout["unverified"] is True
        assert rollout["target"]["toVersion"] == "2"
        assert "alarms HelloErrorsAlarm" in rollout["strategySummary"]
        lam = aws_client(server, "lambda")
        assert lam.get_alias(FunctionName="HelloFunction", Name="live")["FunctionVersion"] == "2"
        assert httpx.get(f"{server.gateway_url}/Prod/hello").json()["message"] == "Hi, world!"


def test_deploy_names_the_template_the_server_serves(tmp_path: Path) -> None:
    """`deploy -t` like every command that reads a project; another template than the served
    one is exit 2 naming both, and nothing is published."""
    served, other = tmp_path / "served", tmp_path / "other"
    assert run("init", str(served)).returncode == 0
    assert run("init", str(other)).returncode == 0
    with running_server(tmp_path / "state", served / "template.yaml") as server:
        url = ("--control-url", server.control_url)
        source = served / "src" / "app.py"
        source.write_text(source.read_text().replace("Hello, ", "Hi, "))

        elsewhere = run("deploy", *url, cwd=tmp_path)  # ./template.yaml: not there
        assert elsewhere.returncode == 2, elsewhere.stderr
        assert str(tmp_path / "template.yaml") in elsewhere.stderr
        assert str(served / "template.yaml") in elsewhere.stderr

        wrong = run("deploy", *url, "-t", str(other / "template.yaml"), "--output", "json")
        assert wrong.returncode == 2, wrong.stderr
        error = json.loads(wrong.stdout)["error"]
        assert error["type"] == "BadInputError"
        assert error["message"] == (
            f"template {other / 'template.yaml'} is not the one this server serves: "
            f"{served / 'template.yaml'}"
        )
        assert f"apicanary serve -t {other / 'template.yaml'}" in error["hint"]  # the way out

        lam = aws_client(server, "lambda")
        assert lam.get_alias(FunctionName="HelloFunction", Name="live")["FunctionVersion"] == "1"
        assert len(lam.list_versions_by_function(FunctionName="HelloFunction")["Versions"]) == 2

        # the server cannot tell what a relative path was relative to
        relative = httpx.post(
            f"{server.control_url}/_apicanary/deploy", json={"template": "template.yaml"}
        )
        assert relative.status_code == 400
        assert relative.json()["error"]["message"] == (
            "template: 'template.yaml' must be an absolute path"
        )

        # the project directory stands for its template, from any working directory
        right = run("deploy", *url, "--template", str(served), "--output", "json", cwd=other)
        assert right.returncode == 0, right.stderr
        (rollout,) = json.loads(right.stdout)["rollouts"]
        assert rollout["target"]["toVersion"] == "2"


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
