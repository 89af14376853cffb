"""Lambda Invoke throughput for a handler in a worker process, against a direct call, and
cold-start time.

Run: ``.venv/bin/python -m bench.invoke [--quick]``.

Measured in one run, on the hello handler of bench/projects/hello (it returns a proxy response):

* **direct** — ``handler(event, context)`` called in a Python loop in this process (the floor:
  no isolation, no serialisation);
* **LambdaService.invoke, in-process** — the engine's Invoke (payload checks, alias/version
  resolution, a worker process round trip, the invocation record) on an ``Engine`` in this
  process, on uvloop, with 1 and 8 concurrent callers;
* **raw HTTP Invoke** — ``POST /2015-03-31/functions/F/invocations`` over a keep-alive
  connection (``http.client``) to a running ``apicanary serve``'s control port;
* **boto3 Invoke** — ``lambda.invoke`` against the same control port, 1 caller and 4 threads;
* **cold start** — spawn → ready (``Init Duration``) of new worker processes, N times, and the
  first invocation's total latency.
"""

from __future__ import annotations

import asyncio
import http.client
import importlib.util
import io
import os
import statistics
import tempfile
import threading
import time
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.common import (
    HELLO_HANDLER,
    apicanary_serve,
    fmt,
    percentile,
    quick_main,
    table,
)

EVENT: dict[str, Any] = {
    "resource": "/hello",
    "path": "/hello",
    "httpMethod": "GET",
    "headers": {"host": "127.0.0.1", "user-agent": "bench"},
    "multiValueHeaders": {"host": ["127.0.0.1"], "user-agent": ["bench"]},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": {"lambdaAlias": "live"},
    "requestContext": {"stage": "prod", "requestId": "r", "httpMethod": "GET"},
    "body": None,
    "isBase64Encoded": False,
}
PAYLOAD = orjson.dumps(EVENT)


def hello_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HELLO_HANDLER.read_text())
    return buffer.getvalue()


@dataclass
class Row:
    name: str
    callers: int
    calls: int
    seconds: float
    latencies_ms: list[float]
    note: str = ""

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else float("nan")


# --- direct ----------------------------------------------------------------------------------


class _Context:
    function_name = "Hello"
    function_version = "1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:Hello:1"
    memory_limit_in_mb = "128"
    aws_request_id = "r"

    def get_remaining_time_in_millis(self) -> int:
        return 3000


def _hello_handler(module_name: str) -> Callable[[dict[str, Any], Any], Any]:
    """The hello project's handler, imported in this process as ``module_name``."""
    spec = importlib.util.spec_from_file_location(module_name, HELLO_HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Callable[[dict[str, Any], Any], Any] = module.handler
    return handler


def _best_of_3(loop: Callable[[], None]) -> float:
    """The fastest of three timed runs of ``loop`` (which makes all its calls itself, so the
    timing holds no per-call overhead of ours), in seconds."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        loop()
        best = min(best, time.perf_counter() - started)
    return best


def direct(calls: int) -> Row:
    handler, context = _hello_handler("bench_hello_app"), _Context()

    def loop() -> None:
        for _ in range(calls):
            handler(EVENT, context)

    best = _best_of_3(loop)
    return Row("direct `handler(event, ctx)` in-process (best of 3)", 1, calls, best, [])


def direct_with_json(calls: int) -> Row:
    """The direct call plus what any isolation needs at least: decode the event, encode the
    result (orjson)."""
    handler, context = _hello_handler("bench_hello_app2"), _Context()

    def loop() -> None:
        for _ in range(calls):
            orjson.dumps(handler(orjson.loads(PAYLOAD), context))

    best = _best_of_3(loop)
    return Row("direct + orjson decode/encode (best of 3)", 1, calls, best, [])


# --- in-process engine -----------------------------------------------------------------------


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is installed with uvicorn[standard]
        return asyncio.new_event_loop()


async def _drive(
    call: Callable[[], Awaitable[object]], callers: int, calls: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    per_caller = calls // callers

    async def caller() -> None:
        for _ in range(per_caller):
            started = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return time.perf_counter() - started, latencies


def in_process(
    calls: int, cold_starts: int, state: Path
) -> tuple[list[Row], list[float], list[float]]:
    from apicanary.engine.engine import Engine

    loop = _new_loop()
    asyncio.set_event_loop(loop)
    engine = Engine(state)
    zip_bytes = hello_zip()
    rows: list[Row] = []
    init_ms: list[float] = []
    first_ms: list[float] = []

    async def scenario() -> None:
        lam = engine.lambdas
        lam.create_function(
            {"FunctionName": "Hello", "Runtime": "python3.11", "Handler": "app.handler",
             "Role": "arn:aws:iam::123456789012:role/bench", "Code": {"ZipFile": zip_bytes},
             "Publish": True}
        )  # fmt: skip
        for _ in range(20):  # warm: spawn the pool's workers
            await lam.invoker.invoke("Hello", "1", PAYLOAD)
        await asyncio.gather(*(lam.invoker.invoke("Hello", "1", PAYLOAD) for _ in range(16)))

        async def one() -> object:
            result = await lam.invoker.invoke("Hello", "1", PAYLOAD)
            assert result.function_error is None, result.payload
            return result

        for callers in (1, 8):
            seconds, latencies = await _drive(one, callers, calls)
            rows.append(
                Row("`LambdaService.invoke` in-process (worker process)", callers,
                    len(latencies), seconds, latencies)
            )  # fmt: skip
        for index in range(cold_starts):
            name = f"Cold{index}"
            lam.create_function(
                {"FunctionName": name, "Runtime": "python3.11", "Handler": "app.handler",
                 "Role": "arn:aws:iam::123456789012:role/bench", "Code": {"ZipFile": zip_bytes}}
            )  # fmt: skip
            started = time.perf_counter()
            result = await lam.invoker.invoke(name, None, PAYLOAD)
            first_ms.append((time.perf_counter() - started) * 1000)
            outcome = result.outcome
            assert outcome is not None and outcome.cold_start, "expected a cold start"
            init_ms.append(float(outcome.init_duration_ms or 0.0))

    try:
        loop.run_until_complete(scenario())
    finally:
        loop.run_until_complete(engine.aclose())
        loop.close()
        asyncio.set_event_loop(None)
    return rows, init_ms, first_ms


# --- over the control port --------------------------------------------------------------------


def over_http(calls: int, state: Path) -> tuple[list[Row], float]:
    rows: list[Row] = []
    # settled at once: the function is invoked right after CreateFunction (no Pending wait)
    with apicanary_serve(state, template=None, extra_args=("--lambda-state-delay", "0")) as serve:
        lam = serve.boto3("lambda")
        lam.create_function(
            FunctionName="Hello", Runtime="python3.11", Handler="app.handler",
            Role="arn:aws:iam::123456789012:role/bench", Code={"ZipFile": hello_zip()},
            Publish=True,
        )  # fmt: skip
        for _ in range(20):
            lam.invoke(FunctionName="Hello", Qualifier="1", Payload=PAYLOAD)

        # raw keep-alive HTTP: the server's cost without botocore's client-side work
        port = int(serve.control_url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port)
        path = "/2015-03-31/functions/Hello/invocations?Qualifier=1"
        latencies: list[float] = []
        started = time.perf_counter()
        for _ in range(calls):
            t0 = time.perf_counter()
            conn.request("POST", path, body=PAYLOAD, headers={"content-type": "application/json"})
            response = conn.getresponse()
            body = response.read()
            latencies.append((time.perf_counter() - t0) * 1000)
            assert response.status == 200, body
        seconds = time.perf_counter() - started
        conn.close()
        rows.append(Row("raw HTTP Invoke to the control port (keep-alive)", 1, calls, seconds,
                        latencies))  # fmt: skip

        for threads in (1, 4):
            rows.append(_boto3_rate(serve, calls, threads))

        # what botocore costs on the client: a stubbed client does everything but the network
        client_only = _botocore_client_cost(serve, min(calls, 2000))
    return rows, client_only


def _boto3_rate(serve: Any, calls: int, threads: int) -> Row:
    clients = [serve.boto3("lambda") for _ in range(threads)]
    per_thread = calls // threads
    latencies: list[float] = []
    lock = threading.Lock()

    def work(client: Any) -> None:
        mine: list[float] = []
        for _ in range(per_thread):
            t0 = time.perf_counter()
            out = client.invoke(FunctionName="Hello", Qualifier="1", Payload=PAYLOAD)
            out["Payload"].read()
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            latencies.extend(mine)

    for client in clients:  # connect + warm each client
        client.invoke(FunctionName="Hello", Qualifier="1", Payload=PAYLOAD)["Payload"].read()
    pool = [threading.Thread(target=work, args=(c,)) for c in clients]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    return Row("boto3 `lambda.invoke` to the control port", threads, len(latencies), seconds,
               latencies)  # fmt: skip


def _botocore_client_cost(serve: Any, calls: int) -> float:
    """µs per ``invoke`` spent in botocore itself (request building, signing, parsing), with
    the HTTP send replaced by a canned response."""
    from botocore.stub import Stubber

    client = serve.boto3("lambda")
    stubber = Stubber(client)
    for _ in range(calls):
        stubber.add_response(
            "invoke", {"StatusCode": 200, "ExecutedVersion": "1", "Payload": io.BytesIO(b"{}")}
        )
    with stubber:
        started = time.perf_counter()
        for _ in range(calls):
            client.invoke(FunctionName="Hello", Qualifier="1", Payload=PAYLOAD)
        seconds = time.perf_counter() - started
    return seconds / calls * 1e6


# --- report ------------------------------------------------------------------------------------


def run(quick: bool) -> str:
    calls = 2000 if quick else 10000
    direct_calls = 200_000 if quick else 1_000_000
    cold_n = 10 if quick else 30
    base = direct(direct_calls)
    base_json = direct_with_json(direct_calls // 4)
    with tempfile.TemporaryDirectory(prefix="apicanary-bench-invoke-") as tmp:
        engine_rows, init_ms, first_ms = in_process(calls, cold_n, Path(tmp) / "engine")
        http_rows, botocore_us = over_http(calls // 2 if quick else calls, Path(tmp) / "serve")
    rows = [base, base_json, *engine_rows, *http_rows]
    out = [
        "## Lambda Invoke throughput",
        "",
        "The hello handler (bench/projects/hello/src/app.py). Calls/s are sequential calls per "
        'caller \u00d7 callers; latencies are per call, in ms. "÷ direct" is the invocation rate '
        "over the direct in-process call's rate, measured in the same run.",
        "",
        table(
            [
                "path",
                "callers",
                "calls",
                "calls/s",
                "p50 ms",
                "p99 ms",
                "÷ direct",
                "times slower than direct",
            ],
            [
                [
                    row.name,
                    str(row.callers),
                    f"{row.calls:,}",
                    fmt(row.rate),
                    fmt(statistics.median(row.latencies_ms), 3) if row.latencies_ms else "\u2013",
                    fmt(percentile(row.latencies_ms, 99), 3) if row.latencies_ms else "\u2013",
                    f"{row.rate / base.rate:.2g}\u00d7" if row is not base else "1\u00d7",
                    f"{base.rate / row.rate:,.0f}\u00d7" if row is not base else "\u2013",
                ]
                for row in rows
            ],
        ),
        "",
        f"botocore's own client-side cost per `invoke` (stubbed transport, no network): "
        f"{botocore_us:.0f} µs — the boto3 rows include it; the raw HTTP row does not.",
        "",
        f"Cold start: {cold_n} new functions, each invoked once through `LambdaService.invoke` "
        "(each spawns a fresh worker process: interpreter start, bootstrap, handler import).",
        "",
        table(
            ["measure", "median ms", "p90 ms", "min ms", "max ms"],
            [
                [
                    "spawn → ready (Init Duration)",
                    fmt(statistics.median(init_ms)),
                    fmt(percentile(init_ms, 90)),
                    fmt(min(init_ms)),
                    fmt(max(init_ms)),
                ],
                [
                    "first invoke, total (cold)",
                    fmt(statistics.median(first_ms)),
                    fmt(percentile(first_ms, 90)),
                    fmt(min(first_ms)),
                    fmt(max(first_ms)),
                ],
            ],
        ),
        "",
        f"Worker processes per version: {_workers_per_version()} ({os.cpu_count()} CPUs).",
    ]
    return "\n".join(out)


def _workers_per_version() -> str:
    from apicanary.engine.engine import default_workers_per_version

    fixed = default_workers_per_version()
    if fixed is None:
        return "one per concurrent invocation, computing ones held at two per core"
    return f"at most {fixed} (APICANARY_WORKERS_PER_VERSION); 8 callers queue for them"


def main(argv: Sequence[str] | None = None) -> None:
    quick_main(__doc__, run, argv)


if __name__ == "__main__":
    main()
