"""A SAM project with ``HttpApi`` events (examples/http-api, a Powertools
``APIGatewayHttpResolver`` app, unchanged) served locally with payload format 2.0; a good
release promoted and a bad one rolled back through the ``live`` alias by ``deploy`` under
traffic; stage mode refused on an HTTP API, locally and with ``--backend aws``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.local import aws_client, running_server
from tests.support.traffic import SteadyGets

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "http-api"
ENV = {
    **os.environ,
    "AWS_ACCESS_KEY_ID": "apicanary",
    "AWS_SECRET_ACCESS_KEY": "apicanary",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apicanary", *args], capture_output=True, text=True,
        timeout=180, cwd=cwd, env=ENV,
    )  # fmt: skip


def release(project: Path, edit: str, by: str) -> None:
    source = project / "src" / "app.py"
    text = source.read_text()
    assert edit in text
    source.write_text(text.replace(edit, by))


def test_http_api_project_serves_and_releases_by_alias(tmp_path: Path) -> None:
    project = tmp_path / "http-api"
    shutil.copytree(EXAMPLE, project)
    with running_server(tmp_path / "state", project / "template.yaml") as server:
        (http_api,) = server.info["provisioned"]["httpApis"]
        assert http_api["stage"] == "$default"
        # the only API: served without a stage prefix and without a Host header
        note = httpx.get(f"{server.gateway_url}/notes/n1")
        assert note.status_code == 200, note.text
        assert note.json() == {
            "id": "n1", "text": "hello", "owner": "notes-team", "route": "GET /notes/{note_id}"
        }  # fmt: skip
        assert note.headers["x-app-version"] == "1"
        created = httpx.post(f"{server.gateway_url}/notes", json={"text": "hi"})
        assert created.status_code == 201
        assert created.headers["set-cookie"].startswith("last-note=n2")
        assert httpx.post(f"{server.gateway_url}/notes", json={}).status_code == 400
        # the $default route reaches the resolver, which has no such route
        assert httpx.get(f"{server.gateway_url}/elsewhere").status_code == 404
        host = {"Host": f"{http_api['api_id']}.execute-api.localhost"}
        assert httpx.get(f"{server.gateway_url}/notes/n1", headers=host).status_code == 200

        refused = run(
            "rollout", "start", "--control-url", server.control_url, "-f", "NotesFunction",
            "-a", "live", "--to-version", "1", "--mode", "stage", "--api", "ServerlessHttpApi",
            "--stage", "$default",
        )  # fmt: skip
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "HTTP API stages have no canary on AWS" in refused.stderr
        assert "alias mode" in refused.stderr
        on_aws = run(
            "rollout", "start", "--backend", "aws", "--endpoint-url", server.control_url,
            "--state-dir", str(tmp_path / "aws-journal"), "-f", "NotesFunction", "-a", "live",
            "--to-version", "1", "--mode", "both", "--api", http_api["api_id"], "--stage",
            "$default",
        )  # fmt: skip
        assert on_aws.returncode == 2, on_aws.stdout + on_aws.stderr
        assert "HTTP API stages have no canary on AWS" in on_aws.stderr

        release(project, '"text": text}', '"text": text, "v": 2}')
        good = run("deploy", "--control-url", server.control_url, "--time-scale", "600",
                   "--wait", "--output", "json", cwd=project)  # fmt: skip
        (rollout,) = json.loads(good.stdout)["rollouts"]
        assert rollout["status"] == "promoted"
        # exit 4: promoted, but the canary saw too little traffic to verify it (issue 12)
        assert good.returncode == (4 if rollout["unverified"] else 0), good.stderr
        assert rollout["strategySummary"].startswith("10% for 5m → 100%")
        lam = aws_client(server, "lambda")
        assert lam.get_alias(FunctionName="NotesFunction", Name="live")["FunctionVersion"] == "2"
        assert httpx.get(f"{server.gateway_url}/notes/n1").headers["x-app-version"] == "2"

        release(project, "    note = NOTES.get(note_id)\n", "    raise RuntimeError('bad')\n")
        with SteadyGets(server, "/notes/n1"):
            bad = run("deploy", "--control-url", server.control_url, "--time-scale", "30",
                      "--wait", "--output", "json", cwd=project)  # fmt: skip
        assert bad.returncode == 3, bad.stdout + bad.stderr
        (rollout,) = json.loads(bad.stdout)["rollouts"]
        assert rollout["status"] == "rolled_back"
        assert rollout["target"]["toVersion"] == "3"
        assert "canary error rate" in rollout["reason"]  # judged on the HTTP API's traffic
        alias = lam.get_alias(FunctionName="NotesFunction", Name="live")
        assert alias["FunctionVersion"] == "2" and "RoutingConfig" not in alias
        after = httpx.get(f"{server.gateway_url}/notes/n1")
        assert after.status_code == 200 and after.headers["x-app-version"] == "2"
        # alias mode with --backend aws against the engine's AWS-compatible control port, with
        # the traffic coming through the HTTP API
        release(project, "    raise RuntimeError('bad')\n", "    note = NOTES.get(note_id)\n")
        assert lam.publish_version(FunctionName="NotesFunction")["Version"] == "4"
        with SteadyGets(server, "/notes/n1"):
            on_aws = run(
                "rollout", "start", "--backend", "aws", "--endpoint-url", server.control_url,
                "--state-dir", str(tmp_path / "aws-journal"), "-f", "NotesFunction", "-a", "live",
                "--to-version", "4", "--strategy", "Canary10Percent5Minutes", "--time-scale",
                "300", "--output", "json",
            )  # fmt: skip
        promoted = json.loads(on_aws.stdout)
        assert promoted["status"] == "promoted"
        assert on_aws.returncode == (4 if promoted["unverified"] else 0), on_aws.stderr
        assert lam.get_alias(FunctionName="NotesFunction", Name="live")["FunctionVersion"] == "4"
        assert httpx.get(f"{server.gateway_url}/notes/n1").headers["x-app-version"] == "4"

        # the canary's failures were HTTP API 500s, counted under 5xx by ApiId
        cloudwatch = aws_client(server, "cloudwatch")
        listed = cloudwatch.list_metrics(
            Namespace="AWS/ApiGateway", MetricName="5xx",
            Dimensions=[{"Name": "ApiId", "Value": http_api["api_id"]}],
        )["Metrics"]  # fmt: skip
        assert listed
