"""Control plane at scale: operations/s, memory with 100 functions \u00d7 50 versions, cold starts.

Run: ``.venv/bin/python -m bench.scale [--quick]`` (quick: 100 functions \u00d7 5 versions).

Against a real ``apicanary serve`` (no template, empty state directory, Lambda state changes
settled at once: ``--lambda-state-delay 0``), through boto3:

1. UpdateAlias / GetAlias / PublishVersion rates on an almost empty engine (1 function);
2. populate: CreateFunction \u00d7 100, then per version UpdateFunctionCode (a small zip) +
   PublishVersion for every function (4 client threads), timing each call — the latency of the
   first and the last calls shows how cost grows with the state's size;
3. the same UpdateAlias / GetAlias rates on the populated engine, 1 client and 4 threads;
4. RSS of the serve process (empty, populated, after invoking 10 functions) and of its workers;
5. cold starts: ``serve`` launch → ready on the empty and the populated state directory, and
   first Invoke of never-run versions (total latency and the Init Duration from the log tail).
"""

from __future__ import annotations

import base64
import io
import re
import statistics
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    Serve,
    apicanary_serve,
    fmt,
    percentile,
    process_tree,
    quick_main,
    rss_mib,
    table,
)

ROLE = "arn:aws:iam::123456789012:role/bench"
ALIAS_BUDGET_S = 15.0  # per operation and thread count: fewer calls when each is slow


def small_zip(tag: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "app.py",
            f"TAG = {tag!r}\n\n\ndef handler(event, context):\n"
            "    return {'statusCode': 200, 'body': TAG}\n",
        )
    return buffer.getvalue()


@dataclass
class OpStats:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    threads: int = 1

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else float("nan")

    def row(self, label: str = "") -> list[str]:
        lat = self.latencies_ms
        return [
            self.name + (f" {label}" if label else ""),
            str(self.threads),
            f"{len(lat):,}",
            fmt(self.rate),
            fmt(statistics.median(lat)) if lat else "\u2013",
            fmt(percentile(lat, 99)) if lat else "\u2013",
        ]


def timed_ops(
    name: str,
    clients: list[Any],
    per_client: int,
    op: Callable[[Any, int, int], object],
    budget_s: float | None = None,
) -> OpStats:
    """``op(client, thread_index, i)`` ``per_client`` times on each client, one thread each;
    each thread stops early once ``budget_s`` has passed (slow operations on a big state)."""
    stats = OpStats(name, threads=len(clients))
    lock = threading.Lock()
    deadline = time.perf_counter() + budget_s if budget_s is not None else float("inf")

    def work(index: int, client: Any) -> None:
        mine: list[float] = []
        for i in range(per_client):
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            op(client, index, i)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            stats.latencies_ms.extend(mine)

    threads = [
        threading.Thread(target=work, args=(index, client)) for index, client in enumerate(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats.seconds = time.perf_counter() - started
    return stats


def alias_ops(serve: Serve, functions: list[str], calls: int, label: str) -> list[list[str]]:
    rows: list[list[str]] = []
    for threads in (1, 4):
        clients = [serve.boto3("lambda") for _ in range(threads)]

        def update(client: Any, index: int, i: int) -> object:
            fn = functions[(index * 7 + i) % len(functions)]
            weight = 0.05 + (i % 10) * 0.05
            return client.update_alias(
                FunctionName=fn, Name="live", FunctionVersion="1",
                RoutingConfig={"AdditionalVersionWeights": {"2": weight}},
            )  # fmt: skip

        def get(client: Any, index: int, i: int) -> object:
            return client.get_alias(FunctionName=functions[(index + i) % len(functions)],
                                    Name="live")  # fmt: skip

        for op_name, op in (("UpdateAlias", update), ("GetAlias", get)):
            stats = timed_ops(op_name, clients, calls // threads, op, ALIAS_BUDGET_S)
            rows.append(stats.row(label))
    return rows


@dataclass
class Population:
    create: OpStats
    update_code: OpStats
    publish: OpStats
    publish_first_ms: float
    publish_last_ms: float
    seconds: float


def populate(serve: Serve, functions: int, versions: int, threads: int = 4) -> Population:
    names = [f"fn{index:03d}" for index in range(functions)]
    clients = [serve.boto3("lambda") for _ in range(threads)]
    started = time.perf_counter()

    def create(client: Any, index: int, i: int) -> object:
        name = names[index + i * threads]
        return client.create_function(
            FunctionName=name, Runtime="python3.11", Handler="app.handler", Role=ROLE,
            Code={"ZipFile": small_zip(f"{name}-0")}, Publish=False, MemorySize=128, Timeout=3,
        )  # fmt: skip

    create_stats = timed_ops("CreateFunction", clients, functions // threads, create)
    update_stats = OpStats("UpdateFunctionCode", threads=threads)
    publish_stats = OpStats("PublishVersion", threads=threads)
    publish_order: list[tuple[float, float]] = []  # (wall time, latency ms) to see growth
    lock = threading.Lock()

    def work(index: int, client: Any) -> None:
        mine_update: list[float] = []
        mine_publish: list[tuple[float, float]] = []
        for version in range(1, versions + 1):
            for name in names[index::threads]:
                t0 = time.perf_counter()
                client.update_function_code(
                    FunctionName=name, ZipFile=small_zip(f"{name}-{version}")
                )
                t1 = time.perf_counter()
                published = client.publish_version(FunctionName=name)
                t2 = time.perf_counter()
                assert published["Version"] == str(version), published["Version"]
                mine_update.append((t1 - t0) * 1000)
                mine_publish.append((t2, (t2 - t1) * 1000))
        with lock:
            update_stats.latencies_ms.extend(mine_update)
            publish_order.extend(mine_publish)

    phase = time.perf_counter()
    pool = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(clients)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - phase
    update_stats.seconds = publish_stats.seconds = elapsed
    publish_order.sort()
    publish_stats.latencies_ms = [lat for _, lat in publish_order]
    tenth = max(1, len(publish_order) // 10)
    return Population(
        create_stats,
        update_stats,
        publish_stats,
        statistics.median(publish_stats.latencies_ms[:tenth]),
        statistics.median(publish_stats.latencies_ms[-tenth:]),
        time.perf_counter() - started,
    )


_INIT = re.compile(r"Init Duration: ([\d.]+) ms")


def cold_invokes(serve: Serve, names: list[str], version: str) -> tuple[list[float], list[float]]:
    lam = serve.boto3("lambda")
    totals: list[float] = []
    inits: list[float] = []
    for name in names:
        started = time.perf_counter()
        out = lam.invoke(FunctionName=name, Qualifier=version, LogType="Tail", Payload=b"{}")
        out["Payload"].read()
        totals.append((time.perf_counter() - started) * 1000)
        log = base64.b64decode(out.get("LogResult", "")).decode(errors="replace")
        match = _INIT.search(log)
        if match:
            inits.append(float(match.group(1)))
    return totals, inits


def workers_rss(serve: Serve) -> tuple[int, float]:
    pids = [pid for pid in process_tree(serve.process.pid) if pid != serve.process.pid]
    return len(pids), sum(rss_mib(pid) for pid in pids)


def run(quick: bool) -> str:
    functions = 100
    versions = 5 if quick else 50
    alias_calls = 200 if quick else 1000
    cold_n = 5 if quick else 20
    with tempfile.TemporaryDirectory(prefix="apicanary-bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        state = tmp / "state"
        # the control plane's own cost: no Pending/InProgress wait after each change
        no_wait = ("--lambda-state-delay", "0")
        with apicanary_serve(state, template=None, extra_args=no_wait) as serve:
            empty_ready_s = serve.ready_s
            rss_empty = rss_mib(serve.process.pid)
            lam = serve.boto3("lambda")
            lam.create_function(
                FunctionName="solo", Runtime="python3.11", Handler="app.handler", Role=ROLE,
                Code={"ZipFile": small_zip("solo-1")}, Publish=True,
            )  # fmt: skip
            lam.update_function_code(FunctionName="solo", ZipFile=small_zip("solo-2"))
            lam.publish_version(FunctionName="solo")
            lam.create_alias(FunctionName="solo", Name="live", FunctionVersion="1")
            small_rows = alias_ops(serve, ["solo"], alias_calls, "(1 function, 2 versions)")
            pop = populate(serve, functions, versions)
            names = [f"fn{index:03d}" for index in range(functions)]
            for name in names:
                lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
            rss_full = rss_mib(serve.process.pid)
            big_rows = alias_ops(
                serve, names, alias_calls, f"({functions} functions \u00d7 {versions} versions)"
            )
            cold_total, cold_init = cold_invokes(serve, names[:cold_n], str(versions))
            for name in names[cold_n:10]:
                lam.invoke(FunctionName=name, Qualifier=str(versions), Payload=b"{}")
            n_workers, rss_workers = workers_rss(serve)
            rss_after_invoke = rss_mib(serve.process.pid)
        with apicanary_serve(state, template=None, extra_args=no_wait) as again:
            full_ready_s = again.ready_s
            rss_restart = rss_mib(again.process.pid)
    total_versions = functions * versions
    out = [
        "## Control plane at scale",
        "",
        f"boto3 against `apicanary serve`'s control port. Population: {functions} functions \u00d7 "
        f"{versions} versions ({total_versions:,} versions, each an UpdateFunctionCode with a "
        f"small zip + PublishVersion), 4 client threads, {pop.seconds:.1f} s in all. Latencies "
        "in ms, per call, as the client sees them (botocore's own cost included). Alias "
        f"operations stop after {ALIAS_BUDGET_S:.0f} s each (hence fewer calls when they are "
        "slow).",
        "",
        table(
            ["operation", "client threads", "calls", "ops/s", "p50 ms", "p99 ms"],
            [
                *small_rows,
                pop.create.row(),
                pop.update_code.row("(mixed with PublishVersion)"),
                pop.publish.row("(mixed with UpdateFunctionCode)"),
                *big_rows,
            ],
        ),
        "",
        f"PublishVersion median latency: first 10 % of the population {pop.publish_first_ms:.1f} "
        f"ms, last 10 % {pop.publish_last_ms:.1f} ms (state grows from 0 to "
        f"{total_versions:,} versions).",
        "",
        table(
            ["memory / start-up", "value"],
            [
                ["serve RSS, empty state", f"{rss_empty:.0f} MiB"],
                [
                    f"serve RSS, {functions} \u00d7 {versions} versions + aliases",
                    f"{rss_full:.0f} MiB",
                ],
                ["serve RSS, after invoking 10 functions", f"{rss_after_invoke:.0f} MiB"],
                [
                    "worker processes then alive, total RSS",
                    f"{n_workers} processes, {rss_workers:.0f} MiB",
                ],
                ["serve launch → ready, empty state dir", f"{empty_ready_s:.2f} s"],
                [
                    f"serve launch → ready, state dir with {total_versions:,} versions",
                    f"{full_ready_s:.2f} s",
                ],
                ["serve RSS right after that restart", f"{rss_restart:.0f} MiB"],
                [
                    f"cold Invoke (boto3, never-run version), total, median of {len(cold_total)}",
                    f"{statistics.median(cold_total):.0f} ms (max {max(cold_total):.0f})",
                ],
                [
                    "… of which Init Duration (spawn → ready), median",
                    f"{statistics.median(cold_init):.0f} ms" if cold_init else "not reported",
                ],
            ],
        ),
    ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> None:
    quick_main(__doc__, run, argv)


if __name__ == "__main__":
    main()
