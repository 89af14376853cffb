"""Detection through the AWS backend against the engine: per-request evidence from CloudWatch
Logs with a set ingestion delay, next to the local backend and a CodeDeploy-style alarm.

Run: ``python -m bench.aws_detection [--runs N] [--good-runs N] [--delays 0,5,15]
[--rates 10,100]``. Prints a markdown report.

Per cell (``serve --logs-delay D``, R req/s open-loop through the API to the alias ``live``,
stable failing 1 % of requests at random):

* **bad canary** (an outage: every request raises): ``rollout start --backend aws
  --endpoint-url <control port>`` with ``setWeight 10`` then a 5-minute pause, in its own
  process as a user runs it. Counted: canary requests answered 5xx that were sent before the
  rollback was read back (GetAlias polled every 50 ms shows the canary weight gone), from
  the clients' side (``x-apicanary-executed-version``).
* the **local backend** at the same rates (the server's own controller, reading the engine's
  telemetry log): the baseline for "0 s delay within 1.5x of the local figure".
* **good canary** (the same code as stable): the rollout runs its bake (``--good-bake-s``);
  a rollback is a false rollback.
* **CodeDeploy-style alarm** on the engine's one-minute metrics: ``AWS/Lambda Errors`` (Sum,
  60 s, 1 of 1) of the canary version under the alias, threshold calibrated as in
  bench/detection.py (Errors >= 5 at 10 req/s, >= 15 at 100 req/s for p0 1 %, 10 % share);
  the alias is set to 10 % directly and the failed canary requests are counted until the
  alarm is in ALARM, fed by the same traffic generator.

Nothing here asserts a time; the machine is shared, so figures carry its noise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from apicanary.server.process import ServerProcess, spawn_server

PROJECT = Path(__file__).resolve().parent / "projects" / "awsdetect"
P0 = 0.01
SHARE = 10
ALARM_THRESHOLD = {10: 5, 100: 15}
HANDLER = """\
# release {release}
import random

def handler(event, context):
    if {outage} or random.random() < {p0}:
        raise RuntimeError("failed request")
    return {{"statusCode": 200, "body": "ok"}}
"""
_CODE: dict[str, Path] = {}  # control URL -> the code directory its template points at
ENV = {
    **os.environ,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class Traffic:
    """Open-loop requests at ``rate`` per second; every answer recorded."""

    server: ServerProcess
    rate: float
    answers: list[tuple[float, int, str]] = field(default_factory=list)  # sent, status, version
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Traffic:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)

    async def _run(self) -> None:
        host = {"Host": f"{self.server.api_id('detect-api')}.execute-api.localhost"}
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        async with httpx.AsyncClient(
            base_url=self.server.gateway_url, headers=host, limits=limits, timeout=10
        ) as client:
            start = time.monotonic()
            tasks: set[asyncio.Task[None]] = set()
            i = 0
            while not self._stop.is_set():
                due = start + i / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(self._one(client))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                i += 1
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, client: httpx.AsyncClient) -> None:
        sent = time.time()
        try:
            answer = await client.get("/prod/hello")
        except httpx.HTTPError:
            self.answers.append((sent, 0, ""))
            return
        version = answer.headers.get("x-apicanary-executed-version", "")
        self.answers.append((sent, answer.status_code, version))

    def failed(self, version: str, until: float) -> int:
        return sum(1 for t, s, v in list(self.answers) if v == version and s >= 500 and t <= until)


def _client(server: ServerProcess, service: str) -> Any:
    import boto3

    return boto3.client(
        service, endpoint_url=server.control_url, region_name="us-east-1",
        aws_access_key_id="bench", aws_secret_access_key="bench",
    )  # fmt: skip


def publish(server: ServerProcess, *, outage: bool) -> str:
    """A new version: an outage, or the stable code (failing ``P0`` of requests)."""
    code = HANDLER.format(release=time.time_ns(), outage=outage, p0=P0)
    (_CODE[server.control_url] / "app.py").write_text(code)
    version = _client(server, "lambda").publish_version(FunctionName="Fn")["Version"]
    return str(version)


def watch_alias(
    server: ServerProcess, version: str, timeout_s: float
) -> tuple[float | None, float | None]:
    """(when the canary got weight, when it lost it again), wall seconds."""
    lam = _client(server, "lambda")
    shifted = back = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alias = lam.get_alias(FunctionName="Fn", Name="live")
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        now = time.time()
        if shifted is None and version in weights:
            shifted = now
        if shifted is not None and version not in weights:
            back = now
            break
        time.sleep(0.05)
    return shifted, back


@dataclass
class Result:
    failed: int | None  # None: not rolled back within the time allowed
    rolled_back: bool
    seconds: float | None


def one_rollout(
    server: ServerProcess, rate: float, *, backend: str, outage: bool, bake_s: float, journal: Path
) -> Result:
    strategy = journal / "strategy.yaml"
    journal.mkdir(parents=True, exist_ok=True)
    strategy.write_text(f"steps:\n  - setWeight: {SHARE}\n  - pause: {{duration: {bake_s:g}s}}\n")
    traffic = Traffic(server, rate).start()
    try:
        time.sleep(3)  # a stable baseline before the canary
        version = publish(server, outage=outage)
        base = [sys.executable, "-m", "apicanary", "rollout", "start", "-f", "Fn", "-a", "live",
                "--to-version", version, "--strategy", str(strategy),
                "--output", "json"]  # fmt: skip
        if backend == "aws":
            base += ["--backend", "aws", "--endpoint-url", server.control_url,
                     "--state-dir", str(journal)]  # fmt: skip
        else:
            base += ["--control-url", server.control_url, "--wait"]
        process = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=ENV)  # fmt: skip
        shifted, back = watch_alias(server, version, bake_s + 120)
        out, _ = process.communicate(timeout=bake_s + 180)
        status = json.loads(out).get("status") if out.strip().startswith("{") else "?"
        time.sleep(0.5)
    finally:
        traffic.stop()
    rolled_back = status == "rolled_back"
    if back is None or not rolled_back:
        return Result(None, rolled_back, None)
    return Result(traffic.failed(version, back), True, None if shifted is None else back - shifted)


def alarm_run(server: ServerProcess, rate: int, timeout_s: float = 300) -> Result:
    """A CodeDeploy-style alarm on the canary's one-minute Errors, fed by the same traffic."""
    lam, cw = _client(server, "lambda"), _client(server, "cloudwatch")
    traffic = Traffic(server, rate).start()
    try:
        time.sleep(3)
        version = publish(server, outage=True)
        stable = lam.get_alias(FunctionName="Fn", Name="live")["FunctionVersion"]
        name = f"canary-errors-{version}"
        cw.put_metric_alarm(
            AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum",
            Dimensions=[{"Name": "FunctionName", "Value": "Fn"},
                        {"Name": "Resource", "Value": "Fn:live"},
                        {"Name": "ExecutedVersion", "Value": version}],
            Period=60, EvaluationPeriods=1, Threshold=ALARM_THRESHOLD[rate],
            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
        )  # fmt: skip
        lam.update_alias(FunctionName="Fn", Name="live", FunctionVersion=stable,
                         RoutingConfig={"AdditionalVersionWeights": {version: SHARE / 100}},
                         )  # fmt: skip
        shifted = time.time()
        fired = None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            alarms = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
            if alarms and alarms[0]["StateValue"] == "ALARM":
                fired = time.time()
                break
            time.sleep(0.2)
        lam.update_alias(FunctionName="Fn", Name="live", FunctionVersion=stable,
                         RoutingConfig={"AdditionalVersionWeights": {}})  # fmt: skip
        back = time.time()
        time.sleep(0.5)
    finally:
        traffic.stop()
    if fired is None:
        return Result(None, False, None)
    return Result(traffic.failed(version, back), True, fired - shifted)


def summary(results: Sequence[Result]) -> str:
    caught = [r for r in results if r.failed is not None]
    if not caught:
        return f"not rolled back in {len(results)} runs"
    failed = [float(r.failed or 0) for r in caught]
    secs = [r.seconds for r in caught if r.seconds is not None]
    missed = len(results) - len(caught)
    text = f"{statistics.mean(failed):.1f} (max {max(failed):.0f})"
    if secs:
        text += f" / {statistics.mean(secs):.1f} s"
    return text + (f", {missed} missed" if missed else "")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="bad-canary runs per cell")
    parser.add_argument("--good-runs", type=int, default=2, help="good-canary runs per cell")
    parser.add_argument("--good-bake-s", type=float, default=60.0)
    parser.add_argument("--delays", default="0,5,15")
    parser.add_argument("--rates", default="10,100")
    parser.add_argument("--no-alarm", action="store_true")
    args = parser.parse_args(argv)
    delays = [float(d) for d in args.delays.split(",")]
    rates = [int(r) for r in args.rates.split(",")]
    rows: list[list[str]] = []
    notes: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="aws-detect-") as tmp:
        root = Path(tmp)
        for delay in delays:
            state = root / f"state-{delay:g}"
            with _serve(state, delay) as server:
                for rate in rates:
                    cells: dict[str, str] = {}
                    bad = [one_rollout(server, rate, backend="aws", outage=True, bake_s=300,
                                           journal=root / f"j-{delay:g}-{rate}-{i}")
                               for i in range(args.runs)]  # fmt: skip
                    cells["aws"] = summary(bad)
                    if delay == 0:
                        local = [one_rollout(server, rate, backend="local", outage=True,
                                                 bake_s=300, journal=root / f"l-{rate}-{i}")
                                     for i in range(args.runs)]  # fmt: skip
                        cells["local"] = summary(local)
                        if not args.no_alarm:
                            cells["alarm"] = summary([alarm_run(server, rate)])
                    good = [one_rollout(server, rate, backend="aws", outage=False,
                                            bake_s=args.good_bake_s,
                                            journal=root / f"g-{delay:g}-{rate}-{i}")
                                for i in range(args.good_runs)]  # fmt: skip
                    false = sum(1 for r in good if r.rolled_back)
                    rows.append([f"{delay:g} s", str(rate), cells["aws"],
                                     cells.get("local", ""), cells.get("alarm", ""),
                                     f"{false} of {len(good)}"])  # fmt: skip
                    print(rows[-1], flush=True)
    header = ["logs delay", "req/s", "AWS backend: failed canary requests (max) / time to rollback",
              "local backend (same run)", "CodeDeploy-style alarm",
              "good canaries rolled back"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    elapsed = time.monotonic() - started
    notes.append(
        f"{args.runs} bad-canary runs and {args.good_runs} good-canary runs "
        f"({args.good_bake_s:g}-s bake) per cell, 1 alarm run per rate; p0 {P0:.0%}, canary "
        f"share {SHARE} %; took {elapsed:.0f} s on a shared 2-core machine."
    )
    print("\n".join([*lines, "", *notes]))


class _serve:
    def __init__(self, state: Path, delay: float) -> None:
        self.state, self.delay = state, delay

    def __enter__(self) -> ServerProcess:
        project = self.state.parent / f"{self.state.name}-project"
        (project / "src").mkdir(parents=True, exist_ok=True)
        (project / "template.yaml").write_text((PROJECT / "template.yaml").read_text())
        (project / "src" / "app.py").write_text(HANDLER.format(release=0, outage=False, p0=P0))
        self.server = spawn_server(
            self.state, project / "template.yaml", seed=1,
            extra_args=["--logs-delay", f"{self.delay:g}s"],
        )  # fmt: skip
        _CODE[self.server.control_url] = project / "src"
        return self.server

    def __exit__(self, *exc: Any) -> None:
        self.server.stop()


if __name__ == "__main__":
    main()
