"""Issue 12 on the real ``serve``, as a user tried it: a REST API with a 1 s integration
timeout, a function that sleeps past it for some requests and raises for others on both
versions, the alias at 50 %, ``setWeight: 50`` then ``pause: {}``.

* every request counts once: the failures in ``rollout status --output json`` equal the 5xx
  answers clients got from each version (by ``x-apicanary-executed-version``), exactly,
  integration timeouts included;
* the same on an HTTP API (API Gateway v2: 503 on a timeout, 500 on a function error or a
  malformed answer), whose requests are in the gateway's in-flight table as REST's are, so a
  Lambda record read before its gateway record waits for it (the client's status wins);
* a paused rollout keeps watching: the canary starts failing a third of its requests while
  paused, and is rolled back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.evidence_project import set_tag, write_project
from tests.support.local import ServerProcess, aws_client, running_server
from tests.support.traffic import Seen, Traffic

HOLD = {"steps": [{"setWeight": 50}, {"pause": {}}]}


def serve(tmp_path: Path, kind: str) -> Iterator[ServerProcess]:
    """A real ``serve`` of the project (REST or HTTP API), with version 2 published."""
    template = write_project(tmp_path / "project", kind=kind)
    with running_server(tmp_path / "state", template) as srv:
        set_tag(tmp_path / "project", "v2")
        aws_client(srv, "lambda").publish_version(FunctionName="Fn")
        yield srv


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    yield from serve(tmp_path, "rest")


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[ServerProcess]:
    yield from serve(tmp_path, "http")


def start(server: ServerProcess, strategy: Any) -> str:
    body = {"function": "Fn", "alias": "live", "toVersion": "2", "strategy": strategy}
    answer = httpx.post(f"{server.control_url}/_apicanary/rollouts", json=body, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def document(server: ServerProcess, rollout_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{server.control_url}/_apicanary/rollouts/{rollout_id}", timeout=30)
    return dict(answer.json())


def until(server: ServerProcess, rollout_id: str, *statuses: str, within: float = 60) -> dict:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        doc = document(server, rollout_id)
        if doc["status"] in statuses:
            return doc
        time.sleep(0.2)
    raise AssertionError(f"rollout {rollout_id} still {doc['status']}, not {statuses}")


def status_json(server: ServerProcess, rollout_id: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "apicanary", "rollout", "status", rollout_id, "--output", "json",
         "--control-url", server.control_url],
        capture_output=True, text=True, timeout=60, env=os.environ,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def mixed(n: int) -> str:
    """A fifth sleep past the integration timeout, a fifth raise, the rest succeed."""
    return ("/x?mode=sleep", "/x?mode=raise", "/x", "/x", "/x")[n % 5]


def counted_under_load(server: ServerProcess, url: str, path_for: Any) -> Seen:
    """Hold the alias at 50 %, send 6 s of ``path_for`` traffic, and check that the rollout's
    counts per arm equal what clients saw per executed version; returns what they saw."""
    rid = start(server, HOLD)
    until(server, rid, "waiting")  # the alias is at 50 %, the rollout holds it
    seen = Traffic(url, path_for, clients=6).start()
    time.sleep(6)
    seen = seen.stop()
    assert seen.unanswered == 0
    time.sleep(2.5)  # the timed-out functions end (1.4 s) and their records are read
    progress = status_json(server, rid)["progress"]
    assert (progress["canaryRequests"], progress["canaryErrors"]) == (
        seen.answers["2"], seen.failures["2"],
    )  # fmt: skip
    assert (progress["stableRequests"], progress["stableErrors"]) == (
        seen.answers["1"], seen.failures["1"],
    )  # fmt: skip
    return seen


def test_failures_in_status_equal_the_5xx_clients_saw_per_version(server: ServerProcess) -> None:
    seen = counted_under_load(server, server.gateway_url + "/prod", mixed)
    assert seen.statuses[504] > 0 and seen.statuses[502] > 0


def mixed_http(n: int) -> str:
    """Past the timeout, raising, malformed (a 500 that Lambda counts a success), fine."""
    return ("/x?mode=sleep", "/x?mode=raise", "/x?mode=malformed", "/x", "/x", "/x")[n % 6]


def test_http_api_failures_in_status_equal_the_5xx_clients_saw(http_server: ServerProcess) -> None:
    seen = counted_under_load(http_server, http_server.gateway_url, mixed_http)
    assert seen.statuses[503] > 0 and seen.statuses[500] > 0
    assert set(seen.statuses) == {200, 500, 503}, seen.statuses  # HTTP API answers, not REST's


def test_a_paused_canary_that_starts_failing_is_rolled_back(server: ServerProcess) -> None:
    rid = start(server, HOLD)
    until(server, rid, "waiting")
    answer = httpx.post(
        f"{server.control_url}/_apicanary/rollouts/{rid}/intents", json={"kind": "pause"}
    )
    assert answer.status_code == 202
    until(server, rid, "paused")

    def canary_breaks(n: int) -> str:  # a third of the canary's requests fail from now on
        return "/x?fail=2" if n % 3 == 0 else "/x"

    traffic = Traffic(server.gateway_url + "/prod", canary_breaks, clients=4).start()
    try:
        doc = until(server, rid, "rolled_back", within=45)
    finally:
        traffic.stop()
    assert "canary error rate" in doc["reason"]
    alias = aws_client(server, "lambda").get_alias(FunctionName="Fn", Name="live")
    assert alias["FunctionVersion"] == "1" and "RoutingConfig" not in alias


# -- never stall: a controller that fell behind the bounded telemetry buffer ------------------


def test_a_controller_behind_the_buffer_records_the_gap_and_judges_on(tmp_path: Path) -> None:
    """Break 3b: the buffer keeps 200 records here (two per request); the controller is not
    ticked while 300 requests pass. It journals what it lost per arm, keeps judging what it
    has, and still rolls a canary back that then fails."""
    import asyncio
    import random

    from apicanary.clock import VirtualClock
    from apicanary.engine.engine import Engine
    from apicanary.engine.gateway.messages import GatewayRequest
    from apicanary.engine.provision import provision
    from apicanary.platform.local import LocalPlatform
    from apicanary.project.loader import load_project
    from apicanary.rollout.controller import Controller
    from apicanary.rollout.journal import Journal
    from apicanary.rollout.service import start_rollout

    template = write_project(tmp_path / "project")
    clock = VirtualClock()
    engine = Engine(tmp_path / "state", clock=clock, rng=random.Random(5), telemetry_capacity=200)
    loop = asyncio.new_event_loop()
    try:
        provision(engine, load_project(template))
        set_tag(tmp_path / "project", "v2")
        engine.lambdas.wait_settled("Fn")
        engine.lambdas.publish_version("Fn", {})
        journal = Journal(engine.store)
        platform = LocalPlatform(engine, loop)
        controller = Controller(journal, platform, clock)
        request = {"function": "Fn", "alias": "live", "toVersion": "2", "strategy": HOLD}
        rid = start_rollout(controller, platform, request)["id"]
        controller.reconcile(rid)  # 50 %
        assert controller.reconcile(rid)["status"] == "waiting"  # the cursor is placed

        def send(count: int, query: Any = lambda n: "") -> dict[str, int]:
            async def go() -> dict[str, int]:
                seen = {"1": 0, "2": 0}
                for n in range(count):
                    reply = await engine.gateway.handle(
                        GatewayRequest("GET", "/prod/x", query(n), [], b"", "127.0.0.1", None)
                    )
                    seen[dict(reply.headers)[b"x-apicanary-executed-version"].decode()] += 1
                return seen

            clock.advance(1)
            return loop.run_until_complete(go())

        controller.request(rid, "pause")
        assert controller.reconcile(rid)["status"] == "paused"
        sent = send(300)  # the controller does not tick meanwhile: 600 records, 200 kept
        doc = controller.reconcile(rid)
        assert doc["status"] == "paused" and doc["lastError"] is None
        lost = (doc["lostStable"], doc["lostCanary"])
        counted = (doc["progress"]["stableRequests"], doc["progress"]["canaryRequests"])
        assert lost[0] > 0 and lost[1] > 0
        assert (lost[0] + counted[0], lost[1] + counted[1]) == (sent["1"], sent["2"])
        gaps = [e for e in journal.events(rid) if e.kind == "gap"]
        assert len(gaps) == 1 and gaps[0].data == {"stable": lost[0], "canary": lost[1]}
        for _ in range(5):  # the canary breaks: a third of its requests fail
            send(60, lambda n: "fail=2" if n % 3 == 0 else "")
            if (doc := controller.reconcile(rid))["terminal"]:
                break
        assert doc["status"] == "rolled_back" and "canary error rate" in doc["reason"]
    finally:
        loop.run_until_complete(engine.aclose())
        loop.close()
