"""`apicanary doctor`: the template's pitfalls, and live checks against a running server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES
from tests.fixtures.canary_project import set_handler_tag, write_project
from tests.support.local import aws_client, running_server

RISKY = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      CanarySetting:
        PercentTraffic: 10
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      AutoPublishAlias: live
      DeploymentPreference:
        Type: Canary10Percent5Minutes
        Alarms: [!Ref PinnedAlarm, ExternalAlarm]
        Hooks:
          PreTraffic: !Ref Smoke
          PostTraffic: MissingHook
      Events:
        Get:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /x, Method: get}
  Smoke:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.11}
  PinnedAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions:
        - {Name: FunctionName, Value: !Ref Fn}
        - {Name: Resource, Value: !Sub "${Fn}:3"}
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
"""


def doctor(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apicanary", "doctor", "--output", "json", *args],
        capture_output=True, text=True, timeout=60, cwd=cwd,
    )  # fmt: skip


def test_the_example_is_clean() -> None:
    done = doctor("--template", str(EXAMPLES / "orders-api" / "template.yaml"),
                  "--control-url", "http://127.0.0.1:9")  # fmt: skip
    assert done.returncode == 0, done.stdout
    levels = {f["level"] for f in json.loads(done.stdout)["findings"]}
    assert levels == {"ok"}


def test_template_pitfalls_are_named(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return {}\n")
    (tmp_path / "template.yaml").write_text(RISKY)
    done = doctor("--control-url", "http://127.0.0.1:9", cwd=tmp_path)
    assert done.returncode == 2
    findings = json.loads(done.stdout)["findings"]
    messages = "\n".join(f"{f['level']} {f['check']} {f['message']}" for f in findings)
    assert "error hooks Fn: hook MissingHook is not a function of this template" in messages
    assert "warning hooks Fn: hook Smoke does not start with CodeDeployHook_" in messages
    assert "alarm PinnedAlarm watches version Fn:3" in messages
    assert "alarm ExternalAlarm is not in the template" in messages
    assert "the two canary shares multiply" in messages


def test_live_checks_see_a_split_alias(tmp_path: Path) -> None:
    template = write_project(tmp_path / "project")
    with running_server(tmp_path / "state", template) as server:
        set_handler_tag(tmp_path / "project", "v2")
        lam = aws_client(server, "lambda")
        version = lam.publish_version(FunctionName="Fn")["Version"]
        lam.update_alias(FunctionName="Fn", Name="live",
                         RoutingConfig={"AdditionalVersionWeights": {version: 0.2}})  # fmt: skip
        done = doctor("--function", "Fn", "--alias", "live", "--control-url", server.control_url)
        findings = json.loads(done.stdout)["findings"]
        split = [f for f in findings if f["check"] == "alias"]
        assert split and split[0]["level"] in ("warning", "error")
        assert "split" in split[0]["message"] or "20" in split[0]["message"]
