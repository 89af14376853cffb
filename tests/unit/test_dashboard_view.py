"""The dashboard's view-model: a pure function of the engine state, the rollouts and the clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apicanary.clock import VirtualClock
from apicanary.engine.engine import Engine
from apicanary.engine.functions.model import LambdaInvocation
from apicanary.rollout.state import Phase, RolloutState, Status
from apicanary.rollout.strategy.parse import parse_strategy
from apicanary.rollout.target import RolloutTarget
from apicanary.server.dashboard import build_view
from tests.support.apigw import make_api
from tests.support.lambda_zips import handler_zip

T0 = 1_700_000_000.0  # a multiple of 5 and 60: periods line up with the test's seconds


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = Engine(tmp_path / "state", clock=VirtualClock(T0))
    lam = eng.lambdas
    lam.create_function(
        {"FunctionName": "api", "Runtime": "python3.11", "Handler": "app.handler",
         "Code": {"ZipFile": handler_zip("return {'statusCode': 200}")}, "Publish": True}
    )  # fmt: skip
    lam.update_function_code("api", {"ZipFile": handler_zip("return {'statusCode': 201}")})
    lam.publish_version("api", {})
    lam.create_alias(
        "api",
        {"Name": "live", "FunctionVersion": "1",
         "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.2}}},
    )  # fmt: skip
    yield eng
    asyncio.run(eng.aclose())


def invocation(at: float, version: str, duration: float, error: bool = False) -> LambdaInvocation:
    return LambdaInvocation(
        timestamp=at,
        request_id="r",
        function_name="api",
        qualifier="live",
        executed_version=version,
        duration_ms=duration,
        function_error="Unhandled" if error else None,
        error_type="RuntimeError" if error else None,
        throttled=False,
        cold_start=False,
        init_duration_ms=None,
    )


def rollout(rid: str, *, terminal: bool, ended: float | None = None) -> dict[str, Any]:
    target = RolloutTarget(function="api", alias="live", from_version="1", to_version="2")
    strategy = parse_strategy({"steps": [{"setWeight": 20}, {"pause": {}}]})
    state = RolloutState(
        id=rid, target=target, strategy=strategy, created_at=T0 - 200, phase=Phase.STEPS,
        step=1, weight=20.0, effective_share=20.0, analysis={"internal": "state"}, cursor=17,
        updated_at=ended or T0,
    )  # fmt: skip
    if terminal:
        state.end(Status.PROMOTED, "promoted", ended or T0, share=100.0)
    else:
        state.move(Status.WAITING)
    return state.to_dict()


def test_functions_apis_and_rollouts(engine: Engine) -> None:
    api = make_api(engine.apigateway, "shop")
    stable = engine.apigateway.create_deployment(
        api.id, {"stageName": "prod", "variables": {"alias": "live"}}
    )["id"]
    canary = engine.apigateway.create_deployment(
        api.id,
        {"stageName": "prod",
         "canarySettings": {"percentTraffic": 10, "stageVariableOverrides": {"alias": "canary"}}},
    )["id"]  # fmt: skip
    http = engine.http_apis.create_api(
        {"name": "notes", "protocolType": "HTTP",
         "target": "arn:aws:lambda:us-east-1:123456789012:function:api:live"}
    )  # fmt: skip
    documents = [
        rollout("old", terminal=True, ended=T0 - 100),
        rollout("now", terminal=False),
        rollout("newer", terminal=True, ended=T0 - 10),
    ]
    view = build_view(engine, documents, now=T0, runtime={"workers": 3})

    assert view["functions"] == [
        {"name": "api", "versions": ["1", "2"], "reservedConcurrency": None,
         "aliases": [{"name": "live", "version": "1", "weights": {"1": 80.0, "2": 20.0}}]},
    ]  # fmt: skip
    http_deployment = engine.http_apis.get_stage(http["apiId"], "$default")["deploymentId"]
    assert view["apis"] == [
        {"id": api.id, "name": "shop", "kind": "REST",
         "stages": [{"name": "prod", "deploymentId": stable, "variables": {"alias": "live"},
                     "canary": {"percentTraffic": 10.0, "deploymentId": canary,
                                "stageVariableOverrides": {"alias": "canary"},
                                "useStageCache": False}}]},
        # HTTP APIs beside REST ones; their stages never have a canary
        {"id": http["apiId"], "name": "notes", "kind": "HTTP",
         "stages": [{"name": "$default", "deploymentId": http_deployment, "variables": {},
                     "canary": None}]},
    ]  # fmt: skip
    assert [d["id"] for d in view["rollouts"]["active"]] == ["now"]
    assert [d["id"] for d in view["rollouts"]["past"]] == ["newer", "old"]  # latest end first
    active = view["rollouts"]["active"][0]
    assert "analysis" not in active and "cursor" not in active and active["weight"] == 20.0
    # each rollout carries the one view-model; the page draws it and derives nothing
    drawn = active["view"]
    assert drawn["phaseText"] == "steps, 2 of 3" and drawn["statusText"] == "waiting"
    assert drawn["allowedActions"] == ["promote", "promote-full", "pause", "resume", "abort"]
    assert [s["state"] for s in drawn["steps"]] == ["done", "current", "todo"]
    assert view["rollouts"]["past"][0]["view"]["allowedActions"] == []
    assert view["runtime"] == {"workers": 3}


def test_series_per_executed_version(engine: Engine) -> None:
    clock = engine.clock
    assert isinstance(clock, VirtualClock)
    # 20 s of traffic: 4 req/s on version 1 (10 ms, one error in the first second),
    # 1 req/s on version 2 (30 ms)
    for second in range(20):
        at = T0 + second + 0.5
        for i in range(4):
            engine.feed.add(invocation(at, "1", 10.0, error=second == 0 and i == 0))
        engine.feed.add(invocation(at, "2", 30.0))
    engine.feed.drain()
    clock.advance(22.0)  # now = T0 + 22: the period [T0 + 20, T0 + 25) is not complete yet

    series = build_view(engine, [], now=clock.now(), minutes=1, period=5)["series"]

    assert len(series["timestamps"]) == 12
    assert series["timestamps"][-1] == T0 + 15  # the last complete period
    lines = {line["version"]: line for line in series["lines"]}
    assert set(lines) == {"1", "2"}
    v1, v2 = lines["1"], lines["2"]
    assert (v1["function"], v1["alias"], v1["role"], v2["role"]) == (
        "api",
        "live",
        "stable",
        "canary",
    )
    assert v1["rps"][-4:] == [4.0, 4.0, 4.0, 4.0] and v1["rps"][:8] == [0.0] * 8
    assert v2["rps"][-4:] == [1.0, 1.0, 1.0, 1.0]
    assert v1["requests"] == 80 and v1["errors"] == 1 and v2["errors"] == 0
    assert v1["errorRate"][-4:] == [0.05, 0.0, 0.0, 0.0]
    assert v1["errorRate"][0] is None  # no requests: no rate, not zero
    assert v1["p50"][-1] == pytest.approx(10.0, rel=0.02)
    assert v2["p99"][-1] == pytest.approx(30.0, rel=0.02)
    assert v1["p50"][0] is None


def test_rollout_roles_and_unrouted_versions(engine: Engine) -> None:
    clock = engine.clock
    assert isinstance(clock, VirtualClock)
    engine.lambdas.update_alias(
        "api", "live", {"FunctionVersion": "2", "RoutingConfig": {"AdditionalVersionWeights": {}}}
    )
    engine.feed.add(invocation(T0 + 1, "1", 10.0))  # version 1 served once, long ago
    engine.feed.drain()
    clock.advance(3600.0)

    series = build_view(engine, [], now=clock.now(), minutes=5, period=5)["series"]
    # version 1 left the window and is no longer routed; version 2 is, even without traffic
    assert [(line["version"], line["role"], line["requests"]) for line in series["lines"]] == [
        ("2", "stable", 0)
    ]
    # an active rollout names the arms, whatever the alias currently says
    documents = [rollout("r", terminal=False)]
    roles = {
        line["version"]: line["role"]
        for line in build_view(engine, documents, now=clock.now())["series"]["lines"]
    }
    assert roles == {"2": "canary"}
