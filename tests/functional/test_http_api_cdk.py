"""The CDK HTTP API example (examples/http-api-cdk) on the local engine, as users run it.

Its committed cdk.out is the synth of an `aws_apigatewayv2.HttpApi` whose routes integrate the
`live` alias (`HttpLambdaIntegration`), with the auto-deployed `$default` stage and a CodeDeploy
deployment group. `apicanary serve` serves it (payload 2.0, no stage prefix); after an edit and
a re-synth, `apicanary deploy` rolls a good release out through the alias and a bad one back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from apicanary.project.loader import load_project
from tests.functional.test_cfn_project import BAD_HANDLER, EXAMPLES, copy_example, run
from tests.support.cdk import resynth_function
from tests.support.local import aws_client, running_server
from tests.support.traffic import SteadyGets

STACK = "HttpApiCdkStack"
FUNCTION = "NotesFunction39171EF9"
ALARM = "NotesErrorsAlarm8EE83941"


def release(project: Path, edit: Callable[[str], str]) -> None:
    """Edit the handler, then do to cdk.out what `cdk synth` does."""
    source = project / "lambda"
    (source / "app.py").write_text(edit((source / "app.py").read_text()))
    resynth_function(project / "cdk.out", STACK, FUNCTION, source)


def test_the_synthesized_http_api_is_read_as_written() -> None:
    project = load_project(EXAMPLES / "http-api-cdk")  # finds cdk.out by itself
    assert project.kind == "cdk"
    (api,) = project.http_apis
    assert (api.name, api.stage_name) == ("notes-cdk", "$default")
    routes = {r.route_key: r for r in api.routes}
    assert set(routes) == {"$default", "GET /notes/{note_id}", "POST /notes"}
    for route in routes.values():  # one HttpLambdaIntegration on the alias, payload 2.0
        assert route.integration.type == "AWS_PROXY"
        assert (route.integration.function, route.integration.qualifier) == (FUNCTION, "live")
        assert route.payload_format_version == "2.0"
    (function,) = project.functions
    assert function.auto_publish_alias == "live"
    assert function.deployment_preference is not None
    assert function.deployment_preference.type == "Canary10Percent5Minutes"
    assert function.deployment_preference.alarms == (ALARM,)
    assert {p.qualifier for p in project.permissions} == {"live"}
    assert not any("ApiGatewayV2" in warning for warning in project.warnings)


def test_doctor_finds_the_integrations_on_the_alias() -> None:
    done = run("doctor", "--output", "json", "--control-url", "http://127.0.0.1:9",
               cwd=EXAMPLES / "http-api-cdk")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {f["level"] for f in json.loads(done.stdout)["findings"]} == {"ok"}


def test_serve_then_a_good_and_a_bad_release_through_the_alias(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = copy_example("http-api-cdk", tmp_path)
    with running_server(tmp_path / "state", project / "cdk.out") as server:
        url = server.gateway_url
        first = httpx.get(f"{url}/notes/n1")  # the $default stage: no prefix
        assert first.status_code == 200, first.text
        assert first.json() == {"id": "n1", "text": "hello"}
        assert first.headers["x-app-version"] == "1"
        created = httpx.post(f"{url}/notes", json={"text": "buy beans"})
        assert created.status_code == 201 and created.json()["id"] == "n2"
        assert httpx.get(f"{url}/health").json()["status"] == "ok"  # the $default route
        assert httpx.get(f"{url}/elsewhere").status_code == 404  # the handler's own 404
        lam = aws_client(server, "lambda")
        assert lam.get_alias(FunctionName=FUNCTION, Name="live")["FunctionVersion"] == "1"

        release(project, lambda text: text.replace('"status": "ok"', '"status": "fine"'))
        good = run("deploy", "--control-url", server.control_url, "--time-scale", "600",
                   "--wait", "--output", "json", cwd=project)  # fmt: skip
        assert good.returncode == 4, good.stderr  # no traffic: promoted, marked unverified
        (rollout,) = json.loads(good.stdout)["rollouts"]
        assert rollout["status"] == "promoted" and rollout["target"]["toVersion"] == "2"
        assert rollout["strategySummary"].startswith(f"10% for 5m → 100%; alarms {ALARM};")
        assert "alias" in rollout["view"]["modeText"]
        health = httpx.get(f"{url}/health")
        assert health.json()["status"] == "fine" and health.headers["x-app-version"] == "2"

        release(project, lambda _: BAD_HANDLER)
        with SteadyGets(server, "/notes/n1"):
            bad = run("deploy", "--control-url", server.control_url, "--time-scale", "30",
                      "--wait", "--output", "json", cwd=project)  # fmt: skip
        assert bad.returncode == 3, bad.stdout + bad.stderr
        (rollout,) = json.loads(bad.stdout)["rollouts"]
        assert rollout["status"] == "rolled_back" and rollout["target"]["toVersion"] == "3"
        assert "canary error rate" in rollout["reason"] or "alarm in ALARM" in rollout["reason"]
        alias = lam.get_alias(FunctionName=FUNCTION, Name="live")
        assert alias["FunctionVersion"] == "2" and "RoutingConfig" not in alias
        after = httpx.get(f"{url}/notes/n1")
        assert after.status_code == 200 and after.headers["x-app-version"] == "2"
