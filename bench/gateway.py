"""Gateway throughput and latency under wrk, side by side with peers measured in the same run.

Run: ``.venv/bin/python -m bench.gateway [--quick] [--duration S] [--repeats N] [--only KEY]``.
Needs wrk (``apt-get install -y wrk``).

Servers (one hello world each, only one under load at a time, rounds interleaved):

* **apicanary** — ``apicanary serve`` on bench/projects/hello (GET /prod/hello → alias ``live``
  → the Python handler in an isolated worker process);
* **uvicorn raw ASGI** — bench/asgi_hello.py on uvicorn, 1 worker: the ceiling (no emulation);
* **chalice local** — AWS Chalice 1.34 (stock, as users run it), pip-installed into a throwaway
  venv under /tmp at bench time;
* **serverless-offline** — serverless@3 + serverless-offline 13 (npm, throwaway dir under
  /tmp) running the very same Python handler file (python3.11 runtime);
* **1 ms CPU handler** — ``apicanary serve`` on bench/projects/burn (the handler spends 1 ms of
  its own CPU per request) next to the same work in bench/asgi_hello.py's ``app_burn`` on
  uvicorn: the gateway's overhead beside a realistic function's work.

Per server it reports the main process's CPU µs per request (for apicanary: the gateway
process) and, for apicanary, the worker processes' (``/proc/<pid>/stat`` user + system time
over the measured run, divided by the requests wrk counted).

Loads: 1 thread / 8 connections and 2 threads / 64 connections, each a warm-up run (discarded)
then a measured run. wrk shares the machine's cores with the server, as in
reference/peer-bench.md. If a goal is missed, the apicanary gateway is profiled with py-spy
during one more 64-connection run.

Over 400 lines: the peers' launchers, the measurement and the report of one benchmark belong
together.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    CHALICE_VERSION,
    HELLO_HANDLER,
    PEER_DIR,
    REPO,
    SERVERLESS_OFFLINE_VERSION,
    SERVERLESS_VERSION,
    UVICORN_VERSION,
    BenchSkip,
    WrkResult,
    apicanary_serve,
    ensure_peer_venv,
    ensure_serverless,
    exit_on_sigterm,
    fmt,
    free_port,
    median,
    require_wrk,
    rss_mib,
    run_wrk,
    stop_process,
    table,
    wait_http,
    wait_quiet,
)
from bench.profile import record

LOADS = ((1, 8), (2, 64))
GOAL_VS_BARE = 0.5
GOAL_VS_SLS = 3.0
GOAL_P99_64_MS = 10.0
GOAL_GW_US = 60.0

CHALICE_APP = """\
from chalice import Chalice

app = Chalice(app_name="hello")


@app.route("/hello")
def hello():
    return {"message": "hello world"}
"""

SERVERLESS_YML = """\
service: hello
frameworkVersion: "3"
provider:
  name: aws
  runtime: python3.11
  stage: dev
  region: us-east-1
plugins:
  - serverless-offline
functions:
  hello:
    handler: app.handler
    events:
      - http:
          path: hello
          method: get
"""


@dataclass
class Target:
    key: str
    label: str
    url: str
    pid: int
    started_s: float
    note: str = ""
    framing: str = ""
    runs: dict[int, list[WrkResult]] = field(default_factory=dict)


@dataclass
class Unavailable:
    label: str
    reason: str


def _popen(
    command: Sequence[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(command),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )


def start_uvicorn(stack: ExitStack, app: str = "app") -> Target:
    port = free_port()
    started = time.monotonic()
    process = _popen(
        [sys.executable, "-m", "uvicorn", f"bench.asgi_hello:{app}", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
        REPO,
    )  # fmt: skip
    stack.callback(stop_process, process)
    url = f"http://127.0.0.1:{port}/hello"
    wait_http(url, 30, process)
    if app == "app_burn":
        return Target(
            "uvicorn-burn",
            "uvicorn raw ASGI, 1 ms CPU handler",
            url,
            process.pid,
            time.monotonic() - started,
            "the 1 ms CPU work of bench/projects/burn on the event loop, no gateway",
        )
    if app == "app_chunked":
        return Target(
            "uvicorn-chunked",
            "diagnostic: uvicorn raw ASGI, no Content-Length (chunked)",
            url,
            process.pid,
            time.monotonic() - started,
            "the ceiling app without a Content-Length header, to price chunked framing",
        )
    return Target(
        "uvicorn",
        "uvicorn raw ASGI hello (ceiling)",
        url,
        process.pid,
        time.monotonic() - started,
        f"uvicorn {_version('uvicorn')}, 1 worker, uvloop + httptools",
    )


def start_apicanary(
    stack: ExitStack, tmp: Path, burn: bool = False, baseline: Path | None = None
) -> Target:
    if baseline is not None:
        serve = stack.enter_context(
            apicanary_serve(tmp / "apicanary-baseline-state", package_root=baseline)
        )
        url = f"{serve.gateway_url}/prod/hello"
    elif burn:
        template = REPO / "bench" / "projects" / "burn" / "template.yaml"
        serve = stack.enter_context(apicanary_serve(tmp / "apicanary-burn-state", template))
        url = f"{serve.gateway_url}/prod/burn"
    else:
        serve = stack.enter_context(apicanary_serve(tmp / "apicanary-state"))
        url = f"{serve.gateway_url}/prod/hello"
    first = time.monotonic()
    wait_http(url, 30)  # the first request spawns the first worker (a cold start)
    first_ms = (time.monotonic() - first) * 1000
    workers = os.environ.get("APICANARY_WORKERS_PER_VERSION") or str(max(2, os.cpu_count() or 2))
    key, label = "apicanary", "apicanary serve (worker process)"
    if burn:
        key, label = "apicanary-burn", "apicanary serve, 1 ms CPU handler"
    if baseline is not None:
        key, label = "apicanary-baseline", f"apicanary serve, baseline checkout ({baseline.name})"
    return Target(
        key,
        label,
        url,
        serve.process.pid,
        serve.ready_s,
        f"launch → ready {serve.ready_s:.2f} s, first request (cold) {first_ms:.0f} ms, "
        f"{workers} workers per version",
    )


def start_chalice(stack: ExitStack, tmp: Path) -> Target:
    python = ensure_peer_venv()
    app_dir = tmp / "chalice-hello"
    (app_dir / ".chalice").mkdir(parents=True)
    (app_dir / "app.py").write_text(CHALICE_APP)
    (app_dir / ".chalice" / "config.json").write_text(
        '{"version": "2.0", "app_name": "hello", "stages": {"dev": {"api_gateway_stage": "api"}}}'
    )
    port = free_port()
    started = time.monotonic()
    process = _popen(
        [str(python.parent / "chalice"), "local", "--host", "127.0.0.1", "--port", str(port)],
        app_dir,
    )
    stack.callback(stop_process, process)
    url = f"http://127.0.0.1:{port}/hello"
    wait_http(url, 60, process)
    return Target(
        "chalice",
        "chalice local (stock)",
        url,
        process.pid,
        time.monotonic() - started,
        f"chalice {CHALICE_VERSION}, `chalice local` defaults (threaded http.server, reloader)",
    )


def start_serverless(stack: ExitStack, tmp: Path) -> Target:
    sls = ensure_serverless()
    project = tmp / "sls-hello"
    project.mkdir()
    (project / "serverless.yml").write_text(SERVERLESS_YML)
    shutil.copy(HELLO_HANDLER, project / "app.py")
    (project / "node_modules").symlink_to(sls / "node_modules")
    port, lambda_port = free_port(), free_port()
    env = {**os.environ, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off"}
    env.pop("VIRTUAL_ENV", None)
    started = time.monotonic()
    process = _popen(
        [str(sls / "node_modules" / ".bin" / "serverless"), "offline", "--host", "127.0.0.1",
         "--httpPort", str(port), "--lambdaPort", str(lambda_port)],
        project,
        env,
    )  # fmt: skip
    stack.callback(stop_process, process)
    url = f"http://127.0.0.1:{port}/dev/hello"
    wait_http(url, 90, process)
    python = shutil.which("python3", path=env.get("PATH")) or "python3"
    return Target(
        "sls",
        "serverless-offline (Python handler)",
        url,
        process.pid,
        time.monotonic() - started,
        f"serverless {SERVERLESS_VERSION} + serverless-offline {SERVERLESS_OFFLINE_VERSION}, "
        f"handler run by {python} (python3.11 runtime)",
    )


def _version(module: str) -> str:
    from importlib.metadata import version

    try:
        return version(module)
    except Exception:
        return UVICORN_VERSION


@dataclass
class GatewayReport:
    targets: list[Target]
    unavailable: list[Unavailable]
    quick: bool
    duration_s: float
    repeats: int
    profile_md: str = ""
    goal_rows: list[list[str]] = field(default_factory=list)


def _med(target: Target, conns: int, attr: str) -> float:
    return median([float(getattr(r, attr)) for r in target.runs.get(conns, [])])


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def _has_workers(target: Target) -> bool:
    return target.key.startswith("apicanary")


def _us_per_request(cpu_pct: float, rps: float) -> float:
    """CPU µs per request from a CPU share (100 = one core) and a rate; NaN when nothing was
    answered (serverless-offline collapses to 0 req/s at 64 connections on a loaded machine)."""
    return cpu_pct / 100 / rps * 1e6 if rps > 0 else float("nan")


def _gw_us(target: Target, conns: int) -> float:
    """CPU µs per request of the server's main process (median over runs)."""
    return median(
        [
            _us_per_request(r.extra.get("main_cpu_pct", float("nan")), r.rps)
            for r in _runs(target, conns)
        ]
    )


def _workers_us(target: Target, conns: int) -> float:
    """CPU µs per request of the server's other processes (apicanary's workers)."""
    return median(
        [
            _us_per_request(r.server_cpu_pct - r.extra.get("main_cpu_pct", float("nan")), r.rps)
            for r in _runs(target, conns)
        ]
    )


def _runs(target: Target, conns: int) -> list[WrkResult]:
    return [r for r in target.runs.get(conns, []) if r.rps > 0]


def _med_extra(target: Target, conns: int, key: str) -> float:
    return median([float(r.extra.get(key, float("nan"))) for r in target.runs.get(conns, [])])


def measure(
    quick: bool,
    profile: bool = True,
    *,
    duration_s: float | None = None,
    repeats: int | None = None,
    only: Sequence[str] = (),
    baseline: Path | None = None,
) -> GatewayReport:
    """Every server under wrk (``only``: just these target keys; ``baseline``: also an older
    checkout of apicanary); see the module docstring."""
    require_wrk()
    duration = duration_s or (2.0 if quick else 10.0)
    warmup = 1.0 if quick else 3.0
    repeats = repeats or (1 if quick else 3)
    tries = 1 if quick else 2
    targets: list[Target] = []
    unavailable: list[Unavailable] = []
    report = GatewayReport(targets, unavailable, quick, duration, repeats)
    with (
        tempfile.TemporaryDirectory(prefix="apicanary-bench-gw-") as tmp_name,
        ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        starters: list[tuple[str, str, Callable[[], Target]]] = [
            ("apicanary", "apicanary serve", lambda: start_apicanary(stack, tmp)),
            (
                "apicanary-baseline",
                "apicanary serve, baseline checkout",
                lambda: start_apicanary(stack, tmp, baseline=baseline),
            ),
            ("uvicorn", "uvicorn raw ASGI", lambda: start_uvicorn(stack)),
            ("chalice", "chalice local", lambda: start_chalice(stack, tmp)),
            ("sls", "serverless-offline", lambda: start_serverless(stack, tmp)),
            (
                "apicanary-burn",
                "apicanary serve, 1 ms CPU handler",
                lambda: start_apicanary(stack, tmp, burn=True),
            ),
            ("uvicorn-burn", "uvicorn, 1 ms CPU", lambda: start_uvicorn(stack, "app_burn")),
            (
                "uvicorn-chunked",
                "uvicorn chunked (diagnostic)",
                lambda: start_uvicorn(stack, "app_chunked"),
            ),
        ]
        for key, label, start in starters:
            if (only and key not in only) or (key == "apicanary-baseline" and baseline is None):
                continue
            try:
                target = start()
                target.framing = _framing(target.url)
                targets.append(target)
                print(f"  started {label}", file=sys.stderr)
            except (BenchSkip, OSError, subprocess.SubprocessError) as exc:
                unavailable.append(Unavailable(label, str(exc)))
                print(f"  {label} unavailable: {exc}", file=sys.stderr)
        for target in targets:  # prime: spawn whatever each server spawns under 64 connections
            run_wrk(target.url, threads=2, connections=64, duration_s=warmup + 1)
        for _ in range(repeats):
            for target in targets:
                for threads, conns in LOADS:
                    result = _cell(target, threads, conns, warmup, duration, tries)
                    result.extra["rss_mib"] = sum(rss_mib(pid) for pid in _tree(target.pid))
                    target.runs.setdefault(conns, []).append(result)
                    print(
                        f"  {target.key:9s} {conns:2d}c {result.rps:9.0f} req/s "
                        f"p50 {result.p50_ms:.2f} p99 {result.p99_ms:.2f} ms "
                        f"other-cpu {result.other_cpu_pct:.0f}%",
                        file=sys.stderr,
                    )
        report.goal_rows = _goals(targets)
        missed = any(row[-1].startswith("missed") for row in report.goal_rows)
        ours = next((t for t in targets if t.key == "apicanary"), None)
        if profile and missed and ours is not None:
            report.profile_md = _profile(ours, 3 if quick else 10)
    return report


NOISY_PCT = 15.0


def _cell(
    target: Target, threads: int, conns: int, warmup: float, duration: float, tries: int
) -> WrkResult:
    """Warm-up + measured run; redone (up to ``tries``) when other workloads were busy."""
    best: WrkResult | None = None
    for attempt in range(tries):
        wait_quiet(5.0 if attempt == 0 else 15.0, NOISY_PCT)
        run_wrk(target.url, threads=threads, connections=conns, duration_s=warmup)
        result = run_wrk(
            target.url, threads=threads, connections=conns, duration_s=duration,
            server_pid=target.pid,
        )  # fmt: skip
        result.extra["tries"] = attempt + 1
        if best is None or result.other_cpu_pct < best.other_cpu_pct:
            best = result
        if result.other_cpu_pct <= NOISY_PCT:
            break
    assert best is not None
    return best


def _tree(pid: int) -> list[int]:
    from bench.common import process_tree

    return process_tree(pid)


def _profile(target: Target, seconds: int) -> str:
    """py-spy on the gateway process, then on its workers, during a 64-connection wrk run."""
    parts: list[str] = []
    for title, subprocesses in (("gateway process (main)", False), ("gateway + workers", True)):
        load = subprocess.Popen(
            ["wrk", "-t2", "-c64", f"-d{seconds + 2}s", target.url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        prof = record(target.pid, seconds, subprocesses=subprocesses)
        load.wait()
        parts.append(f"**py-spy, {title}, 64 connections, {seconds} s:** " + prof.markdown())
    parts.append(
        "py-spy samples wall time of running threads; a frame blocked in a system call counts "
        "as on the stack (e.g. the workers' `_read_exact` is a worker waiting for its next "
        "request, and a pipe or socket write includes waking the process on the other end)."
    )
    return "\n\n".join(parts)


def _framing(url: str) -> str:
    """How the server frames a response body: Content-Length or chunked encoding."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
        conn.request("GET", parts.path)
        response = conn.getresponse()
        response.read()
        conn.close()
    except OSError as exc:
        return f"unknown ({exc})"
    if response.getheader("content-length") is not None:
        return "content-length"
    return f"transfer-encoding: {response.getheader('transfer-encoding')}"


def _goals(targets: list[Target]) -> list[list[str]]:
    by_key = {t.key: t for t in targets}
    ours = by_key.get("apicanary")
    rows: list[list[str]] = []
    if ours is None:
        return rows
    peers = (("uvicorn", "bare uvicorn", GOAL_VS_BARE), ("sls", "serverless-offline", GOAL_VS_SLS))
    for conns in (8, 64):
        rps = _med(ours, conns, "rps")
        for key, label, goal in peers:
            peer = by_key.get(key)
            if peer is not None:
                ratio = _ratio(rps, _med(peer, conns, "rps"))
                rows.append(
                    [f"≥ {goal}\u00d7 {label}, {conns} conns", f"{ratio:.2f}\u00d7",
                     "met" if ratio >= goal else "missed"]
                )  # fmt: skip
    for conns in (8, 64):
        gw_us = _gw_us(ours, conns)
        rows.append(
            [f"gateway CPU ≤ {GOAL_GW_US:.0f} µs per request, {conns} conns", f"{gw_us:.0f} µs",
             "met" if gw_us <= GOAL_GW_US else "missed"]
        )  # fmt: skip
    p99 = _med(ours, 64, "p99_ms")
    rows.append(
        [f"p99 ≤ {GOAL_P99_64_MS:.0f} ms at 64 conns", f"{p99:.2f} ms",
         "met" if p99 <= GOAL_P99_64_MS else "missed"]
    )  # fmt: skip
    return rows


def markdown(report: GatewayReport) -> str:
    by_key = {t.key: t for t in report.targets}
    bare = by_key.get("uvicorn")
    ours = by_key.get("apicanary")
    lines = [
        "## Gateway throughput and latency (wrk)",
        "",
        f"GET hello world, keep-alive, {report.repeats} measured run(s) of "
        f"{report.duration_s:.0f} s per cell after a discarded warm-up at the same load; "
        "medians across runs. wrk and the server share the machine's cores. Only one server is "
        'under load at a time. "server CPU" is the server\'s whole process tree (100 % = one '
        'core); "gw CPU" is the apicanary gateway process alone; "gw µs/req" is the CPU time '
        "(user + system, from /proc/<pid>/stat) of the server's main process per request — the "
        "apicanary gateway process, or the whole of a single-process peer — and "
        '"workers µs/req" that of apicanary\'s worker processes; "other CPU" is machine CPU '
        "used by neither the server nor wrk (noise from elsewhere; high values make a row "
        "unreliable).",
        "",
    ]
    rows: list[list[str]] = []
    for target in report.targets:
        for _, conns in LOADS:
            runs = target.runs.get(conns, [])
            if not runs:
                continue
            rps = _med(target, conns, "rps")
            lo, hi = min(r.rps for r in runs), max(r.rps for r in runs)
            baseline = by_key.get("uvicorn-burn") if target.key.endswith("-burn") else bare
            vs_bare = _ratio(rps, _med(baseline, conns, "rps")) if baseline else float("nan")
            vs_ours = _ratio(_med(ours, conns, "rps"), rps) if ours else float("nan")
            rows.append(
                [
                    target.label,
                    str(conns),
                    f"{fmt(rps)}" + (f" ({fmt(lo)}\u2013{fmt(hi)})" if len(runs) > 1 else ""),
                    fmt(_med(target, conns, "p50_ms")),
                    fmt(_med(target, conns, "p90_ms")),
                    fmt(_med(target, conns, "p99_ms")),
                    str(sum(r.socket_errors for r in runs)),
                    str(sum(r.non_2xx for r in runs)),
                    f"{vs_bare:.2f}\u00d7",
                    "\u2013"
                    if _has_workers(target) or target.key.endswith("-burn")
                    else f"{vs_ours:.2f}\u00d7",
                    fmt(_med(target, conns, "server_cpu_pct"), 0),
                    fmt(_med_extra(target, conns, "main_cpu_pct"), 0)
                    if _has_workers(target)
                    else "",
                    fmt(_us_per_request(_med(target, conns, "server_cpu_pct"), rps), 0),
                    fmt(_gw_us(target, conns), 0),
                    fmt(_workers_us(target, conns), 0) if _has_workers(target) else "",
                    fmt(_med(target, conns, "other_cpu_pct"), 0),
                    fmt(_med_extra(target, conns, "rss_mib"), 0),
                ]
            )
    lines.append(
        table(
            ["server", "conns", "req/s", "p50 ms", "p90 ms", "p99 ms", "sock err", "non-2xx",
             "÷ bare", "apicanary ÷ this", "server CPU %", "gw CPU %",
             "server CPU \u00b5s/req", "gw \u00b5s/req", "workers \u00b5s/req",
             "other CPU %", "RSS MiB"],
            rows,
        )
    )  # fmt: skip
    lines += ["", "Servers:", ""]
    for target in report.targets:
        lines.append(f"- {target.label}: response framing `{target.framing}`")
    for target in report.targets:
        lines.append(
            f"- {target.label}: {target.note}; launch → answering {target.started_s:.2f} s"
        )
    for missing in report.unavailable:
        lines.append(f"- {missing.label}: **not measured** — {missing.reason}")
    if report.goal_rows:
        lines += ["", "Goals:", "", table(["goal", "measured", "verdict"], report.goal_rows)]
    if report.profile_md:
        lines += ["", "### Where the time goes (a goal was missed)", "", report.profile_md]
    return "\n".join(lines)


def run(
    quick: bool,
    *,
    duration_s: float | None = None,
    repeats: int | None = None,
    only: Sequence[str] = (),
    baseline: Path | None = None,
) -> str:
    try:
        return markdown(
            measure(quick, duration_s=duration_s, repeats=repeats, only=only, baseline=baseline)
        )
    except BenchSkip as exc:
        return f"## Gateway throughput and latency (wrk)\n\n**Not run:** {exc}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1 run of 2 s per cell")
    parser.add_argument("--duration", type=float, help="seconds per measured run")
    parser.add_argument("--repeats", type=int, help="measured runs per cell")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="measure only this server (repeatable): apicanary, uvicorn, chalice, sls, "
        "apicanary-burn, uvicorn-burn, uvicorn-chunked, apicanary-baseline",
    )
    parser.add_argument(
        "--baseline", type=Path, help="also measure apicanary from this (older) checkout"
    )
    args = parser.parse_args(argv)
    exit_on_sigterm()
    print(f"peers are installed (once) under {PEER_DIR}", file=sys.stderr)
    print(
        run(
            args.quick,
            duration_s=args.duration,
            repeats=args.repeats,
            only=args.only,
            baseline=args.baseline,
        )
    )


if __name__ == "__main__":
    main()
