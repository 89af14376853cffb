"""Detection benchmark: the real ``apicanary.rollout.analysis.canary`` code against the §2 floor
and a CodeDeploy-style alarm (detection-limits.md §2.2, §3, §4, §7).

Run: ``python -m bench.detection [--runs N] [--good-runs N] [--seed S] [--reaction-runs N]
[--no-write]``. The headline (failed canary requests until the rollback is read back) is
measured end to end on the real engine by :mod:`bench.reaction`; the rest is simulated.
Pure Python (numpy is not a dependency); prints a markdown report and writes docs/detection.md.

Model (§1): Poisson traffic at 10 / 100 / 1000 req/s, each request to the canary with
probability 10 %; failures independent, p0 on stable, p1 on the canary. The analysis is fed one
1-second window per tick with the window's per-arm counts and the arrival order of its
failures, exactly as the controller feeds it. Windows with no failure carry no evidence and are
skipped in bulk (a geometric jump), which leaves the e-process unchanged.

Reported for the analysis, per scenario:
* failed canary requests up to the failure at which the e-value crossed 1/alpha_err
  ("statistics only", as the "instant telemetry" rows of §4) and up to the end of that 1-s
  window (the earliest a controller ticking every second could act);
* time to decide (the crossing failure's arrival time), detection within the 300-s bake;
* false rollbacks of good canaries within the 300-s bake.

Anchors (own implementations of the ideas in detection_sim.py):
* CodeDeploy-style alarm: canary Errors (Sum) per 1-minute datapoint >= c, 1 of 1, 60 s
  datapoint delay (and a no-delay variant), c calibrated to the smallest integer with
  false-rollback probability <= 1 % over the 300-s bake (computed exactly);
* the two-sample label SPRT that knows k (alpha 1 %, beta 5 %), the §2.2 floor.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from apicanary.rollout.analysis.canary import (
    AnalysisConfig,
    ArmCounts,
    CanaryAnalysis,
    Outcome,
    Window,
)

SHARE = 0.10
WINDOW_S = 1.0
BAKE_S = 300.0
CAP_S = 3600.0
ALPHA = 0.01
BETA = 0.05
ALARM_DELAY_S = 60.0
RATES = (10, 100, 1000)
P0S = (0.01, 0.001)


# ------------------------------------------------------------------------------------------
# random variates (stdlib only)
# ------------------------------------------------------------------------------------------
def poisson(rng: random.Random, mu: float) -> int:
    """Exact Poisson variate: inversion for small means, Hoermann's PTRS (1993) otherwise."""
    if mu <= 0.0:
        return 0
    if mu < 30.0:
        k, p = 0, math.exp(-mu)
        cdf, u = p, rng.random()
        while u > cdf:
            k += 1
            p *= mu / k
            cdf += p
            if p < 1e-300 and k > mu:
                break
        return k
    slam = math.sqrt(mu)
    loglam = math.log(mu)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = rng.random() - 0.5
        v = rng.random()
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + mu + 0.43)
        if us >= 0.07 and v <= v_r:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        lhs = math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b)
        if lhs <= -mu + k * loglam - math.lgamma(k + 1):
            return k


def poisson_positive(rng: random.Random, mu: float) -> int:
    """Poisson variate conditioned on being >= 1."""
    if mu > 3.0:
        while True:
            k = poisson(rng, mu)
            if k > 0:
                return k
    p0 = math.exp(-mu)
    u = p0 + rng.random() * (1.0 - p0)
    k, p = 1, p0 * mu
    cdf = p0 + p
    while u > cdf and k < 1000:
        k += 1
        p *= mu / k
        cdf += p
    return k


def binomial(rng: random.Random, n: int, p: float) -> int:
    """Binomial variate by Bernoulli trials (n is small here)."""
    if p >= 1.0:
        return n
    return sum(1 for _ in range(n) if rng.random() < p)


def poisson_sf(c: int, mu: float) -> float:
    """P(Poisson(mu) >= c)."""
    if c <= 0:
        return 1.0
    term = math.exp(-mu)
    cdf = term
    for k in range(1, c):
        term *= mu / k
        cdf += term
    return max(0.0, 1.0 - cdf)


# ------------------------------------------------------------------------------------------
# the analysis under test
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Run:
    """One simulated canary: crossing time / canary failures, at the event and at the tick."""

    decided: bool
    t_event: float
    fails_event: int
    t_tick: float
    fails_tick: int


def run_analysis(rng: random.Random, rate: float, p0: float, p1: float, horizon: float) -> Run:
    """Feed 1-s windows of simulated traffic to a fresh CanaryAnalysis until it fails."""
    analysis = CanaryAnalysis(AnalysisConfig())
    mc, ms = rate * SHARE * WINDOW_S, rate * (1.0 - SHARE) * WINDOW_S
    mfc, mfs = mc * p1, ms * p0
    mf = mfc + mfs
    pf = -math.expm1(-mf)  # P(window has a failure)
    n_windows = int(horizon / WINDOW_S)
    w = 0
    canary_fails = 0
    while True:
        if pf < 1.0:
            u = 1.0 - rng.random()
            w += int(math.log(u) / math.log1p(-pf))
        if w >= n_windows:
            return Run(False, math.inf, canary_fails, math.inf, canary_fails)
        f = poisson_positive(rng, mf)
        fc = binomial(rng, f, mfc / mf)
        fs = f - fc
        sc = poisson(rng, mc * (1.0 - p1))
        ss = poisson(rng, ms * (1.0 - p0))
        labels = [True] * fc + [False] * fs
        rng.shuffle(labels)
        window = Window(
            stable=ArmCounts(requests=ss + fs, errors=fs, warm=ss + fs),
            canary=ArmCounts(requests=sc + fc, errors=fc, warm=sc + fc),
            error_order=tuple(labels),
        )
        verdict = analysis.update(window, now=(w + 1) * WINDOW_S)
        if verdict.outcome is Outcome.FAIL:
            crossing = analysis.errors.crossing
            assert crossing is not None and crossing.event_index is not None
            times = sorted(rng.random() for _ in range(f))
            t_event = (w + times[crossing.event_index]) * WINDOW_S
            return Run(True, t_event, crossing.canary_events, (w + 1) * WINDOW_S, canary_fails + fc)
        canary_fails += fc
        w += 1


# ------------------------------------------------------------------------------------------
# anchors
# ------------------------------------------------------------------------------------------
def alarm_evaluations(delay: float) -> int:
    """Minutes whose datapoint is evaluated before the end of the bake."""
    return math.floor((BAKE_S - delay) / 60.0 + 1e-9)


def calibrate_alarm(mu_minute: float, delay: float) -> tuple[int, float]:
    """Smallest count threshold c with P(false rollback within the bake) <= ALPHA, and it."""
    m = alarm_evaluations(delay)
    for c in range(1, 1_000_000):
        frr = 1.0 - (1.0 - poisson_sf(c, mu_minute)) ** m
        if frr <= ALPHA:
            return c, frr
    raise AssertionError("unreachable")


def run_alarm(rng: random.Random, mu_minute: float, c: int, delay: float) -> Run:
    """CodeDeploy-style alarm on the canary's per-minute Errors: first datapoint >= c fires
    at its minute end + delay; failures are counted up to that moment."""
    m = alarm_evaluations(delay)
    extra = math.ceil(delay / 60.0)
    errors = [poisson(rng, mu_minute) for _ in range(m + extra)]
    for j in range(m):
        if errors[j] >= c:
            t = 60.0 * (j + 1) + delay
            whole = int(t // 60.0)
            fails = sum(errors[:whole])
            return Run(True, t, fails, t, fails)
    return Run(False, math.inf, 0, math.inf, 0)


@dataclass(frozen=True, slots=True)
class Floor:
    """Two-sample label SPRT with k known (§2.2): mean canary failures, events, Wald limit."""

    fails: float
    events: float
    wald_fails: float


def sprt_floor(rng: random.Random, q1: float, runs: int) -> Floor:
    """Simulate Wald's SPRT of r vs q1 on failure labels (alpha 1 %, beta 5 %)."""
    upper = math.log((1.0 - BETA) / ALPHA)
    lower = math.log(BETA / (1.0 - ALPHA))
    up = math.log(q1 / SHARE)
    down = math.log((1.0 - q1) / (1.0 - SHARE))
    fails, events = 0, 0
    for _ in range(runs):
        llr = 0.0
        while lower < llr < upper:
            events += 1
            if rng.random() < q1:
                fails += 1
                llr += up
            else:
                llr += down
    h = (1.0 - BETA) * upper + BETA * lower
    kl = q1 * math.log(q1 / SHARE) + (1.0 - q1) * math.log((1.0 - q1) / (1.0 - SHARE))
    return Floor(fails / runs, events / runs, q1 * h / kl)


# ------------------------------------------------------------------------------------------
# scenarios and report
# ------------------------------------------------------------------------------------------
def mean(xs: Sequence[float]) -> float:
    return statistics.fmean(xs) if xs else math.nan


def p95(xs: Sequence[float]) -> float:
    if not xs:
        return math.nan
    s = sorted(xs)
    return s[min(len(s) - 1, math.ceil(0.95 * len(s)) - 1)]


def fmt_t(t: float) -> str:
    if math.isnan(t) or math.isinf(t):
        return "-"
    if t < 1:
        return f"{t:.2f} s"
    if t < 100:
        return f"{t:.1f} s"
    return f"{t:.0f} s"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def label(p0: float, p1: float) -> str:
    return "outage" if p1 >= 1.0 else f"{p1 / p0:g}x"


def many(fn: Callable[[random.Random], Run], runs: int, seed: int) -> list[Run]:
    rng = random.Random(seed)
    return [fn(rng) for _ in range(runs)]


def bad_rows(runs: int, seed: int) -> tuple[list[list[str]], list[str]]:
    rows: list[list[str]] = []
    goals: list[str] = []
    s = seed
    for p0 in P0S:
        for p1 in (1.0, 10 * p0):
            q1 = SHARE * p1 / (SHARE * p1 + (1 - SHARE) * p0)
            floor = sprt_floor(random.Random(s), q1, 20000)
            s += 1
            for rate in RATES:
                rs = many(partial(run_analysis, rate=rate, p0=p0, p1=p1, horizon=CAP_S), runs, s)
                s += 1
                det = [r for r in rs if r.decided]
                in_bake = sum(1 for r in det if r.t_event <= BAKE_S) / len(rs)
                fe = [float(r.fails_event) for r in det]
                ft = [float(r.fails_tick) for r in det]
                te = [r.t_event for r in det]
                mu_min = rate * SHARE * 60.0 * p0
                c, _ = calibrate_alarm(mu_min, ALARM_DELAY_S)
                mu_bad = rate * SHARE * 60.0 * p1
                al = many(partial(run_alarm, mu_minute=mu_bad, c=c, delay=ALARM_DELAY_S), runs, s)
                s += 1
                adet = [r for r in al if r.decided]
                event_rate = rate * (SHARE * p1 + (1 - SHARE) * p0)
                floor_t = floor.events / event_rate
                ratio = mean(fe) / floor.fails
                alarm_txt = (
                    f"{mean([float(r.fails_event) for r in adet]):.0f} / "
                    f"{fmt_t(mean([r.t_event for r in adet]))}"
                    if adet
                    else "-"
                )
                alarm_txt += f" (miss {pct(1 - len(adet) / len(al))}, Errors>={c})"
                rows.append(
                    [
                        f"{100 * p0:g}%",
                        label(p0, p1),
                        f"{rate}",
                        f"{mean(fe):.2f} (p95 {p95(fe):.0f})",
                        f"{mean(ft):.1f}",
                        fmt_t(mean(te)),
                        pct(in_bake),
                        pct(1 - len(det) / len(rs)),
                        f"{floor.fails:.2f} / {fmt_t(floor_t)} (Wald {floor.wald_fails:.2f})",
                        f"{ratio:.2f}x / {mean(te) / floor_t:.2f}x",
                        alarm_txt,
                    ]
                )
                if p1 >= 1.0:
                    status = "MET" if mean(fe) <= 4.0 else f"MISSED by {mean(fe) - 4:.2f}"
                    goals.append(
                        f"- outage, p0 {100 * p0:g}%, {rate} req/s: mean {mean(fe):.2f}"
                        f" failed canary requests (goal <= 4): {status}"
                    )
                else:
                    ok = ratio <= 1.5
                    goals.append(
                        f"- 10x, p0 {100 * p0:g}%, {rate} req/s: {mean(fe):.2f} failed vs floor"
                        f" {floor.fails:.2f} = {ratio:.2f}x (goal <= 1.5x):"
                        f" {'MET' if ok else f'MISSED by {ratio - 1.5:.2f}x'}"
                    )
    return rows, goals


def good_rows(runs: int, seed: int) -> tuple[list[list[str]], list[str]]:
    rows: list[list[str]] = []
    goals: list[str] = []
    s = seed + 1000
    for p0 in P0S:
        for rate in RATES:
            rs = many(partial(run_analysis, rate=rate, p0=p0, p1=p0, horizon=BAKE_S), runs, s)
            s += 1
            frr = sum(1 for r in rs if r.decided) / len(rs)
            se = math.sqrt(max(frr * (1 - frr), 1e-12) / len(rs))
            mu_min = rate * SHARE * 60.0 * p0
            c, afrr = calibrate_alarm(mu_min, ALARM_DELAY_S)
            c0, afrr0 = calibrate_alarm(mu_min, 0.0)
            rows.append(
                [
                    f"{100 * p0:g}%",
                    f"{rate}",
                    f"{runs}",
                    f"{pct(frr)} (± {pct(1.96 * se)})",
                    f"Errors>={c}: {pct(afrr)}",
                    f"Errors>={c0}: {pct(afrr0)}",
                ]
            )
            ok = frr <= 0.01
            goals.append(
                f"- good canary, p0 {100 * p0:g}%, {rate} req/s: false rollbacks {pct(frr)}"
                f" (goal <= 1%): {'MET' if ok else f'MISSED by {pct(frr - 0.01)}'}"
            )
    return rows, goals


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def headline(reaction_runs: int) -> tuple[str, list[str]]:
    """The headline: failed canary requests until the rollback is read back, measured end to
    end on the real engine and controller (``bench.reaction``), with its goals."""
    import asyncio

    from bench import reaction

    results = asyncio.run(reaction.measure((100.0, 1000.0), reaction_runs, 20.0))
    goals = []
    for rate, goal in ((100.0, 6.0), (1000.0, 10.0)):
        runs = results[rate]
        mean = statistics.mean(r.clients_saw for r in runs)
        achieved = statistics.mean(r.rate for r in runs)
        verdict = "MET" if mean <= goal else f"MISSED by {mean - goal:.2f}"
        goals.append(
            f"- outage, 10% share, {rate:g} req/s offered ({achieved:.0f} achieved): mean "
            f"{mean:.2f} failed canary requests until the rollback is read back "
            f"(goal <= {goal:g}): {verdict}"
        )
    return reaction.report(results), goals


def report(runs: int, good_runs: int, seed: int, reaction_runs: int = 30) -> str:
    t0 = time.perf_counter()
    top, top_goals = headline(reaction_runs) if reaction_runs else ("(not measured)", [])
    brows, bgoals = bad_rows(runs, seed)
    grows, ggoals = good_rows(good_runs, seed)
    elapsed = time.perf_counter() - t0
    cfg = AnalysisConfig()
    head = (
        "# Detection benchmark (`python -m bench.detection`)\n\n"
        f"Real `apicanary.rollout.analysis.canary.CanaryAnalysis` (alpha_err {cfg.alpha_errors:g},"
        f" alpha_lat {cfg.alpha_latency:g}, threshold e >= {1 / cfg.alpha_errors:g}) fed 1-s"
        f" windows with measured per-window shares; canary share {SHARE:.0%}; seed {seed};"
        f" {runs} runs per bad-canary scenario (cap {CAP_S:.0f} s), {good_runs} per good-canary"
        f" scenario (300-s bake). Runtime {elapsed:.0f} s, pure Python.\n"
    )
    bad = table(
        [
            "p0",
            "canary",
            "req/s",
            "analysis: failed canary req. at crossing, mean (p95)",
            "same, at end of 1-s tick",
            "mean time to decide",
            "decided within 300 s",
            f"undecided at {CAP_S:.0f} s",
            "2-sample SPRT floor (k known): failed / time",
            "analysis / floor: failed / time",
            "CodeDeploy-style alarm (calibrated, 60 s delay): failed / time",
        ],
        brows,
    )
    good = table(
        [
            "p0",
            "req/s",
            "runs",
            "analysis false rollbacks in 300 s (95% CI)",
            "CodeDeploy-style alarm, 60 s delay (exact)",
            "same, no delay (exact)",
        ],
        grows,
    )
    return (
        f"{head}\n## Headline: failed canary requests until the rollback is read back\n\n"
        f"{HEADLINE_METHOD}\n\n{top}\n\n"
        f"## Bad canaries (the statistic alone, simulated)\n\n{bad}\n\n"
        f"## Good canaries (false rollbacks)\n\n{good}\n\n{BATCHING_NOTE}\n\n"
        "## Goals\n\n" + "\n".join(top_goals + bgoals + ggoals) + "\n"
    )


BATCHING_NOTE = (
    "**Batched evidence (the AWS backend's log path).** Through CloudWatch Logs the "
    "controller receives evidence once per Live Tail update (one per second). That cannot "
    "raise the false-rollback rate above the bound the tests guarantee: both are mixture "
    "e-processes (`apicanary/rollout/analysis/mixture.py`), nonnegative supermartingales "
    'under "canary as good as stable" at every window end for any window boundaries not '
    "chosen by looking at which arm failed, so by Ville's inequality the chance of ever "
    "reaching 1/alpha is at most alpha (0.5 % per test, 1 % together) however often or "
    "rarely the e-value is examined; looking less often at one e-process can only miss "
    "crossings, never add one. Within an update the labels are still folded one by one in "
    "the order they arrived, so batching changes only the window over which the canary share is "
    "measured, not the number of looks. The simulated rates above (0.0-0.2 %) were obtained "
    "with 1-s windows, the log path's own cadence, so they are the estimate for it; what "
    "holds for any batching is the 1 % bound. The good canaries measured through the log "
    "path are in docs/benchmarks.md."
)

HEADLINE_METHOD = (
    "Measured end to end by `bench.reaction` (`python -m bench.reaction`): the real engine, the"
    " real controller ticked by the real scheduler with evidence pushed (a failed request wakes"
    " it), the alias at 10 %, a canary in outage (every request it serves fails), a stable"
    " version that never fails, open-loop requests through the gateway's request path in the"
    " same process. Counted: every canary 5xx any client received, i.e. until the canary stopped"
    " receiving traffic, requests already routed to it included. The machine was shared with"
    " other work (2 cores), so the reaction times are pessimistic. The simulated tables below"
    " grade the statistic alone (at the crossing failure, and at the end of a 1-s tick, which"
    " is what a controller polling every second would show: about 100 failures at 1,000 req/s)."
)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=400, help="runs per bad-canary scenario")
    ap.add_argument("--good-runs", type=int, default=1000, help="runs per good-canary scenario")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--no-write", action="store_true", help="do not write docs/detection.md")
    ap.add_argument("--reaction-runs", type=int, default=30,
                    help="end-to-end runs per rate for the headline (0: skip)")  # fmt: skip
    args = ap.parse_args(argv)
    text = report(args.runs, args.good_runs, args.seed, args.reaction_runs)
    print(text)
    if not args.no_write:
        out = Path(__file__).resolve().parent.parent / "docs" / "detection.md"
        out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
