"""Failed canary requests until the rollback is read back, on the real local engine.

Run: ``python -m bench.reaction [--rates 100 1000] [--runs N] [--seconds S]``.

What users see when a canary breaks is not the failures at which the statistic crossed
(``bench.detection``'s simulation) but every failed canary answer until the canary stops
receiving traffic. This benchmark measures that end to end, in one process: the real engine
(gateway, Lambda workers, telemetry log), the real controller ticked by the real scheduler
with evidence pushed (``server/app.py``: a failed request wakes it), an alias at 10 %, and an
open-loop client launching requests at a fixed rate through the gateway's request path (no
HTTP socket: the load generator would otherwise be the bottleneck on a small machine). The
canary is in outage: every request it serves fails. Per run:

* ``decided``: canary failures the analysis had counted when it rolled back;
* ``clients saw``: canary 5xx answers clients received in total (requests already routed to
  the canary when the rollback read back still fail);
* ``reaction``: from the gateway record of the failure at which the test crossed (the
  decided-th canary failure) until the client loop, polling the journal every 2 ms, sees the
  rollout rolled back (the journal is saved after the rollback was read back): an upper bound.

The achieved rate is reported beside the offered one: on a shared machine the engine may not
sustain it, and then the figures are for the rate achieved.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from apicanary.engine.engine import Engine
from apicanary.engine.gateway.messages import GatewayRequest, RequestRecord
from apicanary.engine.provision import provision
from apicanary.platform.local import LocalPlatform
from apicanary.project.loader import load_project
from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal
from apicanary.rollout.scheduler import Scheduler
from apicanary.rollout.service import start_rollout
from apicanary.server.app import push_failures_to
from bench.common import table

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      Name: reaction-api
      StageName: prod
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
          Properties: {Path: /x, Method: get, RestApiId: !Ref Api}
"""
HANDLER = """\
def handler(event, context):
    if context.function_version == "2":
        raise RuntimeError("the canary is down")
    return {"statusCode": 200, "body": "ok"}
"""
STRATEGY = {"steps": [{"setWeight": 10}, {"pause": {}}]}
REQUEST = GatewayRequest("GET", "/prod/x", "", [], b"", "127.0.0.1", None)


@dataclass(frozen=True)
class Run:
    rate: float  # achieved requests/s
    decided: int
    clients_saw: int
    reaction_ms: float


recorded: list[float] = []  # when each canary 5xx gateway record was written (perf_counter)


def _record_canary_failures(record: RequestRecord) -> None:
    if record.executed_version == "2" and record.status >= 500:
        recorded.append(time.perf_counter())


async def _one_run(
    engine: Engine, controller: Controller, journal: Journal, rate: float, max_s: float
) -> Run:
    engine.lambdas.update_alias("Fn", "live", {"FunctionVersion": "1", "RoutingConfig": {}})
    platform = controller.platform
    rollout = start_rollout(
        controller, platform, {"function": "Fn", "alias": "live", "toVersion": "2",
                               "strategy": STRATEGY},
    )  # fmt: skip
    rid = rollout["id"]
    while journal.load(rid).document["status"] != "waiting":
        await asyncio.sleep(0.01)
    failures: list[float] = []  # when each canary 5xx was answered (perf_counter)
    sent = 0
    recorded.clear()
    tasks: set[asyncio.Task[None]] = set()

    async def one() -> None:
        reply = await engine.gateway.handle(REQUEST)
        headers = dict(reply.headers)
        if headers.get(b"x-apicanary-executed-version") == b"2" and reply.status >= 500:
            failures.append(time.perf_counter())

    started = time.perf_counter()
    while time.perf_counter() - started < max_s:
        due = int((time.perf_counter() - started) * rate) + 1
        while sent < due:
            task = asyncio.ensure_future(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        document = journal.load(rid).document
        if document["terminal"]:
            break
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - started
    seen_rolled_back = time.perf_counter()
    await asyncio.gather(*tasks)
    document = journal.load(rid).document
    if document["status"] != "rolled_back":
        raise RuntimeError(f"run at {rate}/s: rollout ended {document['status']}")
    decided = int(document["progress"]["canaryErrors"])
    crossing = recorded[decided - 1]
    return Run(sent / elapsed, decided, len(failures), (seen_rolled_back - crossing) * 1000)


async def measure(rates: Sequence[float], runs: int, max_s: float) -> dict[float, list[Run]]:
    root = Path(tempfile.mkdtemp(prefix="apicanary-reaction-"))
    (root / "project" / "src").mkdir(parents=True)
    (root / "project" / "template.yaml").write_text(TEMPLATE)
    (root / "project" / "src" / "app.py").write_text(HANDLER.replace('"2"', '"0"'))
    engine = Engine(root / "state", rng=random.Random(7))
    provision(engine, load_project(root / "project" / "template.yaml"))
    (root / "project" / "src" / "app.py").write_text(HANDLER)
    engine.lambdas.wait_settled("Fn")
    engine.lambdas.publish_version("Fn", {})
    journal = Journal(engine.store)
    controller = Controller(
        journal, LocalPlatform(engine, asyncio.get_running_loop()), engine.clock
    )
    scheduler = Scheduler(controller, journal)
    push_failures_to(engine, scheduler.poke)
    engine.gateway.add_listener(_record_canary_failures)
    ticking = asyncio.ensure_future(scheduler.run())
    results: dict[float, list[Run]] = {}
    try:
        for rate in rates:
            results[rate] = [
                await _one_run(engine, controller, journal, rate, max_s) for _ in range(runs)
            ]
    finally:
        ticking.cancel()
        await engine.aclose()
    return results


def report(results: dict[float, list[Run]]) -> str:
    rows = []
    for rate, runs in results.items():
        saw = [r.clients_saw for r in runs]
        rows.append([
            f"{rate:g}", f"{statistics.mean(r.rate for r in runs):.0f}", str(len(runs)),
            f"{statistics.mean(saw):.2f} (max {max(saw)})",
            f"{statistics.mean(r.decided for r in runs):.2f}",
            f"{statistics.median(r.reaction_ms for r in runs):.0f} ms "
            f"(max {max(r.reaction_ms for r in runs):.0f})",
        ])  # fmt: skip
    return table(
        ["offered req/s", "achieved req/s", "runs",
         "failed canary req. until rollback read back, mean (max)",
         "counted at the decision, mean", "crossing → rollback read back, median (max)"],
        rows,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[100.0, 1000.0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0, help="cap per run")
    args = parser.parse_args(argv)
    began = time.monotonic()
    results = asyncio.run(measure(args.rates, args.runs, args.seconds))
    print(report(results))
    print(f"\n{sum(len(r) for r in results.values())} runs in {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
