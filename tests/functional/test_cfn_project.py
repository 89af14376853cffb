"""CloudFormation and CDK projects on the local engine, as users run them: `apicanary serve`
on the hand-written CloudFormation example and on the CDK example's committed cdk.out, then a
good release that is promoted and a bad one that is rolled back, with `apicanary deploy`."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from apicanary.engine.engine import Engine
from apicanary.engine.provision import provision
from apicanary.project.loader import load_project
from apicanary.project.specs import Project
from apicanary.server.process import free_port
from tests.support.cdk import resynth_function
from tests.support.local import aws_client, running_server
from tests.support.traffic import SteadyGets

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CDK_STACK = "OrdersCdkStack"
CDK_FUNCTION = "OrdersFunctionC129706A"
BAD_HANDLER = "def handler(event, context):\n    raise RuntimeError('broken release')\n"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apicanary", *args], capture_output=True, text=True,
        timeout=180, cwd=cwd,
    )  # fmt: skip


def copy_example(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def cdk_release(project: Path, edit: Callable[[str], str]) -> None:
    """Edit the CDK app's handler, then do what `cdk synth` does to cdk.out."""
    source = project / "lambda"
    (source / "app.py").write_text(edit((source / "app.py").read_text()))
    resynth_function(project / "cdk.out", CDK_STACK, CDK_FUNCTION, source)


def cfn_release(project: Path, edit: Callable[[str], str]) -> None:
    source = project / "src" / "app.py"
    source.write_text(edit(source.read_text()))


CASES = {
    # example, what `serve -t` gets, the function's local name, its alarm, how to release
    "cdk": ("orders-cdk", "cdk.out", CDK_FUNCTION, "OrdersErrorsAlarm7E1ABCF3", cdk_release),
    "cloudformation": ("orders-cfn", ".", "orders-cfn", "orders-cfn-live-errors", cfn_release),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_serve_then_a_good_and_a_bad_release(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    example, served, function, alarm, release = CASES[case]
    project = copy_example(example, tmp_path)
    with running_server(tmp_path / "state", project / served) as server:
        first = httpx.get(f"{server.gateway_url}/prod/orders/1001")
        assert first.status_code == 200, first.text
        assert first.json()["id"] == "1001" and first.headers["x-app-version"] == "1"
        assert httpx.get(f"{server.gateway_url}/prod/health").json()["status"] == "ok"
        lam = aws_client(server, "lambda")
        assert lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == "1"

        unchanged = run("deploy", "--control-url", server.control_url, "--output", "json",
                        cwd=project)  # fmt: skip
        assert unchanged.returncode == 0, unchanged.stderr
        assert json.loads(unchanged.stdout)["rollouts"] == []

        release(project, lambda text: text.replace('"ok"', '"fine"'))
        good = run("deploy", "--control-url", server.control_url, "--time-scale", "600",
                   "--wait", "--output", "json", cwd=project)  # fmt: skip
        assert good.returncode == 4, good.stderr  # no traffic: promoted, marked unverified
        (rollout,) = json.loads(good.stdout)["rollouts"]
        assert rollout["status"] == "promoted" and rollout["unverified"] is True
        assert rollout["target"]["toVersion"] == "2"
        # the deployment group's config and alarm: CodeDeployDefault.LambdaCanary10Percent5Minutes
        assert rollout["strategySummary"].startswith(f"10% for 5m → 100%; alarms {alarm};")
        assert lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == "2"
        health = httpx.get(f"{server.gateway_url}/prod/health")
        assert health.json()["status"] == "fine" and health.headers["x-app-version"] == "2"

        release(project, lambda _: BAD_HANDLER)
        with SteadyGets(server, "/prod/orders"):
            bad = run("deploy", "--control-url", server.control_url, "--time-scale", "30",
                      "--wait", "--output", "json", cwd=project)  # fmt: skip
        assert bad.returncode == 3, bad.stdout + bad.stderr
        (rollout,) = json.loads(bad.stdout)["rollouts"]
        assert rollout["status"] == "rolled_back"
        assert rollout["target"]["toVersion"] == "3"
        assert "canary error rate" in rollout["reason"] or "alarm in ALARM" in rollout["reason"]
        alias = lam.get_alias(FunctionName=function, Name="live")
        assert alias["FunctionVersion"] == "2" and "RoutingConfig" not in alias
        after = httpx.get(f"{server.gateway_url}/prod/orders")
        assert after.status_code == 200 and after.headers["x-app-version"] == "2"


def test_routing_config_is_honoured_when_the_alias_is_created(tmp_path: Path) -> None:
    """The alias starts with the template's RoutingConfig when the versions it weights exist;
    otherwise it starts unweighted and the start-up warnings say why."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return {}\n")

    def project(name: str, weights: str = "") -> Project:
        routing = (
            f"      RoutingConfig:\n        AdditionalVersionWeights:\n{weights}" if weights else ""
        )
        template = tmp_path / "template.yaml"
        template.write_text(ALIAS_STACK.format(name=name, routing=routing))
        return load_project(template)

    engine = Engine(tmp_path / "state")
    try:
        first = provision(engine, project("live"))
        assert first.functions[0].alias_version == "1" and first.warnings == []
        (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return {'v': 2}\n")
        assert provision(engine, project("live")).functions[0].pending_version == "2"

        weighted = provision(engine, project("beta", WEIGHT.format(version="1")))
        beta = engine.lambdas.get_alias("fn", "beta")
        assert beta["FunctionVersion"] == "2"
        assert beta["RoutingConfig"] == {"AdditionalVersionWeights": {"1": 0.25}}
        assert weighted.warnings == []

        missing = provision(engine, project("gamma", WEIGHT.format(version="9")))
        assert "RoutingConfig" not in engine.lambdas.get_alias("fn", "gamma")
        assert missing.warnings == [
            "fn:gamma starts at version 2 without its RoutingConfig: version 9 does not exist "
            "locally"
        ]
        own = provision(engine, project("delta", WEIGHT.format(version="2")))
        assert own.warnings == [
            "fn:delta starts at version 2 without its RoutingConfig: it weights version 2, the "
            "alias's own"
        ]
        # an existing alias is a rollout's to move: the template's weights are not re-applied
        engine.lambdas.update_alias(
            "fn", "beta", {"RoutingConfig": {"AdditionalVersionWeights": {}}}
        )
        provision(engine, project("beta", WEIGHT.format(version="1")))
        assert "RoutingConfig" not in engine.lambdas.get_alias("fn", "beta")
    finally:
        asyncio.run(engine.aclose())


ALIAS_STACK = """\
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties: {{FunctionName: fn, Runtime: python3.12, Handler: app.handler, Code: src}}
  Version:
    Type: AWS::Lambda::Version
    Properties: {{FunctionName: !Ref Fn}}
  Alias:
    Type: AWS::Lambda::Alias
    Properties:
      FunctionName: !Ref Fn
      FunctionVersion: !GetAtt Version.Version
      Name: {name}
{routing}"""
WEIGHT = "          - {{FunctionVersion: '{version}', FunctionWeight: 0.25}}\n"


def test_malformed_templates_exit_2_naming_resource_and_property(tmp_path: Path) -> None:
    project = copy_example("orders-cfn", tmp_path)
    template = project / "template.yaml"
    template.write_text(template.read_text().replace("HttpMethod: GET", "HttpMethod: FETCH", 1))
    for command in (["doctor"], ["serve", "--port", "9", "--control-port", "9"]):
        done = run(*command, "--template", str(project), cwd=tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert (
            'template.yaml: Resources.ListOrdersMethod.Properties.HttpMethod: "FETCH" is not an '
            "HTTP method" in done.stderr
        )


def test_serve_a_named_stack_and_list_what_is_skipped_once(tmp_path: Path) -> None:
    """`serve --cdk-out DIR --stack NAME`: the ready message names the routes, and the resource
    types the engine does not emulate in one warning line."""
    project = copy_example("orders-cdk", tmp_path)
    port, control = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "apicanary", "serve", "--cdk-out", str(project / "cdk.out"),
         "--stack", CDK_STACK, "--port", str(port), "--control-port", str(control),
         "--state-dir", str(tmp_path / "state")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(8)]
        text = "".join(lines)
        assert "route          GET /prod/orders/{id}" in text, text
        assert text.count("warning") == 1
        assert "warning        not emulated locally (ignored): AWS::IAM::Role ×2" in text
        assert httpx.get(f"http://127.0.0.1:{port}/prod/health").json()["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)


def test_doctor_on_the_examples() -> None:
    cdk = run("doctor", "--output", "json", "--control-url", "http://127.0.0.1:9",
              cwd=EXAMPLES / "orders-cdk")  # fmt: skip
    assert cdk.returncode == 0, cdk.stderr
    assert {f["level"] for f in json.loads(cdk.stdout)["findings"]} == {"ok"}
    cfn = run("doctor", "--output", "json", "--control-url", "http://127.0.0.1:9",
              cwd=EXAMPLES / "orders-cfn")  # fmt: skip
    assert cfn.returncode == 0, cfn.stderr
    findings = json.loads(cfn.stdout)["findings"]
    # its stage keeps a canary slot (at 0%) beside the deployment group: doctor says so
    assert [(f["level"], f["check"]) for f in findings if f["level"] != "ok"] == [
        ("warning", "layers")
    ]
