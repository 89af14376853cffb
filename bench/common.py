"""Shared helpers for the benchmarks: servers as subprocesses, wrk, CPU accounting, tables.

Everything binds to 127.0.0.1. Peers (chalice, serverless-offline, py-spy) are installed at
bench time into throwaway locations under ``PEER_DIR`` (never into the project), see
:func:`ensure_chalice_venv` and :func:`ensure_serverless`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apicanary.server.process import free_port, read_ready, serve_command

REPO = Path(__file__).resolve().parent.parent
HELLO_PROJECT = REPO / "bench" / "projects" / "hello"
HELLO_HANDLER = HELLO_PROJECT / "src" / "app.py"
PEER_DIR = Path(os.environ.get("APICANARY_BENCH_PEERS", "/tmp/apicanary-bench-peers"))
CHALICE_VERSION = "1.34.0"
UVICORN_VERSION = "0.54.0"
SERVERLESS_VERSION = "3.40.0"
SERVERLESS_OFFLINE_VERSION = "13.10.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so the servers a benchmark started are stopped on the way
    out (context managers and ExitStack callbacks run)."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def quick_main(doc: str | None, run: Callable[[bool], str], argv: Sequence[str] | None) -> None:
    """The ``main`` of a benchmark whose one option is ``--quick``: parse ``argv``, stop the
    servers it starts on SIGTERM, print ``run(quick)``'s markdown report."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    print(run(args.quick), flush=True)


class BenchSkip(Exception):
    """A benchmark (or one peer) cannot run here; the message says why."""


# --- ports, processes ------------------------------------------------------------------------


def wait_http(url: str, timeout_s: float, process: subprocess.Popen[Any] | None = None) -> float:
    """Poll ``url`` until it answers any HTTP status; return the seconds it took."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    started = time.monotonic()
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BenchSkip(f"server exited with {process.returncode} before answering {url}")
        try:
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=2)
            conn.request("GET", parts.path or "/")
            conn.getresponse().read()
            conn.close()
            return time.monotonic() - started
        except OSError:
            time.sleep(0.02)
    raise BenchSkip(f"{url} did not answer within {timeout_s:.0f} s")


def stop_process(process: subprocess.Popen[Any], timeout_s: float = 15.0) -> None:
    """SIGTERM the process group we started (the server and its children), then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


@dataclass
class Serve:
    """A running ``apicanary serve`` (its own process group)."""

    process: subprocess.Popen[str]
    gateway_url: str
    control_url: str
    info: dict[str, Any]
    ready_s: float

    def boto3(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.control_url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(retries={"max_attempts": 1}, read_timeout=60, connect_timeout=5),
        )


@contextmanager
def apicanary_serve(
    state_dir: Path,
    template: Path | None = HELLO_PROJECT / "template.yaml",
    seed: int = 7,
    package_root: Path | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[Serve]:
    """``python -m apicanary serve ... --output json`` (with ``extra_args``) on free ports,
    until the block ends (``package_root``: import apicanary from that checkout instead, e.g.
    an older revision)."""
    gateway_port, control_port = free_port(), free_port()
    command = serve_command(state_dir, template, gateway_port, control_port, seed, extra_args)
    env = None
    if package_root is not None:
        env = {**os.environ, "PYTHONPATH": str(package_root)}
    # ``python -m`` puts the working directory before PYTHONPATH: run an older checkout from
    # its own directory, or the package imported would be this one's
    cwd = REPO if package_root is None else package_root
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        env=env,
    )
    try:
        info = _read_ready(process)
        ready_s = time.monotonic() - started
        yield Serve(
            process,
            f"http://127.0.0.1:{gateway_port}",
            f"http://127.0.0.1:{control_port}",
            info,
            ready_s,
        )
    finally:
        stop_process(process)


def _read_ready(process: subprocess.Popen[str], timeout_s: float = 120.0) -> dict[str, Any]:
    return read_ready(process, timeout_s)


# --- CPU and memory accounting ---------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cpu_s(root: int, *, main_only: bool = False) -> float:
    """CPU seconds (user + system) used so far by the live processes of ``root``'s tree
    (or by ``root`` alone)."""
    total = 0
    for pid in [root] if main_only else process_tree(root):
        fields = _stat_fields(pid)
        if fields is not None:
            # utime + stime, plus cutime + cstime: children already reaped (short-lived
            # helpers, shell wrappers) stay counted after they exit
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / CLK_TCK


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def machine_busy_s() -> float:
    """All CPUs' process-context busy seconds since boot (user + nice + system).

    irq/softirq time (loopback TCP is processed there) and steal are left out: they are not
    attributed to any process, so they cannot be told apart from the server's own load."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (values[0] + values[1] + values[2]) / CLK_TCK


def wait_quiet(max_wait_s: float, threshold_pct: float = 15.0, window_s: float = 1.0) -> float:
    """Wait (at most ``max_wait_s``) for a window in which the machine's CPU use is below
    ``threshold_pct`` (other workloads share it); return the last window's busy %."""
    deadline = time.monotonic() + max_wait_s
    ncpu = os.cpu_count() or 1
    while True:
        before = machine_busy_s()
        time.sleep(window_s)
        busy_pct = 100.0 * (machine_busy_s() - before) / (window_s * ncpu)
        if busy_pct < threshold_pct or time.monotonic() >= deadline:
            return busy_pct


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_facts() -> dict[str, str]:
    load1, load5, load15 = os.getloadavg()
    mem = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    wrk = shutil.which("wrk")
    wrk_version = ""
    if wrk:
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        wrk_version = (out.stdout + out.stderr).split("\n")[0].strip()
    return {
        "nproc": str(os.cpu_count()),
        "load average at start (1/5/15 min)": f"{load1:.2f} / {load5:.2f} / {load15:.2f}",
        "CPU": cpu_model,
        "memory": mem,
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "wrk": wrk_version or "not installed",
    }


# --- wrk ---------------------------------------------------------------------------------------

WRK_INSTALL_HINT = "wrk is not installed: run `apt-get update && apt-get install -y wrk`"


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchSkip(WRK_INSTALL_HINT)
    return wrk


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    socket_errors: int
    non_2xx: int
    server_cpu_pct: float = 0.0  # % of one core, the server's process tree
    other_cpu_pct: float = 0.0  # % of the machine not used by the server or wrk (noise)
    extra: dict[str, Any] = field(default_factory=dict)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    def grab(pattern: str) -> str | None:
        match = re.search(pattern, output, re.MULTILINE)
        return match.group(1) if match else None

    rps = float(grab(r"^Requests/sec:\s+([\d.]+)") or 0.0)
    requests = int(grab(r"^\s*(\d+) requests in") or 0)
    errors = 0
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sock:
        errors = sum(int(g) for g in sock.groups())
    non_2xx = int(grab(r"Non-2xx or 3xx responses:\s+(\d+)") or 0)
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.MULTILINE))
    latency_max = grab(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)")
    return WrkResult(
        rps=rps,
        p50_ms=_ms(percentiles["50"]) if "50" in percentiles else float("nan"),
        p90_ms=_ms(percentiles["90"]) if "90" in percentiles else float("nan"),
        p99_ms=_ms(percentiles["99"]) if "99" in percentiles else float("nan"),
        max_ms=_ms(latency_max) if latency_max else float("nan"),
        requests=requests,
        socket_errors=errors,
        non_2xx=non_2xx,
    )


def run_wrk(
    url: str,
    *,
    threads: int,
    connections: int,
    duration_s: float,
    server_pid: int | None = None,
    headers: Sequence[str] = (),
) -> WrkResult:
    """One wrk run (``--latency``), with the server tree's CPU and the machine's other CPU."""
    wrk = require_wrk()
    command = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s", "--latency",
    ]  # fmt: skip
    for header in headers:
        command += ["-H", header]
    command.append(url)
    server_before = tree_cpu_s(server_pid) if server_pid else 0.0
    main_before = tree_cpu_s(server_pid, main_only=True) if server_pid else 0.0
    busy_before, kids_before = machine_busy_s(), children_cpu_s()
    started = time.monotonic()
    out = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    wall = time.monotonic() - started
    busy = machine_busy_s() - busy_before
    wrk_cpu = children_cpu_s() - kids_before
    server_cpu = (tree_cpu_s(server_pid) - server_before) if server_pid else 0.0
    main_cpu = (tree_cpu_s(server_pid, main_only=True) - main_before) if server_pid else 0.0
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()}")
    result = parse_wrk(out.stdout)
    ncpu = os.cpu_count() or 1
    result.server_cpu_pct = 100.0 * server_cpu / wall
    result.other_cpu_pct = max(0.0, 100.0 * (busy - server_cpu - wrk_cpu) / (wall * ncpu))
    result.extra["wrk_cpu_pct"] = 100.0 * wrk_cpu / wall
    result.extra["main_cpu_pct"] = 100.0 * main_cpu / wall
    return result


# --- numbers and tables ----------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100.0 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def fmt(value: float, digits: int = 2) -> str:
    if value != value:  # NaN
        return "\u2013"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --- throwaway peer installs -----------------------------------------------------------------


def _run_setup(command: Sequence[str], cwd: Path, log: Path, timeout_s: float) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(
            command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s, check=False
        )
    if done.returncode != 0:
        raise BenchSkip(f"`{' '.join(command)}` failed ({done.returncode}); see {log}")


def ensure_peer_venv() -> Path:
    """A throwaway venv (outside the repo) with chalice, uvicorn and py-spy; its python path."""
    venv = PEER_DIR / "venv"
    python = venv / "bin" / "python"
    marker = venv / f".ok-chalice-{CHALICE_VERSION}"
    if marker.exists():
        return python
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    log = PEER_DIR / "venv-setup.log"
    py = shutil.which("python3") or sys.executable
    if not python.exists():
        _run_setup([py, "-m", "venv", str(venv)], PEER_DIR, log, 120)
    _run_setup(
        [str(python), "-m", "pip", "install", "-q", f"chalice=={CHALICE_VERSION}",
         f"uvicorn[standard]=={UVICORN_VERSION}", "py-spy"],
        PEER_DIR, log, 600,
    )  # fmt: skip
    marker.touch()
    return python


def ensure_serverless() -> Path:
    """serverless@3 + serverless-offline in a throwaway npm dir; the dir."""
    sls = PEER_DIR / "sls"
    marker = sls / f".ok-{SERVERLESS_VERSION}-{SERVERLESS_OFFLINE_VERSION}"
    if marker.exists():
        return sls
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise BenchSkip("node/npm are not installed")
    sls.mkdir(parents=True, exist_ok=True)
    log = PEER_DIR / "sls-setup.log"
    if not (sls / "package.json").exists():
        _run_setup(["npm", "init", "-y"], sls, log, 120)
    _run_setup(
        ["npm", "install", "--no-audit", "--no-fund", f"serverless@{SERVERLESS_VERSION}",
         f"serverless-offline@{SERVERLESS_OFFLINE_VERSION}"],
        sls, log, 900,
    )  # fmt: skip
    marker.touch()
    return sls


def py_spy() -> Path | None:
    """py-spy from the throwaway venv, if it can be installed."""
    try:
        python = ensure_peer_venv()
    except BenchSkip:
        return None
    path = python.parent / "py-spy"
    return path if path.exists() else None


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())
