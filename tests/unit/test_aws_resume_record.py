"""The rollout record on AWS (moto's CloudWatch Logs and Lambda): a second machine with an
empty state directory finds the rollout, its strategy, step and start time, and adopts it
with a fresh analysis that re-reads the evidence from the rollout's start."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from apicanary.cli.backends.aws import AwsBackend
from apicanary.errors import BadInputError
from apicanary.platform.aws.rollout_log import GROUP, RolloutLog, stream_name


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c): return 1")
    return buffer.getvalue()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda")
        lam.create_function(FunctionName="fn", Runtime="python3.11", Role=role,
                            Handler="app.handler", Code={"ZipFile": _zip()})  # fmt: skip
        lam.publish_version(FunctionName="fn")
        lam.update_function_code(FunctionName="fn", ZipFile=_zip() + b"")
        lam.publish_version(FunctionName="fn", Description="v2")
        lam.create_alias(FunctionName="fn", Name="live", FunctionVersion="1")
        yield


def backend(state: Path) -> AwsBackend:
    return AwsBackend(state_dir=state, region="us-east-1", profile=None, endpoint_url=None)


def test_second_machine_adopts_the_recorded_rollout(aws: None, tmp_path: Path) -> None:
    first = backend(tmp_path / "one")
    started = first.start(
        {"function": "fn", "alias": "live", "toVersion": "2", "strategy": "Canary10Percent5Minutes"}
    )
    first.controller.reconcile(started["id"])  # the first tick shifts 10 % to version 2
    ticked = first.journal.load(started["id"]).document
    first._record(ticked)
    assert first.record_error is None

    second = backend(tmp_path / "two")  # another machine: an empty journal
    adopted = second.adopt(function="fn", alias="live")
    assert adopted["id"] == started["id"]
    assert adopted["strategy"] == started["strategy"]
    assert (adopted["step"], adopted["weight"], adopted["createdAt"]) == (
        ticked["step"],
        ticked["weight"],
        started["createdAt"],
    )
    assert adopted["cursor"] == {"since": int(started["createdAt"] * 1000), "seen": {}}
    assert adopted["progress"]["canaryRequests"] == 0  # evidence is re-read, not copied
    assert second.journal.load(started["id"]).document["status"] == "running"
    # adopting again is taking the journal's copy, not a second rollout
    assert second.adopt(function="fn", alias="live")["id"] == started["id"]


def test_records_are_per_target_and_newest_wins(aws: None, tmp_path: Path) -> None:
    log = RolloutLog(boto3.client("logs"))
    target = {"mode": "alias", "function": "fn", "alias": "live"}
    old = {"id": "old", "createdAt": 100.0, "target": target, "status": "rolled_back"}
    new = {"id": "new", "createdAt": 200.0, "target": target, "status": "running", "step": 0}
    now = int(time.time() * 1000)  # CloudWatch Logs refuses events older than 14 days
    log.write(old, now - 3)
    log.write(new, now - 2)
    log.write({**new, "step": 2, "analysis": {"big": "x" * 100}}, now - 1)
    found = log.latest("alias/fn/live/")
    assert found is not None and found.stream == stream_name(new)
    assert found.document["step"] == 2 and "analysis" not in found.document
    assert log.latest("alias/fn/live/", "old") is not None
    assert log.latest("alias/fn/other/") is None
    assert GROUP == "/apicanary/rollouts"


def test_nothing_recorded_is_a_clear_error(aws: None, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no rollout of fn:live is recorded on AWS"):
        backend(tmp_path / "x").adopt(function="fn", alias="live")
