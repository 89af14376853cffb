"""The text form of a rehearsal's result: the verdict first, then where the release differs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def render_text(result: Mapping[str, Any]) -> str:
    """Summary lines, the per-route table, findings and warnings."""
    baseline = result["baseline"]
    traffic = result["traffic"]
    faults = ", ".join(result["faults"]) or "none"
    minutes = result["decidedAfterSeconds"] / 60
    lines = [
        f"rehearsal of v{result['canaryVersion']} (the working tree) against "
        f"v{result['stableVersion']}: {result['verdict']}"
        f"{' (unverified)' if result['unverified'] else ''}",
        f"  baseline        {baseline['description']}",
        f"  traffic         {traffic['description']}, at {traffic['pace']}",
        f"  strategy        {result['strategy']}",
        f"  faults          {faults} ({result['injectedFaults']} injected)",
        f"  decided after   {result['decidedAfterSeconds']:.0f} virtual seconds "
        f"({minutes:.1f} min)",
        f"  requests        {result['requests']} ({result['failed']} failed, "
        f"{result['canaryRequests']} to the canary, {result['canaryFailed']} of them failed)",
        f"  reason          {result['reason']}",
    ]
    if traffic.get("passes"):
        lines.append(
            f"  replayed        {traffic['recorded']} recorded request(s), "
            f"{traffic['passes']} pass(es)"
        )
    lines += _routes(result["routes"], result["bodiesCompared"])
    lines += _warnings(result)
    return "\n".join(lines)


def _routes(routes: list[Mapping[str, Any]], compared: bool) -> list[str]:
    if not routes:
        return []
    width = max(len(r["route"]) for r in routes)
    header = (
        f"  {'route':<{width}}  {'requests':>13}  {'errors':>15}  {'p50 ms':>15}  {'p99 ms':>15}"
    )
    lines = ["", "  per route: baseline | canary", header]
    for route in routes:
        b, c = route["baseline"], route["canary"]
        lines.append(
            f"  {route['route']:<{width}}  {_pair(b['requests'], c['requests'], 'd'):>13}  "
            f"{_pair(b['errorRate'] * 100, c['errorRate'] * 100, '.1f', '%'):>15}  "
            f"{_pair(b['p50Ms'], c['p50Ms'], '.1f'):>15}  "
            f"{_pair(b['p99Ms'], c['p99Ms'], '.1f'):>15}"
        )
        for finding in route["findings"]:
            lines.append(f"    ! {finding}")
        for example in (route.get("bodies") or {}).get("examples", []):
            lines.append(
                f"      {example['request']}: {example['field']} {example['baseline']} → "
                f"{example['canary']}"
            )
    if compared:
        noisy = sorted({f for r in routes for f in (r.get("bodies") or {}).get("noise", [])})
        if noisy:
            lines.append(f"  ignored as noise (two baseline runs differ): {', '.join(noisy)}")
    return lines


def _warnings(result: Mapping[str, Any]) -> list[str]:
    lines = []
    traffic = result["traffic"]
    skipped = traffic.get("skipped") or {}
    if skipped:
        reasons = ", ".join(f"{n} × {why}" for why, n in skipped.items())
        lines.append(f"  skipped         {reasons}")
    for note in traffic.get("notes") or []:
        lines.append(f"  note            {note}")
    stable = result.get("stableRequests", 0)
    if stable and result["stableFailed"] > stable / 2:
        lines.append(
            f"  warning         the stable version itself failed {result['stableFailed']} of "
            f"{stable} requests: a canary is only judged against it, so fix stable first"
        )
    return ["", *lines] if lines else []


def _pair(left: float | None, right: float | None, form: str, unit: str = "") -> str:
    def one(value: float | None) -> str:
        return "-" if value is None else f"{value:{form}}{unit}"

    return f"{one(left)} | {one(right)}"
