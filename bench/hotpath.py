"""The gateway's CPU per request in instructions (callgrind), next to bare uvicorn's.

Run: ``.venv/bin/python -m bench.hotpath [--quick] [--baseline DIR]``. Needs ``valgrind``.

wrk's CPU-per-request figures (bench/gateway.py) move by a factor of two with whatever else a
shared 2-core machine runs: cache pollution and context switches inflate a Python process's
CPU time. Instruction counts do not, so this is the figure to compare versions with:

* **serve**: ``apicanary serve`` on bench/projects/hello under callgrind (the gateway process
  only; its worker processes run outside valgrind), answering ``GET /prod/hello`` from this
  process over one keep-alive connection: HTTP parsing, the request path, the engine's side
  of the worker link, the response, and the housekeeping's share (metric feed, access log);
* **serve (baseline)**: the same with the package from ``--baseline`` (a checkout of an older
  revision, e.g. ``git archive main | tar -x -C /tmp/main``), to measure a change;
* **uvicorn**: bench/asgi_hello.py's raw ASGI hello on uvicorn (uvloop + httptools) under
  callgrind, driven the same way: the ceiling.

Instructions per request are the difference between a long and a short run divided by the
difference in requests, which cancels start-up and shutdown. The serve figure still moves by
several percent between runs (its housekeeping runs per wall-clock second, and a run under
valgrind lasts as long as the machine lets it); the median of the runs is reported.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from apicanary.server.process import read_ready
from bench.common import HELLO_PROJECT, REPO, free_port, median, stop_process, table

_ENV = {**os.environ, "PYTHONHASHSEED": "0"}


def _drive(url: str, requests: int) -> Callable[[], None]:
    def drive() -> None:
        with httpx.Client(timeout=120) as client:
            for _ in range(requests + 20):  # 20 to start the worker and warm up
                reply = client.get(url)
                assert reply.status_code == 200, reply.text

    return drive


def _serve_ir(requests: int, root: Path | None) -> int:
    """Instructions of a ``serve`` process (package from ``root``, else this checkout)."""
    env = dict(_ENV)
    if root is not None:
        env["PYTHONPATH"] = str(root)
    with tempfile.TemporaryDirectory() as directory:
        gateway, control = free_port(), free_port()
        command = [
            sys.executable, "-m", "apicanary", "serve", "--output", "json",
            "--template", str(HELLO_PROJECT / "template.yaml"),
            "--state-dir", str(Path(directory) / "state"),
            "--port", str(gateway), "--control-port", str(control),
        ]  # fmt: skip
        drive = _drive(f"http://127.0.0.1:{gateway}/prod/hello", requests)
        # from the checkout's own directory: ``python -m`` puts it before PYTHONPATH
        return _callgrind_with(command, env, lambda p: read_ready(p, 600.0), drive, root or REPO)


def _uvicorn_ir(requests: int) -> int:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "bench.asgi_hello:app", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/hello"
    return _callgrind_with(command, _ENV, lambda p: _wait(url, p), _drive(url, requests))


def _wait(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def _callgrind_with(
    command: list[str],
    env: dict[str, str],
    ready: Callable[[subprocess.Popen[str]], object],
    drive: Callable[[], None],
    cwd: Path = REPO,
) -> int:
    """Instructions of ``command`` under callgrind (run in ``cwd``), driven once ``ready``
    says it is."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        full = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command]
        process = subprocess.Popen(
            full, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True, env=env,
        )  # fmt: skip
        try:
            ready(process)
            drive()
        finally:
            stop_process(process, 120.0)
        match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if match is None:
            raise RuntimeError("no instruction total in the callgrind output")
        return int(match.group(1))


def per_request(measure: Callable[[int], int], short: int, long: int) -> float:
    return (measure(long) - measure(short)) / (long - short)


def run(quick: bool, baseline: Path | None = None, rounds: int = 1) -> str:
    if shutil.which("valgrind") is None:
        return "(valgrind is not installed: no measurement)"
    short, long = (100, 400) if quick else (200, 1000)
    figures: dict[str, list[float]] = {"uvicorn": [], "serve": [], "baseline": []}
    for _ in range(rounds):
        figures["uvicorn"].append(per_request(_uvicorn_ir, short, long))
        figures["serve"].append(per_request(lambda n: _serve_ir(n, None), short, long))
        if baseline is not None:
            figures["baseline"].append(per_request(lambda n: _serve_ir(n, baseline), short, long))
    bare = median(figures["uvicorn"])
    rows = [["uvicorn raw ASGI hello (ceiling)", _runs(figures["uvicorn"]), f"{bare:,.0f}", "1.0×"]]
    if baseline is not None:
        base = median(figures["baseline"])
        rows.append(
            [f"apicanary serve, baseline ({baseline})", _runs(figures["baseline"]),
             f"{base:,.0f}", f"{base / bare:.1f}×"]
        )  # fmt: skip
    ours = median(figures["serve"])
    rows.append(
        ["apicanary serve, this checkout", _runs(figures["serve"]), f"{ours:,.0f}",
         f"{ours / bare:.1f}×"]
    )  # fmt: skip
    out = [
        "## The gateway's instructions per request (bench/hotpath.py)",
        "",
        f"callgrind Ir per request of the server process, from runs of {short} and {long} "
        f"sequential keep-alive requests; {rounds} round(s), median.",
        "",
        table(["server", "Ir/request per round", "Ir/request (median)", "÷ uvicorn"], rows),
    ]
    if baseline is not None:
        out += ["", f"This checkout ÷ baseline: **{ours / median(figures['baseline']):.2f}×**."]
    return "\n".join(out)


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100 and 400 requests per run")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--baseline", type=Path, help="an older checkout to compare with")
    args = parser.parse_args()
    print(run(args.quick, args.baseline, args.rounds))


if __name__ == "__main__":
    main()
