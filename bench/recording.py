"""What ``serve --record`` costs the gateway per request, in instructions (callgrind).

Run: ``.venv/bin/python -m bench.recording [--quick]``. Needs ``valgrind``.

Two measurements, each with recording off and on, for a GET with eight headers (two of them
redacted) with and without a 2 KB body:

* **serve**: ``apicanary serve --template bench/projects/hello`` runs under ``valgrind
  --tool=callgrind`` and gets real HTTP requests from this process, one at a time: the
  gateway's whole CPU per request (HTTP parsing, the request path, the access log, the
  housekeeping that flushes the capture). This is the figure the goal (at most 5 %) is about.
* **handle**: a child process sends requests straight to ``Gateway.handle`` (API and route
  selection, the proxy event, the round trip to a worker, response parsing, the records),
  flushing the recorder every 64 requests. Without the HTTP server in the denominator the
  recording's share looks larger: an upper bound.

Worker processes run outside valgrind; only the gateway's process is counted. Instructions
per request are the difference between a long and a short run divided by the difference in
requests, which cancels start-up and shutdown. Instruction counts do not depend on what else
the machine is doing, so the figures hold under load (wall time would not).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from apicanary.server.process import read_ready
from bench.common import HELLO_PROJECT, REPO, free_port, stop_process, table

HEADERS = [
    ("host", "abc123.execute-api.localhost:3000"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
    ("accept", "application/json"),
    ("accept-encoding", "gzip, deflate, br"),
    ("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"),
    ("cookie", "session=abc123; theme=dark"),
    ("x-request-id", "5d6f1c2e-8b1f-4c3e-9a7d-0f1e2d3c4b5a"),
    ("x-api-key", "k-1234567890"),
]
CASES = {"GET, 8 headers": b"", "GET, 8 headers, 2 KB body": b'{"pad": "' + b"x" * 2030 + b'"}'}


async def _child(requests: int, record: bool, body: bytes) -> None:
    from apicanary.engine.engine import Engine
    from apicanary.engine.gateway.messages import GatewayRequest
    from apicanary.engine.gateway.recording import RecordingSettings
    from apicanary.engine.provision import provision
    from apicanary.project.loader import load_project

    scratch = Path(tempfile.mkdtemp(prefix="apicanary-bench-recording-"))
    engine = Engine(scratch / "state", max_workers_per_version=1)
    try:
        provision(engine, load_project(HELLO_PROJECT / "template.yaml"))
        recorder = None
        if record:
            settings = RecordingSettings(scratch / "capture.jsonl").with_redacted(("x-api-key",))
            recorder = engine.record_requests(settings)
        request = GatewayRequest(
            "GET", "/prod/hello", "name=ada&lang=en", HEADERS, body, "127.0.0.1", None
        )
        for _ in range(20):  # the worker starts, caches warm up
            await engine.gateway.handle(request)
        for index in range(requests):
            reply = await engine.gateway.handle(request)
            assert reply.status == 200, reply
            if recorder is not None and index % 64 == 63:
                recorder.flush()
        if recorder is not None:
            recorder.flush()
            assert recorder.written == requests + 20, recorder.written
    finally:
        await engine.aclose()
        shutil.rmtree(scratch, ignore_errors=True)


def _instructions(requests: int, record: bool, case: str) -> int:
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            sys.executable, "-m", "bench.recording", "--child", str(requests),
            "on" if record else "off", case,
        ]  # fmt: skip
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"callgrind run failed: {done.stderr[-2000:]}")
        match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if match is None:
            raise RuntimeError("no instruction total in the callgrind output")
        return int(match.group(1))


def _serve_instructions(requests: int, record: bool, case: str) -> int:
    """Total instructions of a ``serve`` process that answered ``requests`` (+20) requests."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        gateway, control = free_port(), free_port()
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            sys.executable, "-m", "apicanary", "serve", "--output", "json",
            "--template", str(HELLO_PROJECT / "template.yaml"),
            "--state-dir", str(Path(directory) / "state"),
            "--port", str(gateway), "--control-port", str(control),
        ]  # fmt: skip
        if record:
            command += ["--record", str(Path(directory) / "capture.jsonl")]
            command += ["--record-redact", "x-api-key"]
        process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            read_ready(process, 600.0)
            headers = [(k, v) for k, v in HEADERS if k != "host"]
            with httpx.Client(base_url=f"http://127.0.0.1:{gateway}", timeout=60) as client:
                for _ in range(requests + 20):
                    reply = client.request(
                        "GET", "/prod/hello?name=ada&lang=en", headers=headers,
                        content=CASES[case],
                    )  # fmt: skip
                    assert reply.status_code == 200, reply.text
        finally:
            stop_process(process, 120.0)
        if record:
            recorded = (Path(directory) / "capture.jsonl").read_bytes().count(b"\n")
            assert recorded == requests + 20, recorded
        match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if match is None:
            raise RuntimeError("no instruction total in the callgrind output")
        return int(match.group(1))


def run(quick: bool) -> str:
    """Markdown: instructions per request with recording off and on, and the added share."""
    if shutil.which("valgrind") is None:
        return "(valgrind is not installed: no measurement)"
    short, long = (100, 400) if quick else (200, 1200)
    parts = []
    for name, measure in (("serve", _serve_instructions), ("handle", _instructions)):
        parts.append(_table(name, measure, short, long))
    return (
        "## What `serve --record` costs per request (bench/recording.py)\n\n"
        f"Instructions (callgrind Ir) per request, from runs of {short} and {long} requests; "
        "*serve* is the whole gateway process over HTTP, *handle* the in-process request path "
        "alone (an upper bound on the share).\n\n" + "\n\n".join(parts)
    )


def _table(name: str, measure: Callable[[int, bool, str], int], short: int, long: int) -> str:
    rows = []
    for case in CASES:
        per_request = {}
        for record in (False, True):
            low = measure(short, record, case)
            high = measure(long, record, case)
            per_request[record] = (high - low) / (long - short)
        off, on = per_request[False], per_request[True]
        rows.append(
            [
                case,
                f"{off:,.0f}",
                f"{on:,.0f}",
                f"{on - off:,.0f}",
                f"{100 * (on - off) / off:.1f} %",
            ]
        )
    header = [f"{name}: request", "Ir/request, off", "Ir/request, recording", "added", "share"]
    return table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("REQUESTS", "RECORD", "CASE"))
    args = parser.parse_args()
    if args.child:
        requests, record, case = args.child
        asyncio.run(_child(int(requests), record == "on", CASES[case]))
        return
    print(run(args.quick))


if __name__ == "__main__":
    main()
