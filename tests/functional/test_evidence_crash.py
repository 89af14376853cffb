"""SIGKILL ``serve`` right after a burst of failed requests: the restarted engine's rollout
counts every failure the clients saw, exactly once (issue 12: evidence survives a crash).

The burst is concurrent requests that all end in an integration timeout (504) within a few
milliseconds of each other, their functions still running; ``serve`` is killed as soon as the
last answer arrived, before the controller has read and journalled them all. The telemetry
log is on file (each record written before its answer) and the journalled cursor resumes in
the same log after the restart, so each request is read once, by one of the two controllers;
the functions cut off by the kill leave no record a client could have seen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from apicanary.server.process import ServerProcess, spawn_server
from tests.fixtures.evidence_project import set_tag, write_project
from tests.support.local import aws_client
from tests.support.traffic import Seen

# both versions fail alike: the rollout keeps watching (paused), never decides
STRATEGY: dict[str, Any] = {"steps": [{"setWeight": 50}, {"pause": {}}]}
BURST = 24  # concurrent requests, each past the API's 1 s integration timeout
AFTER = 10  # failing requests after the restart (a failure wakes the controller): the last
# evidence the test waits for


def _doc(server: ServerProcess, rollout_id: str) -> dict[str, Any]:
    url = f"{server.control_url}/_apicanary/rollouts/{rollout_id}"
    return dict(httpx.get(url, timeout=30).json())


def _send(
    base: str, paths: list[str], clients: int, then: Callable[[], object] = lambda: None
) -> Seen:
    """Send ``paths`` from ``clients`` threads; the thread that gets the last answer calls
    ``then`` at once (no thread join before it)."""
    seen = Seen()
    left = [len(paths)]
    lock = threading.Lock()

    def one(path: str) -> None:
        with httpx.Client(timeout=30) as client:
            answer = client.get(base + path)
        seen.record(answer)
        with lock:
            left[0] -= 1
            if left[0] == 0:
                then()

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, paths))
    return seen


def test_failures_answered_just_before_a_sigkill_count_once_after_the_restart(
    tmp_path: Path,
) -> None:
    template = write_project(tmp_path / "project")
    state = tmp_path / "state"
    server = spawn_server(state, template)
    try:
        set_tag(tmp_path / "project", "v2")
        aws_client(server, "lambda").publish_version(FunctionName="Fn")
        body = {"function": "Fn", "alias": "live", "toVersion": "2", "strategy": STRATEGY}
        started = httpx.post(f"{server.control_url}/_apicanary/rollouts", json=body, timeout=30)
        assert started.status_code == 201, started.text
        rid = started.json()["id"]
        while _doc(server, rid)["effectiveShare"] == 0:
            time.sleep(0.05)
        # SIGKILL as soon as the last answer arrived: no cleanup, no flush
        burst = _send(server.gateway_url + "/prod", ["/x?mode=sleep"] * BURST, BURST,
                      server.process.kill)  # fmt: skip
        server.process.wait(10)
        assert burst.statuses == {504: BURST}, burst
        server = spawn_server(state, template)
        after = _send(server.gateway_url + "/prod", ["/x?mode=raise"] * AFTER, 2)
        deadline = time.monotonic() + 30
        progress = _doc(server, rid)["progress"]
        while time.monotonic() < deadline:
            progress = _doc(server, rid)["progress"]
            if progress["stableRequests"] + progress["canaryRequests"] >= BURST + AFTER:
                break
            time.sleep(0.1)
        time.sleep(0.5)  # a record counted twice would show up in this read
        document = _doc(server, rid)
    finally:
        server.stop()
    assert document["status"] in ("running", "paused", "waiting"), document["reason"]
    progress = document["progress"]
    for arm, version in (("stable", "1"), ("canary", "2")):
        answered = burst.answers[version] + after.answers[version]
        assert progress[f"{arm}Requests"] == answered, (arm, progress, burst, after)
        assert progress[f"{arm}Errors"] == answered, (arm, progress, burst, after)
