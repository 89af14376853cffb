"""What the engine's CloudWatch Logs feeds cost per request, next to the existing access log.

Run: ``.venv/bin/python -m bench.logs_feed [--requests N]``.

Per request the engine now does, besides what it did before: the runtime's tap copies the
invocation's transcript (one write: START, one function line, END, REPORT) into a list; the
gateway's record goes to the access-log feed's list. In the housekeeping both are formatted
and stored: the transcript as Lambda's Text or JSON events, the record rendered with the
stage's ``$context`` format. The baseline, measured in the same run, is the engine's
existing per-request off-path work of the same kind: ``AccessLog`` (one JSON line per
request appended to ``<state>/logs/access.log``), add and flush. Wall-clock time, best of 5;
the machine may be shared, so read the ratios rather than the microseconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from apicanary.clock import SystemClock
from apicanary.engine.gateway.access_log import AccessLog
from apicanary.engine.gateway.messages import RequestRecord
from apicanary.engine.logs.feed import AccessLogFeed, AccessLogSettings, LambdaLogFeed, LogSettings
from apicanary.engine.logs.store import LogStore

FORMAT = (
    '{"requestId":"$context.requestId","status":"$context.status",'
    '"integrationStatus":"$context.integration.status","latency":"$context.responseLatency",'
    '"integrationLatency":"$context.integrationLatency","ip":"$context.identity.sourceIp"}'
)
ARN = "arn:aws:logs:us-east-1:123456789012:log-group:access"


def _transcript(i: int) -> bytes:
    rid = f"{i:08d}-0000-4000-8000-000000000000"
    return (
        f"START RequestId: {rid} Version: 3\n"
        f"[INFO]\t2024-05-01T00:00:00.000Z\t{rid}\thandled /items/{i}\n"
        f"END RequestId: {rid}\n"
        f"REPORT RequestId: {rid}\tDuration: 1.23 ms\tBilled Duration: 2 ms\t"
        f"Memory Size: 128 MB\tMax Memory Used: 41 MB\t\n"
    ).encode()


def _record(i: int) -> RequestRecord:
    return RequestRecord(
        timestamp=time.time(), request_id=f"{i:08d}-0000-4000-8000-000000000000", api_id="abc",
        api_name="api", stage="prod", is_canary=i % 10 == 0, deployment_id="d",
        resource_path="/items/{id}", method="GET", function_name="F", qualifier="live",
        executed_version="3", status=200, latency_ms=3.2, integration_latency_ms=2.9,
        cold_start=False, error_type=None, path=f"/prod/items/{i}", source_ip="127.0.0.1",
    )  # fmt: skip


def _best(run: Callable[[], None], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    n = parser.parse_args().requests
    transcripts = [_transcript(i) for i in range(n)]
    records = [_record(i) for i in range(n)]

    def lambda_feed(log_format: str) -> Callable[[], None]:
        def run() -> None:
            store = LogStore(SystemClock())
            settings = LogSettings("/aws/lambda/F", log_format)
            feed = LambdaLogFeed(store, lambda f, v: settings)
            tap = feed.tap("F", "3", "2024/05/01/[3]" + "a" * 32)
            for data in transcripts:
                tap(data)
            feed.drain()

        return run

    def access_feed() -> None:
        store = LogStore(SystemClock())
        feed = AccessLogFeed(store, lambda api, stage: AccessLogSettings(ARN, FORMAT))
        for record in records:
            feed.add(record)
        feed.drain()

    with tempfile.TemporaryDirectory() as scratch:
        counter = iter(range(1_000_000))

        def baseline() -> None:
            log = AccessLog(Path(scratch) / f"access-{next(counter)}.log")
            for record in records:
                log.add(record)
            log.flush()

        base = _best(baseline)
        rows = [
            ("existing access.log (baseline)", base),
            ("Lambda lines, Text", _best(lambda_feed("Text"))),
            ("Lambda lines, JSON", _best(lambda_feed("JSON"))),
            ("access-log feed ($context format)", _best(access_feed)),
        ]
    print(f"{n} requests, best of 5 (machine possibly shared)")
    for name, seconds in rows:
        per = seconds / n * 1e6
        print(f"  {name:38s} {per:7.2f} µs/request  {seconds / base:5.2f}× baseline")


if __name__ == "__main__":
    main()
