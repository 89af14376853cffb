"""AwsPlatform pointed at the local engine's AWS-compatible control port (`--endpoint-url`):
the alias path and the stage-canary path reach the same end states as on the engine,
read back with plain boto3 GetAlias / GetStage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from apicanary.errors import AwsApiError
from apicanary.platform.aws.platform import AwsPlatform
from apicanary.platform.marker import Marker, with_marker, without_marker
from tests.fixtures.canary_project import set_handler_tag, write_project
from tests.support.local import ServerProcess, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("aws-local")
    template = write_project(root / "project")
    with running_server(root / "state", template) as srv:
        srv.info["project"] = str(root / "project")
        yield srv


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _client(server: ServerProcess, service: str) -> Any:
    return boto3.client(service, endpoint_url=server.control_url, region_name="us-east-1")


def test_alias_rollout_end_states(server: ServerProcess, env: None) -> None:
    platform = AwsPlatform.connect(region="us-east-1", endpoint_url=server.control_url)
    lam = _client(server, "lambda")
    set_handler_tag(Path(server.info["project"]), "alias-v2")
    new = platform.publish_version("Fn", description="rollout")
    start = platform.get_alias("Fn", "live")
    marker = Marker("r-alias", new, start.primary, 0, 0.1, 2_000_000_000)
    split = platform.write_alias(
        "Fn",
        "live",
        primary=start.primary,
        canary=new,
        weight=0.1,
        expected_revision=start.revision_id,
        description=with_marker(start.description, marker),
    )
    raw = lam.get_alias(FunctionName="Fn", Name="live")
    assert raw["RoutingConfig"]["AdditionalVersionWeights"] == {new: 0.1}
    assert raw["RevisionId"] == split.revision_id
    assert platform.read_marker("Fn", "live") == marker
    with pytest.raises(AwsApiError) as info:  # a stale revision is a lost update refused
        platform.write_alias(
            "Fn",
            "live",
            primary=start.primary,
            canary=new,
            weight=0.5,
            expected_revision=start.revision_id,
        )
    assert info.value.code == "PreconditionFailedException"
    again = platform.write_alias("Fn", "live", primary=start.primary, canary=new, weight=0.1)
    assert (again.primary, again.canary, again.weight) == (split.primary, new, 0.1)  # idempotent
    done = platform.write_alias(
        "Fn",
        "live",
        primary=new,
        canary=None,
        weight=0.0,
        description=without_marker(split.description),
    )
    raw = lam.get_alias(FunctionName="Fn", Name="live")
    assert raw["FunctionVersion"] == new and "RoutingConfig" not in raw
    assert (done.primary, done.canary, done.description) == (new, None, "")
    assert platform.read_marker("Fn", "live") is None


def test_stage_canary_end_states(server: ServerProcess, env: None) -> None:
    platform = AwsPlatform.connect(region="us-east-1", endpoint_url=server.control_url)
    apigw = _client(server, "apigateway")
    api_id = platform.find_api("canary-api")
    assert api_id == server.api_id("canary-api") == platform.find_api(api_id)
    before = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert "canarySettings" not in before

    made = platform.write_stage_canary(
        api_id, "prod", percent=10, overrides={"lambdaAlias": "canary"}
    )
    raw = apigw.get_stage(restApiId=api_id, stageName="prod")["canarySettings"]
    assert raw["percentTraffic"] == 10.0 and raw["stageVariableOverrides"] == {
        "lambdaAlias": "canary"
    }
    assert made.canary_deployment_id == raw["deploymentId"] != before["deploymentId"]
    shifted = platform.write_stage_canary(
        api_id, "prod", percent=50, overrides={"lambdaAlias": "canary", "color": "green"}
    )
    assert shifted.canary_deployment_id == made.canary_deployment_id  # no second deployment
    raw = apigw.get_stage(restApiId=api_id, stageName="prod")["canarySettings"]
    assert raw["percentTraffic"] == 50.0
    assert raw["stageVariableOverrides"] == {"lambdaAlias": "canary", "color": "green"}

    # rollback: production untouched, canary gone; again is a no-op
    rolled = platform.remove_stage_canary(api_id, "prod")
    raw_stage = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert "canarySettings" not in raw_stage and rolled.canary_percent is None
    assert raw_stage["deploymentId"] == before["deploymentId"]
    assert raw_stage["variables"] == before["variables"]
    assert platform.remove_stage_canary(api_id, "prod") == rolled

    # canary again, then promotion: the canary deployment and overrides become the stage's
    canary = platform.write_stage_canary(
        api_id, "prod", percent=20, overrides={"lambdaAlias": "canary"}
    )
    promoted = platform.promote_stage_canary(api_id, "prod")
    raw_stage = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert "canarySettings" not in raw_stage and promoted.canary_percent is None
    assert raw_stage["deploymentId"] == canary.canary_deployment_id == promoted.deployment_id
    assert raw_stage["variables"] == {**before["variables"], "lambdaAlias": "canary"}
    assert platform.promote_stage_canary(api_id, "prod") == promoted  # re-run converges
