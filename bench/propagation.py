"""Weight-change propagation latency and failed requests during traffic shifts, under load.

Run: ``.venv/bin/python -m bench.propagation [--quick]``.

``apicanary serve`` runs a copy of bench/projects/hello (version 1 behind alias ``live``; the
copy's handler is edited and published as version 2, with alias ``canary`` → 2). A paced load
generator (bench/loadgen.py, a separate process, ≥ 1,000 req/s target) records for every
response when it was sent and received and which version served it (``x-app-version``).

* **Propagation**: the weights are flipped all-or-nothing, repeatedly — UpdateAlias
  (``live`` → the other version, no additional weights) and UpdateStage
  (``/canarySettings/percentTraffic`` 0 ↔ 100, the canary's stage variables pointing at alias
  ``canary``). Per flip, relative to the moment the boto3 call **returned**: when the first
  response from the new version arrived (negative: the change was live before the control
  call's answer reached the client), when the last response from the old version arrived
  (requests already in flight), and how many requests **sent after the return** were still
  served by the old weights (stale; should be 0).
* **Failures during shifts**: a rollout's worth of weight steps (alias 10 → 25 → 50 → 75 % →
  promote → roll back; stage canary create, 10 → 50 → 100 %, promote-style patch, remove), back
  to back for several seconds, while the load runs; every non-200 answer or socket error
  counts.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.common import (
    HELLO_PROJECT,
    REPO,
    Serve,
    apicanary_serve,
    fmt,
    percentile,
    quick_main,
    table,
)

RATE = 1500.0
CONNECTIONS = 32


@dataclass
class Flip:
    mode: str
    new_version: str
    old_version: str
    called: int  # monotonic ns, before the control call
    returned: int  # monotonic ns, after it returned


def _edit_handler(project: Path, tag: str) -> None:
    app = project / "src" / "app.py"
    app.write_text(app.read_text() + f"\n\nBENCH_TAG = {tag!r}\n")


class Load:
    """The load generator process for ``duration_s``."""

    def __init__(self, url: str, duration_s: float, out: Path) -> None:
        self.out = out
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen", url, "--rate", str(RATE),
             "--connections", str(CONNECTIONS), "--duration", str(duration_s),
             "--out", str(out)],
            cwd=REPO, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"load generator failed to start: {line!r}")

    def records(self, timeout_s: float) -> list[tuple[int, int, int, str]]:
        self.process.wait(timeout_s)
        raw: list[list[Any]] = orjson.loads(self.out.read_bytes())
        return [(int(a), int(b), int(c), str(d)) for a, b, c, d in raw]


def _timed(call: Callable[[], object]) -> tuple[int, int]:
    before = time.monotonic_ns()
    call()
    return before, time.monotonic_ns()


@dataclass
class FlipResult:
    mode: str
    call_ms: float
    first_new_ms: float  # first new-version response, relative to the call's return
    last_old_ms: float  # last old-version response, relative to the call's return
    stale: int  # sent after the return, served by the old version


def analyse(flips: list[Flip], records: list[tuple[int, int, int, str]]) -> list[FlipResult]:
    ordered = sorted(records, key=lambda r: r[1])
    results: list[FlipResult] = []
    for index, flip in enumerate(flips):
        window_end = flips[index + 1].called if index + 1 < len(flips) else ordered[-1][1]
        window_start = flip.called - 500_000_000
        first_new = None
        last_old = None
        stale = 0
        for sent, received, status, version in ordered:
            if received < window_start or received > window_end or status != 200:
                continue
            if version == flip.new_version and received >= flip.called and first_new is None:
                first_new = received
            if version == flip.old_version and received >= flip.called:
                last_old = received
                if sent >= flip.returned:
                    stale += 1
        results.append(
            FlipResult(
                flip.mode,
                (flip.returned - flip.called) / 1e6,
                (first_new - flip.returned) / 1e6 if first_new is not None else float("nan"),
                (last_old - flip.returned) / 1e6 if last_old is not None else float("nan"),
                stale,
            )
        )
    return results


def _setup(serve: Serve, project: Path) -> tuple[Any, Any, str]:
    lam = serve.boto3("lambda")
    apigw = serve.boto3("apigateway")
    _edit_handler(project, "v2")
    version = str(lam.publish_version(FunctionName="Hello")["Version"])
    lam.create_alias(FunctionName="Hello", Name="canary", FunctionVersion=version)
    api_id = serve.info["provisioned"]["apis"][0]["api_id"]
    return lam, apigw, str(api_id)


def _stage_percent(apigw: Any, api_id: str, percent: float) -> Callable[[], object]:
    return lambda: apigw.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/canarySettings/percentTraffic", "value": str(percent)}
        ],
    )


def propagation(
    serve: Serve, project: Path, flips_per_mode: int, tmp: Path
) -> tuple[list[FlipResult], float, int, int]:
    lam, apigw, api_id = _setup(serve, project)
    url = f"{serve.gateway_url}/prod/hello"
    gap_s = 0.3
    duration = 2.0 + 2 * flips_per_mode * (gap_s + 0.05) + 3.0
    load = Load(url, duration, tmp / "propagation.json")
    flips: list[Flip] = []

    def alias_to(version: str) -> Callable[[], object]:
        return lambda: lam.update_alias(
            FunctionName="Hello", Name="live", FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": {}},
        )  # fmt: skip

    # warm version 2's workers, then start measuring
    alias_to("2")()
    time.sleep(1.0)
    alias_to("1")()
    time.sleep(0.5)
    current = "1"
    for _ in range(flips_per_mode):
        target = "2" if current == "1" else "1"
        called, returned = _timed(alias_to(target))
        flips.append(Flip("UpdateAlias", target, current, called, returned))
        current = target
        time.sleep(gap_s)
    if current != "1":
        alias_to("1")()
    apigw.create_deployment(
        restApiId=api_id,
        stageName="prod",
        canarySettings={"percentTraffic": 0.0, "stageVariableOverrides": {"lambdaAlias": "canary"}},
    )
    time.sleep(0.2)
    percent = 0.0
    for _ in range(flips_per_mode):
        target_pct = 100.0 if percent == 0.0 else 0.0
        called, returned = _timed(_stage_percent(apigw, api_id, target_pct))
        new, old = ("2", "1") if target_pct == 100.0 else ("1", "2")
        flips.append(Flip("UpdateStage percentTraffic", new, old, called, returned))
        percent = target_pct
        time.sleep(gap_s)
    apigw.update_stage(
        restApiId=api_id, stageName="prod",
        patchOperations=[{"op": "remove", "path": "/canarySettings"}],
    )  # fmt: skip
    records = load.records(duration + 30)
    span = (max(r[1] for r in records) - min(r[0] for r in records)) / 1e9
    rate = len(records) / span if span > 0 else float("nan")
    failed = sum(1 for r in records if r[2] != 200)
    return analyse(flips, records), rate, failed, len(records)


@dataclass
class ShiftLoad:
    seconds: float
    steps: int
    requests: int
    rate: float
    non_200: int
    socket_errors: int
    versions: dict[str, int]


def shifts_under_load(serve: Serve, seconds: float, tmp: Path) -> ShiftLoad:
    lam = serve.boto3("lambda")
    apigw = serve.boto3("apigateway")
    api_id = str(serve.info["provisioned"]["apis"][0]["api_id"])
    url = f"{serve.gateway_url}/prod/hello"
    load = Load(url, seconds + 2.0, tmp / "shifts.json")
    time.sleep(0.5)
    started = time.monotonic_ns()
    deadline = time.monotonic() + seconds
    steps = 0
    while time.monotonic() < deadline:
        for weight in (0.1, 0.25, 0.5, 0.75):
            lam.update_alias(FunctionName="Hello", Name="live", FunctionVersion="1",
                             RoutingConfig={"AdditionalVersionWeights": {"2": weight}})  # fmt: skip
            steps += 1
        lam.update_alias(FunctionName="Hello", Name="live", FunctionVersion="2",
                         RoutingConfig={"AdditionalVersionWeights": {}})  # fmt: skip
        lam.update_alias(FunctionName="Hello", Name="live", FunctionVersion="1",
                         RoutingConfig={"AdditionalVersionWeights": {}})  # fmt: skip
        apigw.create_deployment(
            restApiId=api_id, stageName="prod",
            canarySettings={"percentTraffic": 10.0,
                            "stageVariableOverrides": {"lambdaAlias": "canary"}},
        )  # fmt: skip
        steps += 3
        for percent in (50.0, 100.0):
            _stage_percent(apigw, api_id, percent)()
            steps += 1
        apigw.update_stage(
            restApiId=api_id, stageName="prod",
            patchOperations=[{"op": "remove", "path": "/canarySettings"}],
        )  # fmt: skip
        steps += 1
    finished = time.monotonic_ns()
    records = load.records(seconds + 30)
    during = [r for r in records if started <= r[0] <= finished]
    span = (finished - started) / 1e9
    versions: dict[str, int] = {}
    for r in during:
        if r[2] == 200:
            versions[r[3]] = versions.get(r[3], 0) + 1
    return ShiftLoad(
        span,
        steps,
        len(during),
        len(during) / span,
        sum(1 for r in during if r[2] not in (0, 200)),
        sum(1 for r in during if r[2] == 0),
        versions,
    )


def run(quick: bool) -> str:
    flips = 10 if quick else 40
    shift_s = 5.0 if quick else 20.0
    with tempfile.TemporaryDirectory(prefix="apicanary-bench-prop-") as tmp_name:
        tmp = Path(tmp_name)
        project = tmp / "hello"
        shutil.copytree(HELLO_PROJECT, project)
        with apicanary_serve(tmp / "state", template=project / "template.yaml") as serve:
            results, rate, failed, total = propagation(serve, project, flips, tmp)
            shifts = shifts_under_load(serve, shift_s, tmp)
    out = [
        "## Weight-change propagation and failures during shifts",
        "",
        f"Load: bench/loadgen.py in its own process, paced at {RATE:,.0f} req/s over "
        f"{CONNECTIONS} keep-alive connections (closed-loop when the server is slower). "
        f"Propagation run: {total:,} requests at {rate:,.0f} req/s achieved, {failed} not 200. "
        "Times in ms relative to the moment the boto3 control call returned.",
        "",
    ]
    rows: list[list[str]] = []
    for mode in ("UpdateAlias", "UpdateStage percentTraffic"):
        mine = [r for r in results if r.mode == mode]
        if not mine:
            continue
        first = [r.first_new_ms for r in mine if r.first_new_ms == r.first_new_ms]
        last = [r.last_old_ms for r in mine if r.last_old_ms == r.last_old_ms]
        calls = [r.call_ms for r in mine]
        rows.append(
            [
                mode,
                str(len(mine)),
                f"{fmt(statistics.median(calls))} / {fmt(max(calls))}",
                f"{fmt(statistics.median(first))} / {fmt(percentile(first, 90))} / "
                f"{fmt(max(first))}"
                if first
                else "\u2013",
                f"{fmt(statistics.median(last))} / {fmt(max(last))}" if last else "\u2013",
                str(sum(r.stale for r in mine)),
                str(sum(1 for r in mine if r.first_new_ms != r.first_new_ms)),
            ]
        )
    out.append(
        table(
            ["change", "flips", "control call ms (median / max)",
             "first new-version response (median / p90 / max)",
             "last old-version response (median / max)",
             "stale (sent after return, old weights)", "flips with no new response"],
            rows,
        )
    )  # fmt: skip
    out += [
        "",
        'A negative "first new-version response" means a request routed by the new weights '
        "was answered before the control call's HTTP response reached the client: the change "
        'is live when the call is answered. "last old-version response" is in-flight '
        "requests routed before the change finishing afterwards.",
        "",
        f"Shifts under load: {shifts.steps} weight changes (UpdateAlias weights 10/25/50/75 %, "
        "promote, roll back; stage canary create 10 %, 50 %, 100 %, remove), back to back "
        f"for {shifts.seconds:.1f} s.",
        "",
        table(
            [
                "requests during shifts",
                "req/s achieved",
                "non-200",
                "socket errors",
                "served by version",
            ],
            [
                [
                    f"{shifts.requests:,}",
                    fmt(shifts.rate),
                    str(shifts.non_200),
                    str(shifts.socket_errors),
                    ", ".join(f"v{k}: {v:,}" for k, v in sorted(shifts.versions.items())),
                ]
            ],
        ),
    ]
    if rate < 1000 or shifts.rate < 1000:
        out += [
            "",
            "**The load fell short of 1,000 req/s** in at least one phase: the server (or the "
            "shared machine) could not keep up with the paced rate; the numbers above are at "
            "the rate achieved.",
        ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> None:
    quick_main(__doc__, run, argv)


if __name__ == "__main__":
    main()
