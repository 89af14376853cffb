"""SIGKILL the real ``serve`` at seeded points of rollouts that are doing something: clients
send traffic throughout, analysis steps are running, and one canary is bad.

Each rollout must end as it should (good → promoted, bad → rolled back), and no evidence may
be lost or counted twice across the crashes: after the last restart, the failures the rollout
counted per arm equal the 5xx answers clients received from that version (by
``x-apicanary-executed-version``), exactly. The engine's telemetry log is on file, each record
written before its answer, and the controller's journalled cursor resumes in it after a
restart, so a request answered in the last milliseconds before a kill is read once, by the
restarted controller. Requests in flight at a kill get no answer and count nowhere.

The bad rollout ends under traffic: requests already routed to the canary when the rollback
was decided are answered after the rollout's last read, and an ended rollout does not count
them (at most one per client). Up to that read it is exact: the test reads the rollout's
final cursor from the journal and the telemetry log from the state directory, and the counted
failures equal the clients' 5xx answers whose records lie before the cursor, request id for
request id; every answer a client received is in the log.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from apicanary.engine.telemetry import TelemetryLog
from apicanary.rollout.journal import Journal
from apicanary.server.process import ServerProcess, spawn_server
from apicanary.store import Store
from tests.fixtures.evidence_project import set_tag, write_project
from tests.support.local import aws_client
from tests.support.traffic import Traffic

# the good release is held at the end (a human promotes once the traffic has stopped, so every
# canary answer falls inside the rollout); the bad one is rolled back under traffic
ANALYSED: dict[str, Any] = {
    "steps": [
        {"setWeight": 20},
        {"analysis": {}},
        {"setWeight": 50},
        {"analysis": {}},
        {"pause": {}},
    ],
    "analysis": {"minDwell": "3s", "maxExtension": "6s", "onUnverified": "promote-unverified"},
}
KILLS = 3


def _doc(server: ServerProcess, rollout_id: str) -> dict[str, Any]:
    url = f"{server.control_url}/_apicanary/rollouts/{rollout_id}"
    return dict(httpx.get(url, timeout=30).json())


def _journalled(state: Path, rollout_id: str) -> tuple[dict[str, Any], set[str], set[str]]:
    """With ``serve`` stopped: the rollout's journalled progress, and of the engine's telemetry
    log the request ids before the cursor journalled with it (what it read), and all."""
    store = Store(state)
    try:
        journalled = Journal(store).load(rollout_id).document
    finally:
        store.close()
    cursor = journalled["cursor"]
    log = TelemetryLog(directory=state / "telemetry")
    held = log.since(0)
    log.close()
    assert cursor["log"] == log.uid and held.dropped == 0, (cursor, log.uid, held.dropped)
    oldest = held.cursor - len(held.records)
    read = {r.request_id for r in held.records[: cursor["at"] - oldest]}
    return journalled["progress"], read, {r.request_id for r in held.records}


@pytest.mark.parametrize(("seed", "bad"), [(11, False), (12, True)])
def test_kills_under_traffic_end_right_and_lose_no_evidence(
    tmp_path: Path, seed: int, bad: bool
) -> None:
    rng = random.Random(seed)
    template = write_project(tmp_path / "project")
    state = tmp_path / "state"
    server = spawn_server(state, template)
    current = [server]

    # A bad canary turns bad only once the first kill has landed: one failing from its first
    # request can be rolled back before any kill, and then no kill hits a live rollout.
    turned_bad = [False]

    def path(n: int) -> str:  # a tenth fail on both versions; a bad canary fails a third more
        if n % 10 == 0:
            return "/x?mode=raise"
        return "/x?fail=2" if turned_bad[0] and n % 3 == 0 else "/x"

    traffic = Traffic(lambda: current[0].gateway_url + "/prod", path, clients=3, pause_s=0.01)
    try:
        set_tag(tmp_path / "project", "v2")
        aws_client(server, "lambda").publish_version(FunctionName="Fn")
        strategy = ANALYSED
        if bad:  # the kills eat the dwell time: a bad canary must not pass on time alone
            strategy = {**ANALYSED, "analysis": {**ANALYSED["analysis"], "onUnverified": "stop"}}
        body = {"function": "Fn", "alias": "live", "toVersion": "2", "strategy": strategy}
        started = httpx.post(f"{server.control_url}/_apicanary/rollouts", json=body, timeout=30)
        assert started.status_code == 201, started.text
        rid = started.json()["id"]
        while _doc(server, rid)["effectiveShare"] == 0:  # the evidence starts at the first weight
            time.sleep(0.05)
        traffic.start()
        live_kills = 0
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 1.0))
            live_kills += not _doc(server, rid)["terminal"]
            server.process.kill()  # SIGKILL: no cleanup, no flush
            server.process.wait(10)
            server = current[0] = spawn_server(state, template)
            turned_bad[0] = bad
        deadline = time.monotonic() + 90
        document = _doc(server, rid)
        end = ("rolled_back",) if bad else ("rolled_back", "waiting")
        while document["status"] not in end and time.monotonic() < deadline:
            time.sleep(0.2)
            document = _doc(server, rid)
        seen = traffic.stop()
        time.sleep(1.0)  # the last answers' records are read
        document = _doc(server, rid)
        if not bad:
            httpx.post(f"{server.control_url}/_apicanary/rollouts/{rid}/intents",
                       json={"kind": "promote"}, timeout=30)  # fmt: skip
            while not (final := _doc(server, rid))["terminal"] and time.monotonic() < deadline:
                time.sleep(0.2)
            assert final["status"] == "promoted", final["reason"]
    finally:
        traffic.stop()
        server.stop()
    assert live_kills >= 1
    progress, read, logged = _journalled(state, rid)
    for version in ("1", "2"):
        assert len(seen.failed_ids.get(version, set())) == seen.failures[version]
        assert seen.failed_ids.get(version, set()) <= logged  # no answer is missing from file
    for arm, version in (("stable", "1"), ("canary", "2")):
        counted = len(seen.failed_ids.get(version, set()) & read)
        assert progress[f"{arm}Errors"] == counted, (arm, progress, seen.failures)  # exact
    if bad:
        assert document["status"] == "rolled_back" and "canary error rate" in document["reason"]
        # requests already routed to the canary when the rollback was decided fail after its
        # last read: clients see them, the ended rollout does not count them (one per client)
        assert 0 <= seen.failures["2"] - progress["canaryErrors"] <= 3
    else:
        for arm, version in (("stable", "1"), ("canary", "2")):
            assert progress[f"{arm}Errors"] == seen.failures[version], (arm, progress, seen)
