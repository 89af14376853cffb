"""The controller ticked against the local platform (real workers) under a virtual clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apicanary.clock import VirtualClock
from apicanary.engine.engine import Engine
from apicanary.errors import BadInputError
from apicanary.platform.local import LocalPlatform
from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal
from apicanary.rollout.service import start_rollout
from tests.support.lambda_zips import handler_zip

GOOD = "return {'statusCode': 200, 'body': context.function_version}"
BAD = "raise RuntimeError('bug in the new version')"
HOOK_OK = "return {'status': 'Succeeded'}"
HOOK_FAIL = "raise RuntimeError('smoke test failed')"

FLAKY = (
    "import random\n"
    "if random.random() < 0.05:\n"
    "    raise RuntimeError('the same 5% failures in every version')\n"
    "return {'statusCode': 200}"
)

# short guard windows: with a clean stable arm, verifying "not 5x worse" needs ~41k canary
# requests (detection-limits §2.5), far more than a test sends; such steps promote unverified
STRATEGY = {
    "steps": [
        {"setWeight": 20},
        {"analysis": {}},
        {"setWeight": 50},
        {"analysis": {}},
    ],
    "analysis": {
        "minRegression": 5,
        "minDwell": "30s",
        "maxExtension": "2m",
        "onUnverified": "promote-unverified",
    },
}


class Harness:
    """An engine with function ``api`` (v1 good) and alias ``live``; ticks with traffic."""

    def __init__(self, state: Path) -> None:
        self.clock = VirtualClock()
        self.loop = asyncio.new_event_loop()
        self.engine = Engine(state, clock=self.clock, rng=random.Random(3))
        lam = self.engine.lambdas
        lam.create_function(
            {"FunctionName": "api", "Runtime": "python3.11", "Handler": "app.handler",
             "Code": {"ZipFile": handler_zip(GOOD)}, "Publish": True}
        )  # fmt: skip
        lam.create_alias("api", {"Name": "live", "FunctionVersion": "1"})
        self.journal = Journal(self.engine.store)
        self.platform = LocalPlatform(self.engine, self.loop)
        self.controller = Controller(self.journal, self.platform, self.clock)

    def release(self, body: str) -> str:
        lam = self.engine.lambdas
        lam.update_function_code("api", {"ZipFile": handler_zip(body)})
        return str(lam.publish_version("api", {})["Version"])

    def hook_function(self, name: str, body: str) -> None:
        self.engine.lambdas.create_function(
            {"FunctionName": name, "Runtime": "python3.11", "Handler": "app.handler",
             "Code": {"ZipFile": handler_zip(body)}}
        )  # fmt: skip

    def traffic(self, count: int) -> None:
        async def send() -> None:
            for _ in range(count):
                await self.engine.lambdas.invoker.invoke("api", "live", b"{}")

        self.loop.run_until_complete(send())

    def start(self, **request: Any) -> str:
        base = {"function": "api", "alias": "live", "strategy": STRATEGY}
        return str(start_rollout(self.controller, self.platform, base | request)["id"])

    def tick(self, rollout_id: str, *, requests: int = 40, seconds: float = 10.0) -> dict[str, Any]:
        self.traffic(requests)
        self.clock.advance(seconds)
        return self.controller.reconcile(rollout_id)

    def run(self, rollout_id: str, *, max_ticks: int = 60, **kw: Any) -> dict[str, Any]:
        for _ in range(max_ticks):
            doc = self.tick(rollout_id, **kw)
            if doc["terminal"] or doc["status"] in ("waiting", "paused"):
                return doc
        raise AssertionError(f"rollout did not end in {max_ticks} ticks: {doc['status']}")

    def alias(self) -> dict[str, Any]:
        return self.engine.lambdas.get_alias("api", "live")

    def close(self) -> None:
        self.loop.run_until_complete(self.engine.aclose())
        self.loop.close()


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path / "state")
    yield harness
    harness.close()


def kinds(h: Harness, rollout_id: str) -> list[str]:
    return [e.kind for e in h.journal.events(rollout_id)]


def test_good_release_is_promoted(h: Harness) -> None:
    version = h.release(GOOD + "  # v2")
    rid = h.start(toVersion=version)
    doc = h.run(rid)
    assert doc["status"] == "promoted", doc["reason"]
    assert h.alias()["FunctionVersion"] == version and "RoutingConfig" not in h.alias()
    weights = [e.data["weight"] for e in h.journal.events(rid) if e.kind == "step"]
    assert weights == [20, 50, 100]
    assert doc["progress"]["canaryRequests"] > 0 and doc["progress"]["canaryErrors"] == 0
    # never silently: the guard could not verify, and the rollout says so
    assert doc["unverified"] is True and "unverified" in doc["reason"]
    assert h.engine.store.integrity_check() == "ok"


def test_guard_verifies_with_enough_traffic(tmp_path: Path) -> None:
    h = Harness(tmp_path / "state")
    try:
        h.engine.lambdas.update_function_code("api", {"ZipFile": handler_zip(FLAKY)})
        stable = h.engine.lambdas.publish_version("api", {})["Version"]
        h.engine.lambdas.update_alias("api", "live", {"FunctionVersion": stable})
        version = h.release(FLAKY + "  # v2")
        strategy = {**STRATEGY, "analysis": {**STRATEGY["analysis"], "maxExtension": "1h"}}
        doc = h.run(h.start(toVersion=version, strategy=strategy), max_ticks=200, requests=120)
        assert doc["status"] == "promoted", doc["reason"]
        assert doc["unverified"] is False
        analysis_events = [e.message for e in h.journal.events(doc["id"]) if e.kind == "analysis"]
        assert len(analysis_events) == 2 and all("unverified" not in m for m in analysis_events)
    finally:
        h.close()


def test_bad_release_is_rolled_back_after_few_failures(h: Harness) -> None:
    version = h.release(BAD)
    rid = h.start(toVersion=version)
    doc = h.run(rid)
    assert doc["status"] == "rolled_back"
    assert "canary error rate" in doc["reason"] and "e-value" in doc["reason"]
    assert h.alias()["FunctionVersion"] == "1" and "RoutingConfig" not in h.alias()
    # the first tick saw at most one tick of traffic at 20 %: few canary failures
    assert doc["progress"]["canaryErrors"] <= 20


def test_alarm_in_alarm_rolls_back(h: Harness) -> None:
    h.engine.alarms.put_metric_alarm(
        {"AlarmName": "HighErrors", "Namespace": "AWS/Lambda", "MetricName": "Errors",
         "Dimensions": [{"Name": "FunctionName", "Value": "api"}], "Statistic": "Sum",
         "Period": 60, "EvaluationPeriods": 1, "Threshold": 1,
         "ComparisonOperator": "GreaterThanOrEqualToThreshold"}
    )  # fmt: skip
    version = h.release(GOOD + "  # v2")
    rid = h.start(toVersion=version, alarms=["HighErrors"])
    h.tick(rid)
    h.engine.alarms.set_alarm_state("HighErrors", "ALARM", "forced by the test")
    doc = h.tick(rid)
    assert doc["status"] == "rolled_back"
    assert doc["reason"] == "alarm in ALARM: HighErrors"
    assert h.alias()["FunctionVersion"] == "1"


def test_alarm_already_firing_refuses_to_start_unless_forced(h: Harness) -> None:
    h.engine.alarms.put_metric_alarm(
        {"AlarmName": "Firing", "Namespace": "AWS/Lambda", "MetricName": "Errors",
         "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1,
         "ComparisonOperator": "GreaterThanOrEqualToThreshold"}
    )  # fmt: skip
    h.engine.alarms.set_alarm_state("Firing", "ALARM", "forced")
    version = h.release(GOOD + "  # v2")
    with pytest.raises(BadInputError, match="already in ALARM"):
        h.start(toVersion=version, alarms=["Firing"])
    assert h.start(toVersion=version, alarms=["Firing"], force=True)


def test_pre_traffic_hook_failure_rolls_back_before_any_traffic(h: Harness) -> None:
    h.hook_function("CodeDeployHook_pre", HOOK_FAIL)
    version = h.release(GOOD + "  # v2")
    strategy = STRATEGY | {"hooks": {"preTraffic": {"function": "CodeDeployHook_pre"}}}
    rid = h.start(toVersion=version, strategy=strategy)
    doc = h.tick(rid)
    assert doc["status"] == "rolled_back"
    assert doc["reason"].startswith("PreTraffic hook failed")
    assert "step" not in kinds(h, rid)  # no traffic ever moved


def test_post_traffic_hook_success_then_promotion(h: Harness) -> None:
    h.hook_function("CodeDeployHook_post", HOOK_OK)
    version = h.release(GOOD + "  # v2")
    strategy = STRATEGY | {"hooks": {"postTraffic": {"function": "CodeDeployHook_post"}}}
    doc = h.run(h.start(toVersion=version, strategy=strategy))
    assert doc["status"] == "promoted"


def test_manual_pause_resume_promote_and_abort(h: Harness) -> None:
    version = h.release(GOOD + "  # v2")
    rid = h.start(toVersion=version, strategy={"steps": [{"setWeight": 10}, {"pause": {}}]})
    doc = h.tick(rid)
    assert doc["status"] == "waiting" and doc["weight"] == 10
    h.controller.request(rid, "pause")
    assert h.tick(rid)["status"] == "paused"
    h.controller.request(rid, "resume")
    assert h.tick(rid)["status"] == "waiting"
    h.controller.request(rid, "promote")
    doc = h.tick(rid)
    assert doc["status"] == "promoted" and h.alias()["FunctionVersion"] == version

    v3 = h.release(GOOD + "  # v3")
    rid = h.start(toVersion=v3, strategy={"steps": [{"setWeight": 30}, {"pause": {}}]})
    h.tick(rid)
    assert h.alias()["RoutingConfig"] == {"AdditionalVersionWeights": {v3: 0.3}}
    h.controller.request(rid, "abort")
    doc = h.tick(rid)
    assert doc["status"] == "aborted" and doc["reason"] == "aborted by a human"
    assert h.alias()["FunctionVersion"] == version and "RoutingConfig" not in h.alias()


def test_promote_full_skips_remaining_steps(h: Harness) -> None:
    version = h.release(GOOD + "  # v2")
    rid = h.start(toVersion=version, strategy="Canary10Percent30Minutes")
    assert h.tick(rid)["weight"] == 10
    h.controller.request(rid, "promote-full")
    assert h.tick(rid)["status"] == "promoted"


def test_one_active_rollout_per_target(h: Harness) -> None:
    version = h.release(GOOD + "  # v2")
    h.start(toVersion=version)
    with pytest.raises(BadInputError, match="already active"):
        h.start(toVersion=version)


def test_crash_at_every_step_boundary_then_resume(tmp_path: Path) -> None:
    """Kill the controller (drop it, keep the state dir) after each tick; a fresh controller
    on the same state converges to the same outcome with an intact journal."""
    h = Harness(tmp_path / "state")
    try:
        version = h.release(GOOD + "  # v2")
        rid = h.start(toVersion=version)
        for _ in range(60):
            h.traffic(40)
            h.clock.advance(10)
            # a new controller each tick = a restart between every two ticks
            fresh = Controller(Journal(h.engine.store), LocalPlatform(h.engine, h.loop), h.clock)
            doc = fresh.reconcile(rid)
            if doc["terminal"]:
                break
        assert doc["status"] == "promoted"
        seqs = [e.seq for e in h.journal.events(rid)]
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
        assert h.engine.store.integrity_check() == "ok"
    finally:
        h.close()


def test_drift_is_repaired_on_adoption(h: Harness) -> None:
    version = h.release(GOOD + "  # v2")
    rid = h.start(toVersion=version, strategy={"steps": [{"setWeight": 40}, {"pause": {}}]})
    h.tick(rid)
    # someone (or a crash mid-write) changed the weights behind the controller's back
    h.engine.lambdas.update_alias(
        "api", "live", {"RoutingConfig": {"AdditionalVersionWeights": {version: 0.9}}}
    )
    fresh = Controller(h.journal, h.platform, h.clock)
    fresh.reconcile(rid)
    assert h.alias()["RoutingConfig"] == {"AdditionalVersionWeights": {version: 0.4}}
    assert "adopted" in kinds(h, rid)


def test_the_alias_carries_a_renewed_marker_and_keeps_the_users_description(h: Harness) -> None:
    from apicanary.platform.marker import decode

    h.engine.lambdas.update_alias("api", "live", {"Description": "owned by team orders"})
    version = h.release(GOOD + "  # v2")
    rid = h.start(toVersion=version, strategy={"steps": [{"setWeight": 30}, {"pause": {}}]})
    h.tick(rid)
    marker = decode(h.alias()["Description"])
    assert marker is not None and marker.rollout_id == rid and marker.weight == 0.3
    assert h.alias()["Description"].startswith("owned by team orders | apicanary:v1")
    first_deadline = marker.expires_at
    h.clock.advance(400)  # past half the lease: the next tick renews the deadline
    h.tick(rid)
    renewed = decode(h.alias()["Description"])
    assert renewed is not None and renewed.expires_at > first_deadline
    h.controller.request(rid, "promote")
    h.tick(rid)
    assert h.alias()["Description"] == "owned by team orders"  # marker gone, text kept


def test_an_abandoned_rollout_is_rolled_back_by_the_next_one(h: Harness, tmp_path: Path) -> None:
    """A controller dies mid-rollout (its journal is lost with its machine); after the lease,
    a controller elsewhere finds the half-shifted alias, rolls it back, and starts afresh."""
    version = h.release(GOOD + "  # v2")
    dead = h.start(toVersion=version, strategy={"steps": [{"setWeight": 40}, {"pause": {}}]})
    h.tick(dead)
    assert h.alias()["RoutingConfig"] == {"AdditionalVersionWeights": {version: 0.4}}

    from apicanary.store import Store

    elsewhere = Controller(Journal(Store(tmp_path / "other-machine")), h.platform, h.clock)
    target_request = {"function": "api", "alias": "live", "toVersion": version,
                      "strategy": {"steps": [{"setWeight": 10}, {"pause": {}}]}}  # fmt: skip
    with pytest.raises(BadInputError, match="being watched"):
        start_rollout(elsewhere, h.platform, target_request)
    h.clock.advance(601)  # nobody renewed the lease
    document = start_rollout(elsewhere, h.platform, target_request)
    events = elsewhere.journal.events(document["id"])
    assert f"first rolled back abandoned rollout {dead}" in events[0].message
    assert h.alias()["FunctionVersion"] == "1" and "RoutingConfig" not in h.alias()


def test_abort_by_alias_from_any_machine(h: Harness) -> None:
    version = h.release(GOOD + "  # v2")
    rid = h.start(toVersion=version, strategy={"steps": [{"setWeight": 25}, {"pause": {}}]})
    h.tick(rid)
    result = Controller(h.journal, h.platform, h.clock).abort_by_alias("api", "live")
    assert result == {"rolloutId": rid, "function": "api", "alias": "live",
                      "rolledBackTo": "1", "wasAbandoned": False}  # fmt: skip
    assert h.alias()["FunctionVersion"] == "1" and "RoutingConfig" not in h.alias()


class Receiver:
    """A real HTTP endpoint on loopback recording what it is sent."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict[str, Any]] = []

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def record(request: Request) -> JSONResponse:
            self.received.append(await request.json())
            return JSONResponse({"ok": self.status < 400}, status_code=self.status)

        return Starlette(routes=[Route("/{path:path}", record, methods=["POST"])])


def test_webhook_hooks_and_notifications(h: Harness) -> None:
    from tests.support.servers import serve_in_thread

    hooks, notes, failing = Receiver(), Receiver(), Receiver(status=500)
    with serve_in_thread(hooks.app()) as hook_url, serve_in_thread(notes.app()) as note_url, \
            serve_in_thread(failing.app()) as bad_url:  # fmt: skip
        version = h.release(GOOD + "  # v2")
        strategy = {
            "steps": [{"setWeight": 50}],
            "hooks": {"postTraffic": {"webhook": f"{hook_url}/post", "timeout": "5s"}},
            "notifications": [f"{note_url}/rollouts"],
        }
        doc = h.run(h.start(toVersion=version, strategy=strategy))
        assert doc["status"] == "promoted"
        (called,) = hooks.received
        assert called["Hook"] == "PostTraffic" and called["DeploymentId"] == doc["id"]
        events = [n["event"] for n in notes.received]
        assert events[0] == "created" and events[-1] == "promoted" and "step" in events
        assert all(n["rolloutId"] == doc["id"] for n in notes.received)

        v3 = h.release(GOOD + "  # v3")
        failing_hook = {"steps": [{"setWeight": 50}],
                        "hooks": {"preTraffic": {"webhook": f"{bad_url}/pre"}}}  # fmt: skip
        doc = h.run(h.start(toVersion=v3, strategy=failing_hook))
        assert doc["status"] == "rolled_back"
        assert doc["reason"].startswith("PreTraffic hook failed: webhook answered 500")
        assert h.alias()["FunctionVersion"] == version
