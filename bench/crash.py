"""Crash recovery under traffic: SIGKILL ``apicanary serve`` at seeded points of rollouts that
are doing something, restart, converge.

Full mode: 10 seeded rollouts × 5 kills = 50 kill points; quick: 2 × 5. Clients send requests
through the gateway throughout (following the server to its new ports after each restart);
a tenth of the requests fail on both versions, and every other rollout is a **bad** canary
(version 2 also fails a third of the requests it serves). Each rollout runs analysis steps
(alias 10 % → analysis → 50 % → analysis; a good one is then held, traffic stopped, and
promoted by a human; a bad one must be rolled back by the tests). After each kill the SQLite
file's ``integrity_check`` is read; the server restarts on the same state directory and the
controller resumes from its journal. Reported: runs that ended right (good → promoted, bad →
rolled back, alias clean, events in order), integrity, the time from a restart until the
controller ticked again, and the failures the rollouts counted per arm against the 5xx answers
clients received from that version, request id for request id: after the run, the rollout's
journalled cursor and the engine's telemetry log (on file under the state directory) say which
answers the rollout had read; counted must equal the clients' 5xx among them, every answer a
client received must be in the log, and only a bad canary's last answers (routed to it before
the rollback, answered after the rollout's last read) may be left unread.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import boto3
import httpx
import orjson

from apicanary.engine.telemetry import TelemetryLog
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
      Events:
        Any:
          Type: Api
          Properties: {Path: /x, Method: get}
"""
HANDLER = """\
def handler(event, context):
    query = event.get("queryStringParameters") or {}
    if query.get("mode") == "raise":
        raise ValueError("the same failures on every version")
    if query.get("fail") == context.function_version:
        raise ValueError("this version is broken")
    return {"statusCode": 200, "body": "%s"}
"""
STRATEGY: dict[str, Any] = {
    "steps": [
        {"setWeight": 10},
        {"analysis": {}},
        {"setWeight": 50},
        {"analysis": {}},
        {"pause": {}},
    ],
    "analysis": {"minDwell": "2s", "maxExtension": "5s", "onUnverified": "promote-unverified"},
}
KILLS_PER_RUN = 5


def _project(root: Path, tag: str) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "src" / "app.py").write_text(HANDLER % tag)
    return root / "template.yaml"


class _Clients:
    """Threads sending requests to whatever server is current; 5xx request ids per version."""

    def __init__(self, url: Callable[[], str], bad: bool, clients: int = 3) -> None:
        self.url, self.bad = url, bad
        self.failures: dict[str, set[str]] = {"1": set(), "2": set()}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)
        ]
        for thread in self._threads:
            thread.start()

    def _path(self, n: int) -> str:
        if n % 10 == 0:
            return "/Prod/x?mode=raise"
        return "/Prod/x?fail=2" if self.bad and n % 3 == 1 else "/Prod/x"

    def _run(self, index: int) -> None:
        n = index
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    answer = client.get(self.url() + self._path(n))
                except httpx.HTTPError:
                    self._stop.wait(0.05)
                    continue
                finally:
                    n += 7  # co-prime with 10 and 3: every client sends every kind
                version = answer.headers.get("x-apicanary-executed-version", "")
                if answer.status_code >= 500:
                    with self._lock:
                        self.failures.setdefault(version, set()).add(
                            answer.headers.get("x-amzn-RequestId", "")
                        )
                self._stop.wait(0.01)

    def stop(self) -> dict[str, set[str]]:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)
        return dict(self.failures)


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


def _audit(state: Path, rollout_id: str, seen: dict[str, set[str]]) -> dict[str, int]:
    """With the server stopped: the failures the rollout journalled per arm against the 5xx
    answers clients got, split by whether the rollout's cursor had passed their records."""
    with sqlite3.connect(state / "state.sqlite3") as conn:
        row = conn.execute("SELECT document FROM rollouts WHERE id = ?", (rollout_id,)).fetchone()
    document = orjson.loads(row[0])
    log = TelemetryLog(directory=state / "telemetry")
    held = log.since(0)
    log.close()
    cursor = document["cursor"]
    first = held.cursor - len(held.records)
    read_ids = {r.request_id for r in held.records[: cursor["at"] - first]}
    all_ids = {r.request_id for r in held.records}
    audit = {"sameLog": int(cursor["log"] == log.uid and held.dropped == 0)}
    for arm, version in (("stable", "1"), ("canary", "2")):
        audit[f"{arm}Seen"] = len(seen[version])
        audit[f"{arm}SeenRead"] = len(seen[version] & read_ids)
        audit[f"{arm}Counted"] = int(document["progress"][f"{arm}Errors"])
        audit[f"{arm}NotInLog"] = len(seen[version] - all_ids)
    return audit


def one_run(seed: int, workdir: Path) -> dict[str, object]:
    rng = random.Random(seed)
    bad = seed % 2 == 1
    template = _project(workdir / "project", "v1")
    state = workdir / "state"
    server = spawn_server(state, template)
    current = [server]
    integrity: list[str] = []
    resume_s: list[float] = []
    live_kills = 0
    clients: _Clients | None = None
    seen: dict[str, set[str]] = {"1": set(), "2": set()}
    try:
        _project(workdir / "project", "v2")
        version = _lambda(server).publish_version(FunctionName="Fn")["Version"]
        strategy = STRATEGY
        if bad:  # kills eat the dwell time: a bad canary must not pass on time alone
            strategy = {**STRATEGY, "analysis": {**STRATEGY["analysis"], "onUnverified": "stop"}}
        rollout_id = httpx.post(
            f"{server.control_url}/_apicanary/rollouts",
            json={"function": "Fn", "alias": "live", "toVersion": version, "strategy": strategy},
            timeout=30,
        ).json()["id"]
        while _rollout(server, rollout_id)["effectiveShare"] == 0:
            time.sleep(0.05)
        clients = _Clients(lambda: current[0].gateway_url, bad)
        for _ in range(KILLS_PER_RUN):
            time.sleep(rng.uniform(0.0, 0.8))
            live_kills += not _rollout(server, rollout_id)["terminal"]
            before = _rollout(server, rollout_id)["updatedAt"]
            server.process.kill()
            server.process.wait(10)
            with sqlite3.connect(state / "state.sqlite3") as conn:
                integrity.append(str(conn.execute("PRAGMA integrity_check").fetchone()[0]))
            restarted = time.monotonic()
            server = current[0] = spawn_server(state, template)
            while True:  # until the controller ticked it again (an ended one is not ticked)
                after = _rollout(server, rollout_id)
                if after["updatedAt"] != before or after["terminal"]:
                    break
                time.sleep(0.02)
            if not after["terminal"]:
                resume_s.append(time.monotonic() - restarted)
        deadline = time.monotonic() + 60
        wanted = ("rolled_back",) if bad else ("rolled_back", "waiting")
        document = _rollout(server, rollout_id)
        while document["status"] not in wanted and time.monotonic() < deadline:
            time.sleep(0.1)
            document = _rollout(server, rollout_id)
        seen = clients.stop()
        time.sleep(1.0)  # the last answers are read
        if not bad:
            httpx.post(
                f"{server.control_url}/_apicanary/rollouts/{rollout_id}/intents",
                json={"kind": "promote"},
                timeout=30,
            )
        while not document["terminal"] and time.monotonic() < deadline:
            time.sleep(0.1)
            document = _rollout(server, rollout_id)
        alias = _lambda(server).get_alias(FunctionName="Fn", Name="live")
        events = httpx.get(
            f"{server.control_url}/_apicanary/rollouts/{rollout_id}/events", timeout=30
        ).json()["events"]
        seqs = [event["seq"] for event in events]
        converged = (
            document["status"] == ("rolled_back" if bad else "promoted")
            and alias["FunctionVersion"] == ("1" if bad else version)
            and "RoutingConfig" not in alias
            and seqs == sorted(set(seqs))
        )
    finally:
        if clients is not None:
            clients.stop()
        server.stop()
    return {
        "bad": bad,
        "converged": converged,
        "liveKills": live_kills,
        "integrity": integrity,
        "resumeS": resume_s,
        **_audit(state, rollout_id, seen),
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

    def total(key: str) -> int:
        return sum(int(str(r[key])) for r in results)

    exact = sum(
        1
        for r in results
        if r["sameLog"] and all(r[f"{a}Counted"] == r[f"{a}SeenRead"] for a in ("stable", "canary"))
    )

    def unread(r: dict[str, object], arm: str) -> int:
        return int(str(r[f"{arm}Seen"])) - int(str(r[f"{arm}SeenRead"]))

    good_unread = sum(unread(r, a) for r in results if not r["bad"] for a in ("stable", "canary"))
    bad_unread = [unread(r, "canary") for r in results if r["bad"]] or [0]
    rows = [
        ["rollouts (half of them a bad canary), clients sending throughout", str(runs)],
        ["SIGKILLs landing mid-rollout", f"{kills} of {runs * KILLS_PER_RUN}"],
        [
            "runs that ended right (good promoted, bad rolled back; alias clean, journal in order)",
            f"{converged} of {runs}",
        ],
        [
            "runs whose counted failures equal, per arm, the clients' 5xx the rollout read",
            f"{exact} of {runs}",
        ],
        [
            "failures counted ÷ 5xx clients got, stable / canary (sum over runs)",
            f"{total('stableCounted')} ÷ {total('stableSeen')} / "
            f"{total('canaryCounted')} ÷ {total('canarySeen')}",
        ],
        [
            "5xx answers clients got that are missing from the telemetry log",
            str(total("stableNotInLog") + total("canaryNotInLog")),
        ],
        ["good runs: 5xx clients got that the rollout never read (sum)", str(good_unread)],
        [
            "bad runs: canary 5xx answered after the rollout's last read (routed to it before "
            "the rollback), max per run",
            str(max(bad_unread)),
        ],
        ["integrity_check ok after a kill", f"{checks.count('ok')} of {len(checks)}"],
        [
            "restart → controller ticked the rollout again (median / max)",
            f"{statistics.median(resume):.2f} s / {max(resume):.2f} s",
        ],
    ]
    return "## Crash recovery under traffic (bench/crash.py)\n\n" + table(["what", "result"], rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    print(run(args.quick))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
