"""SIGKILL the serving process at random points of a rollout; it must converge on restart.

4 seeds × 5 kills = 20 seeded kill points, each checked to land while the rollout is in
progress (the benchmark does more). After each kill the
SQLite file passes ``integrity_check``; the server restarts on the same state directory and
the controller resumes the rollout from its journal. Every run ends promoted, with the alias
on the new version and no weights left, and a journal whose events are in order.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from apicanary.server.process import spawn_server
from tests.fixtures.canary_project import set_handler_tag, write_project
from tests.support.local import aws_client

STRATEGY = {
    "steps": [
        {"setWeight": 10},
        {"pause": {"duration": "1s"}},
        {"setWeight": 50},
        {"pause": {"duration": "1s"}},
        {"setWeight": 75},
        {"pause": {}},  # held until a human promotes: every kill lands mid-rollout
    ]
}


@pytest.mark.parametrize("seed", range(4))
def test_sigkill_anywhere_then_restart_converges(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    template = write_project(tmp_path / "project")
    state = tmp_path / "state"
    server = spawn_server(state, template)
    try:
        set_handler_tag(tmp_path / "project", "v2")
        version = aws_client(server, "lambda").publish_version(FunctionName="Fn")["Version"]
        started = httpx.post(
            f"{server.control_url}/_apicanary/rollouts",
            json={"function": "Fn", "alias": "live", "toVersion": version, "strategy": STRATEGY},
        )
        assert started.status_code == 201, started.text
        rollout_id = started.json()["id"]
        live_kills = 0
        for _ in range(5):
            time.sleep(rng.uniform(0.0, 0.8))
            url = f"{server.control_url}/_apicanary/rollouts/{rollout_id}"
            live_kills += not httpx.get(url).json()["terminal"]
            server.process.kill()  # SIGKILL: no cleanup, no flush
            server.process.wait(10)
            with sqlite3.connect(state / "state.sqlite3") as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            server = spawn_server(state, template)
        promote = httpx.post(
            f"{server.control_url}/_apicanary/rollouts/{rollout_id}/intents",
            json={"kind": "promote"},
        )
        assert promote.status_code == 202, promote.text
        deadline = time.monotonic() + 30
        document = httpx.get(f"{server.control_url}/_apicanary/rollouts/{rollout_id}").json()
        while not document["terminal"] and time.monotonic() < deadline:
            time.sleep(0.2)
            document = httpx.get(f"{server.control_url}/_apicanary/rollouts/{rollout_id}").json()
        assert document["status"] == "promoted", document
        assert live_kills == 5  # every kill landed while the rollout was in progress
        alias = aws_client(server, "lambda").get_alias(FunctionName="Fn", Name="live")
        assert alias["FunctionVersion"] == version and "RoutingConfig" not in alias
        events = httpx.get(f"{server.control_url}/_apicanary/rollouts/{rollout_id}/events").json()[
            "events"
        ]
        seqs = [event["seq"] for event in events]
        assert seqs == sorted(set(seqs))
        assert events[0]["kind"] == "created" and events[-1]["kind"] == "promoted"
        weights = [event["data"]["weight"] for event in events if event["kind"] == "step"]
        assert weights == sorted(weights) and weights[-1] == 100
    finally:
        server.stop()
