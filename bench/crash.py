"""Crash recovery: SIGKILL ``apicanary serve`` at random points of rollouts, restart, converge.

Full mode: 10 seeded rollouts × 5 kills = 50 kill points (the test suite does 20); quick: 10.
Each rollout is a real one (alias weights 10 % → 50 % → 75 %, then held until promoted), and
every kill is checked to land while it is in progress. After each kill the SQLite file's
``integrity_check`` is read; the server is restarted on the same state directory and the
controller resumes from its journal. Reported: how many runs converged (promoted, alias on the
new version, no weights left, events in order), integrity results, and the time from a restart
until the controller had ticked the rollout again.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
import httpx

from apicanary.server.process import ServerProcess, spawn_server
from bench.common import exit_on_sigterm, table

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: Fn
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      AutoPublishAlias: live
"""
STRATEGY = {
    "steps": [
        {"setWeight": 10},
        {"pause": {"duration": "1s"}},
        {"setWeight": 50},
        {"pause": {"duration": "1s"}},
        {"setWeight": 75},
        {"pause": {}},
    ]
}
KILLS_PER_RUN = 5


def _project(root: Path, tag: str) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "src" / "app.py").write_text(f"def handler(event, context):\n    return '{tag}'\n")
    return root / "template.yaml"


def _rollout(server: ServerProcess, rollout_id: str) -> dict[str, object]:
    answer: dict[str, object] = httpx.get(
        f"{server.control_url}/_apicanary/rollouts/{rollout_id}", timeout=30
    ).json()
    return answer


def _lambda(server: ServerProcess) -> Any:
    """A Lambda client of *this* server (every restart listens on new ports)."""
    return boto3.client(
        "lambda", endpoint_url=server.control_url, region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
    )  # fmt: skip


def one_run(seed: int, workdir: Path) -> dict[str, object]:
    rng = random.Random(seed)
    template = _project(workdir / "project", "v1")
    state = workdir / "state"
    server = spawn_server(state, template)
    integrity: list[str] = []
    resume_s: list[float] = []
    live_kills = 0
    try:
        _project(workdir / "project", "v2")
        version = _lambda(server).publish_version(FunctionName="Fn")["Version"]
        rollout_id = httpx.post(
            f"{server.control_url}/_apicanary/rollouts",
            json={"function": "Fn", "alias": "live", "toVersion": version, "strategy": STRATEGY},
            timeout=30,
        ).json()["id"]
        for _ in range(KILLS_PER_RUN):
            time.sleep(rng.uniform(0.0, 0.8))
            live_kills += not _rollout(server, rollout_id)["terminal"]
            before = _rollout(server, rollout_id)["updatedAt"]
            server.process.kill()
            server.process.wait(10)
            with sqlite3.connect(state / "state.sqlite3") as conn:
                integrity.append(str(conn.execute("PRAGMA integrity_check").fetchone()[0]))
            restarted = time.monotonic()
            server = spawn_server(state, template)
            while _rollout(server, rollout_id)["updatedAt"] == before:
                time.sleep(0.02)
            resume_s.append(time.monotonic() - restarted)
        httpx.post(
            f"{server.control_url}/_apicanary/rollouts/{rollout_id}/intents",
            json={"kind": "promote"},
            timeout=30,
        )
        deadline = time.monotonic() + 30
        document = _rollout(server, rollout_id)
        while not document["terminal"] and time.monotonic() < deadline:
            time.sleep(0.1)
            document = _rollout(server, rollout_id)
        alias = _lambda(server).get_alias(FunctionName="Fn", Name="live")
        events = httpx.get(
            f"{server.control_url}/_apicanary/rollouts/{rollout_id}/events", timeout=30
        ).json()["events"]
        seqs = [event["seq"] for event in events]
        converged = (
            document["status"] == "promoted"
            and alias["FunctionVersion"] == version
            and "RoutingConfig" not in alias
            and seqs == sorted(set(seqs))
        )
    finally:
        server.stop()
    return {
        "converged": converged,
        "liveKills": live_kills,
        "integrity": integrity,
        "resumeS": resume_s,
    }


def run(quick: bool) -> str:
    runs = 2 if quick else 10
    results = []
    for seed in range(runs):
        with tempfile.TemporaryDirectory(prefix="apicanary-bench-crash-") as scratch:
            results.append(one_run(seed, Path(scratch)))
    kills = sum(int(str(r["liveKills"])) for r in results)
    converged = sum(1 for r in results if r["converged"])
    checks = [c for r in results for c in r["integrity"]]  # type: ignore[attr-defined]
    resume = [s for r in results for s in r["resumeS"]]  # type: ignore[attr-defined]
    rows = [
        ["rollouts", str(runs)],
        ["SIGKILLs landing mid-rollout", f"{kills} of {runs * KILLS_PER_RUN}"],
        ["runs converged (promoted, alias clean, journal in order)", f"{converged} of {runs}"],
        ["integrity_check ok after a kill", f"{checks.count('ok')} of {len(checks)}"],
        [
            "restart → controller ticked the rollout again (median / max)",
            f"{statistics.median(resume):.2f} s / {max(resume):.2f} s",
        ],
    ]
    return "## Crash recovery (bench/crash.py)\n\n" + table(["what", "result"], rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    print(run(args.quick))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
