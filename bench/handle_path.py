"""Cost of one request through ``Gateway.handle``, with the worker replaced by a canned answer.

Everything of the gateway's own path runs: API and stage selection, the canary draw, route
match, stage-variable substitution, alias resolution by weight, the v1 event and its JSON,
the invocation bookkeeping and listeners (metrics feed, telemetry, access log), the strict
proxy-response parse, and the housekeeping's share (the metric feed's drain and the access
log's flush). Only the worker process is left out, so the figure is the engine's per-request
overhead.

Run: ``.venv/bin/python -m bench.handle_path [N]`` prints CPU µs per request (best of five
rounds; a busy shared machine still inflates it). ``--compare-telemetry`` runs two engines in
one process, rounds interleaved: the telemetry log on file (as ``serve`` runs it: one
``write(2)`` per request) and the same log kept in memory only (as before it was durable),
and prints both and their ratio. CPU time includes the system time of the writes. For a
figure that load does not move, count instructions::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python -m bench.handle_path --only N

once with ``N = 0`` and once with ``N = 2000``; the difference over 2000 is the count per
request.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from apicanary.engine.engine import Engine
from apicanary.engine.functions.runtime import ExecutionSpec, InvocationOutcome
from apicanary.engine.gateway.messages import GatewayRequest

ANSWER = (
    b'{"statusCode": 200, "headers": {"Content-Type": "application/json"}, '
    b'"body": "{\\"ok\\": true}"}'
)
REQUEST = GatewayRequest(
    method="GET",
    path="/prod/items/42",
    query_string="page=2&sort=desc",
    headers=[
        ("host", "localhost:3000"),
        ("user-agent", "bench/1"),
        ("accept", "*/*"),
        ("x-request-id", "abc"),
    ],
    body=b"",
    source_ip="127.0.0.1",
    host="localhost:3000",
)


class CannedRuntime:
    """Answers every invocation at once with :data:`ANSWER`."""

    async def invoke(self, spec: ExecutionSpec, payload: bytes, **call: Any) -> InvocationOutcome:
        return InvocationOutcome(ANSWER, None, None, 1.0, None, False, call["request_id"], "")


def build(state_dir: Path) -> Engine:
    """An engine with one function (two versions, alias ``live`` at 90/10) behind
    ``GET /prod/items/{id}``, whose integration names the alias through a stage variable."""
    engine = Engine(state_dir, rng=random.Random(7))
    engine.lambdas.invoker.use_runtime(CannedRuntime())
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    lambdas = engine.lambdas
    lambdas.create_function(
        {
            "FunctionName": "fn",
            "Runtime": "python3.12",
            "Handler": "app.handler",
            "Code": {"ZipFile": code.getvalue()},
            "Publish": True,
        }
    )
    lambdas.update_function_configuration("fn", {"Description": "v2"})
    lambdas.publish_version("fn", {})
    routing = {"AdditionalVersionWeights": {"2": 0.1}}
    lambdas.create_alias("fn", {"Name": "live", "FunctionVersion": "1", "RoutingConfig": routing})
    apis = engine.apigateway
    api = apis.create_rest_api({"name": "bench"})
    items = apis.create_resource(api["id"], api["rootResourceId"], "items")
    item = apis.create_resource(api["id"], items["id"], "{id}")
    apis.put_method(api["id"], item["id"], "GET", {"authorizationType": "NONE"})
    function = lambdas.function_arn("fn", "${stageVariables.alias}")
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function}/invocations"
    apis.put_integration(
        api["id"], item["id"], "GET", {"type": "AWS_PROXY", "httpMethod": "POST", "uri": uri}
    )
    apis.create_deployment(api["id"], {"stageName": "prod", "variables": {"alias": "live"}})
    return engine


async def run(engine: Engine, n: int) -> None:
    for _ in range(n):
        reply = await engine.gateway.handle(REQUEST)
        assert reply.status == 200, reply
    # what the housekeeping does with those requests' records, in the same process
    engine.feed.drain()
    engine.access_log.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=2000)
    parser.add_argument("--only", action="store_true", help="run n requests once, print nothing")
    parser.add_argument(
        "--compare-telemetry", action="store_true", help="durable telemetry log vs in memory"
    )
    args = parser.parse_args()
    if args.compare_telemetry:
        compare_telemetry(args.n)
        return
    with tempfile.TemporaryDirectory() as tmp:
        engine = build(Path(tmp))
        asyncio.run(run(engine, 50))  # warm: spec cache, compiled view, code snapshot
        if args.only:
            asyncio.run(run(engine, args.n))
        else:
            best = min(_timed(engine, args.n) for _ in range(5))
            print(f"Gateway.handle, canned worker: {best / args.n * 1e6:.1f} µs per request")
        engine.store.close()


def compare_telemetry(n: int, rounds: int = 7) -> None:
    """Best CPU µs per request of each variant over interleaved rounds, and the ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        durable = build(Path(tmp) / "file")
        memory = build(Path(tmp) / "memory")
        memory.telemetry.close()  # from here on the log only keeps records in memory
        for engine in (durable, memory):
            asyncio.run(run(engine, 50))
        best = {"file": float("inf"), "memory": float("inf")}
        for _ in range(rounds):
            best["file"] = min(best["file"], _timed(durable, n))
            best["memory"] = min(best["memory"], _timed(memory, n))
        for name, seconds in best.items():
            print(f"telemetry log in {name}: {seconds / n * 1e6:.1f} µs per request")
        print(f"ratio file / memory: {best['file'] / best['memory']:.3f}")
        for engine in (durable, memory):
            engine.telemetry.close()
            engine.store.close()


def _timed(engine: Engine, n: int) -> float:
    # CPU time of this process: other work on a shared machine does not count (it still
    # slows the caches; the best of five rounds is taken)
    began = time.process_time()
    asyncio.run(run(engine, n))
    return time.process_time() - began


if __name__ == "__main__":
    main()
