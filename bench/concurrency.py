"""Scale-out: handlers that wait, compute, or do nothing, under the runtime's policies.

Run: ``.venv/bin/python -m bench.concurrency [--quick]``.

One ``apicanary serve`` per cell, wrk after a warm-up run of the same load (cold starts are
not what is measured here):

- ``GET /prod/wait?ms=100`` (``bench/projects/concurrency``), 32 connections: a handler
  sleeping 100 ms (a downstream call); with an execution environment per connection the
  ideal is 32 / 0.1 s = 320 req/s at 100 ms;
- ``GET /prod/spin?ms=10``, 32 connections: a handler computing for 10 ms of CPU; the cores
  bound it (2 cores: at most 200 req/s, less what the gateway itself needs);
- ``GET /prod/hello`` (``bench/projects/hello``), 64 connections: a handler that does
  nothing, where the gateway is the bottleneck.

Policies, all in the same run: ``fixed`` (the previous default: at most one worker per core
and version, ``APICANARY_WORKERS_PER_VERSION``); scale-out without the CPU admission (a
process per concurrent invocation, ``APICANARY_CPU_ADMISSION=off``); scale-out admitting one
and two computing invocations per core (``APICANARY_CPU_ADMISSION=1``, the default 2).
Reported: req/s, latency percentiles, the ratio to the fixed policy in the same run,
environments started, invocations that waited for CPU, the CPU of the whole server tree,
requests per CPU-second of that tree (what the policy costs or saves, whatever the machine's
other load), and how busy the rest of the machine was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from apicanary.server.process import spawn_server
from bench.common import HELLO_PROJECT, REPO, WrkResult, fmt, quick_main, run_wrk, table

PROJECT = REPO / "bench" / "projects" / "concurrency" / "template.yaml"
CORES = os.cpu_count() or 1

POLICIES: dict[str, dict[str, str]] = {
    "fixed (previous)": {"APICANARY_WORKERS_PER_VERSION": str(max(2, CORES))},
    "scale-out, no CPU admission": {"APICANARY_CPU_ADMISSION": "off"},
    "scale-out, admission 1 per core": {"APICANARY_CPU_ADMISSION": "1"},
    "scale-out, admission 2 per core (default)": {},
}
WORKLOADS: dict[str, tuple[Path, str, int, float]] = {
    "wait 100 ms": (PROJECT, "/prod/wait?ms=100", 32, 32 / 0.1),
    "compute 10 ms": (PROJECT, "/prod/spin?ms=10", 32, CORES / 0.010),
    "hello (tiny handler)": (HELLO_PROJECT / "template.yaml", "/prod/hello", 64, float("nan")),
}


def one_cell(
    template: Path, path: str, connections: int, env: dict[str, str], warm_s: float, run_s: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="apicanary-bench-conc-") as scratch:
        server = spawn_server(Path(scratch) / "state", template, seed=7, extra_env=env)
        try:
            url = server.gateway_url + path
            pid = server.process.pid
            run_wrk(url, threads=2, connections=connections, duration_s=warm_s)
            result: WrkResult = run_wrk(
                url, threads=2, connections=connections, duration_s=run_s, server_pid=pid
            )
            view = httpx.get(f"{server.control_url}/_apicanary/view", timeout=30).json()
            runtime = view["runtime"]
        finally:
            server.stop()
    return {"wrk": result, "runtime": runtime}


def run(quick: bool) -> str:
    warm_s, run_s = (2.0, 5.0) if quick else (3.0, 10.0)
    sections = []
    for workload, (template, path, connections, ideal) in WORKLOADS.items():
        cells = {
            name: one_cell(template, path, connections, env, warm_s, run_s)
            for name, env in POLICIES.items()
        }
        base = cells["fixed (previous)"]["wrk"].rps
        rows = []
        for name, cell in cells.items():
            wrk: WrkResult = cell["wrk"]
            runtime = cell["runtime"]
            rows.append(
                [
                    name,
                    fmt(wrk.rps, 1),
                    f"{wrk.rps / ideal:.0%}" if ideal == ideal else "\u2013",
                    f"{wrk.rps / base:.2f}\u00d7" if base else "\u2013",
                    fmt(wrk.p50_ms, 1),
                    fmt(wrk.p99_ms, 1),
                    str(wrk.non_2xx + wrk.socket_errors),
                    str(runtime.get("cold_starts", "?")),
                    str(runtime.get("cpu", {}).get("waits", "\u2013")),
                    f"{wrk.server_cpu_pct:.0f} %",
                    fmt(wrk.rps / (wrk.server_cpu_pct / 100), 0)
                    if wrk.server_cpu_pct
                    else "\u2013",
                    f"{wrk.other_cpu_pct:.0f} %",
                ]
            )
        headers = [
            "policy", "req/s", "of ideal", "vs fixed", "p50 ms", "p99 ms", "errors",
            "environments started", "waited for CPU", "server tree CPU",
            "req per CPU-s", "machine busy elsewhere",
        ]  # fmt: skip
        bound = f"; ideal {ideal:.0f} req/s" if ideal == ideal else ""
        sections.append(
            f"**{workload}** (`GET {path}`, wrk -t2 -c{connections}, {run_s:.0f} s after a "
            f"{warm_s:.0f} s warm-up{bound})\n\n" + table(headers, rows)
        )
    return (
        "## Scale-out and the CPU admission (bench/concurrency.py)\n\n"
        f"{CORES} cores, shared with other work while this ran (ratios are within one run).\n\n"
        + "\n\n".join(sections)
    )


def main(argv: Sequence[str] | None = None) -> None:
    quick_main(__doc__, run, argv)


if __name__ == "__main__":
    main()
