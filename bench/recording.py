"""What ``serve --record`` costs the gateway per request, in instructions (callgrind).

Run: ``.venv/bin/python -m bench.recording [--quick]``. Needs ``valgrind``.

The recording's own work and the gateway's are measured apart, because the gateway's count
is not repeatable to better than a few percent (how often the event loop polls while a
worker answers depends on timing) while the recording's is exact:

* **recording**: a child process does, per request, exactly what recording adds: the tap's
  append, and the encoding, redaction and write of :meth:`Recorder.flush` (every 64
  requests), for the request the gateway would hand it (a GET with eight headers, two of
  them redacted, with and without a 2 KB body). No event loop, no worker: deterministic.
* **serve**: ``apicanary serve --template bench/projects/hello`` under callgrind, answering
  real HTTP requests from this process one at a time, recording off and on: the gateway's
  whole CPU per request (HTTP parsing, the request path, the access log, the housekeeping).
  The share is the recording's instructions over this (recording off). Its count moves by
  tens of percent between runs (the housekeeping runs per wall-clock second, and a run under
  valgrind lasts as long as the machine lets it), so the direct difference of a run with
  recording and one without is printed as a check, not as the figure.
* **handle**: requests straight to ``Gateway.handle`` in-process (no HTTP server): a smaller
  denominator, so the share over it is an upper bound.

Worker processes run outside valgrind; only the measured process counts. Instructions per
request are the difference between a long and a short run divided by the difference in
requests, which cancels start-up and shutdown. Instruction counts do not depend on what
else the machine is doing, so the figures hold under load (wall time would not).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from apicanary.server.process import read_ready, serve_command
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
FLUSH_EVERY = 64
_ENV = {**os.environ, "PYTHONHASHSEED": "0"}  # set and dict layouts alike in every run


def _request(body: bytes) -> object:
    from apicanary.engine.gateway.messages import GatewayRequest

    return GatewayRequest(
        "GET", "/prod/hello", "name=ada&lang=en", HEADERS, body, "127.0.0.1", None
    )


def _recording_child(requests: int, body: bytes) -> None:
    """What recording adds per request, alone."""
    from apicanary.engine.gateway.messages import GatewayRequest
    from apicanary.engine.gateway.recording import Recorder, RecordingSettings

    request = _request(body)
    assert isinstance(request, GatewayRequest)
    with tempfile.TemporaryDirectory() as directory:
        settings = RecordingSettings(Path(directory) / "capture.jsonl")
        recorder = Recorder(settings.with_redacted(("x-api-key",)))
        for index in range(requests):
            recorder.add(1_700_000_000.0 + index, "hello-api", "/prod/hello", request)
            if index % FLUSH_EVERY == FLUSH_EVERY - 1:
                recorder.flush()
        recorder.flush()
        assert recorder.written == requests


async def _handle_child(requests: int, body: bytes) -> None:
    """Requests straight to ``Gateway.handle`` (recording off)."""
    from apicanary.engine.engine import Engine
    from apicanary.engine.gateway.messages import GatewayRequest
    from apicanary.engine.provision import provision
    from apicanary.project.loader import load_project

    scratch = Path(tempfile.mkdtemp(prefix="apicanary-bench-recording-"))
    engine = Engine(scratch / "state", max_workers_per_version=1)
    try:
        provision(engine, load_project(HELLO_PROJECT / "template.yaml"))
        request = _request(body)
        assert isinstance(request, GatewayRequest)
        for _ in range(20 + requests):  # 20 to start the worker and warm up
            reply = await engine.gateway.handle(request)
            assert reply.status == 200, reply
    finally:
        await engine.aclose()
        shutil.rmtree(scratch, ignore_errors=True)


def _callgrind(command: list[str], run: Callable[[], None] | None = None) -> int:
    """Instructions of ``command`` under callgrind; ``run`` drives it once it is ready."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        full = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command]
        if run is None:
            done = subprocess.run(
                full, cwd=REPO, capture_output=True, text=True, check=False, env=_ENV
            )
            if done.returncode != 0:
                raise RuntimeError(f"callgrind run failed: {done.stderr[-2000:]}")
        else:
            run_with(full, run)
        match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if match is None:
            raise RuntimeError("no instruction total in the callgrind output")
        return int(match.group(1))


def run_with(command: list[str], drive: Callable[[], None]) -> None:
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True, env=_ENV,
    )  # fmt: skip
    try:
        read_ready(process, 600.0)
        drive()
    finally:
        stop_process(process, 120.0)


def _child_instructions(requests: int, kind: str, case: str) -> int:
    command = [sys.executable, "-m", "bench.recording", "--child", kind, str(requests), case]
    return _callgrind(command)


def _serve_instructions(requests: int, record: bool, case: str) -> int:
    """Instructions of a ``serve`` process that answered ``requests`` (+20) requests."""
    with tempfile.TemporaryDirectory() as directory:
        gateway, control = free_port(), free_port()
        capture = Path(directory) / "capture.jsonl"
        template = HELLO_PROJECT / "template.yaml"
        command = serve_command(Path(directory) / "state", template, gateway, control)
        if record:
            command += ["--record", str(capture), "--record-redact", "x-api-key"]

        def drive() -> None:
            headers = [(k, v) for k, v in HEADERS if k != "host"]
            with httpx.Client(base_url=f"http://127.0.0.1:{gateway}", timeout=60) as client:
                for _ in range(requests + 20):
                    reply = client.request(
                        "GET", "/prod/hello?name=ada&lang=en", headers=headers,
                        content=CASES[case],
                    )  # fmt: skip
                    assert reply.status_code == 200, reply.text

        total = _callgrind(command, drive)
        if record:
            assert capture.read_bytes().count(b"\n") == requests + 20
        return total


def per_request(measure: Callable[..., int], short: int, long: int, *args: object) -> float:
    """Instructions per request: ``measure(requests, *args)`` of a long and a short run."""
    return (measure(long, *args) - measure(short, *args)) / (long - short)


def run(quick: bool) -> str:
    """Markdown: the recording's instructions per request and their share of the gateway's."""
    if shutil.which("valgrind") is None:
        return "(valgrind is not installed: no measurement)"
    short, long = (100, 400) if quick else (200, 1200)
    rows, checks = [], []
    for case in CASES:
        added = per_request(_child_instructions, short, long, "recording", case)
        handle = per_request(_child_instructions, short, long, "handle", case)
        serve_off = per_request(_serve_instructions, short, long, False, case)
        serve_on = per_request(_serve_instructions, short, long, True, case)
        rows.append(
            [case, f"{added:,.0f}", f"{handle:,.0f}", f"{added / handle:.1%}",
             f"{serve_off:,.0f}", f"**{added / serve_off:.1%}**"]
        )  # fmt: skip
        checks.append(f"{case}: {serve_on - serve_off:+,.0f}")
    header = [
        "request", "recording Ir/request", "handle Ir/request", "share of handle",
        "serve Ir/request", "share of serve",
    ]  # fmt: skip
    return (
        "## What `serve --record` costs per request (bench/recording.py)\n\n"
        f"Instructions (callgrind Ir) per request, from runs of {short} and {long} requests. "
        "*recording*: the tap, encoding, redaction and write alone (exact); *handle*: the "
        "in-process request path alone (the share over it is an upper bound); *serve*: the "
        "whole gateway process over HTTP, recording off.\n\n"
        + table(header, rows)
        + "\n\nServe with recording on minus off, measured directly (within serve's run-to-run "
        "noise, which is why the recording is measured alone): " + "; ".join(checks) + "."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "REQUESTS", "CASE"))
    args = parser.parse_args()
    if args.child:
        kind, requests, case = args.child
        if kind == "recording":
            _recording_child(int(requests), CASES[case])
        else:
            asyncio.run(_handle_child(int(requests), CASES[case]))
        return
    print(run(args.quick))


if __name__ == "__main__":
    main()
