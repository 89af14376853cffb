"""How a rollout is shown: one pure view-model, rendered as rich (a terminal) or plain lines.

``view(document, now)`` derives everything the CLI and the demo show from a rollout document:
the strategy's steps with the current one marked, the weight in force, canary vs stable
requests and error rates, the sequential test's evidence against its threshold, how many more
canary requests the promotion guard wants, and the time left in a timed step. ``--watch``
redraws it in place with rich.Live on a terminal; in a pipe it prints a line per change.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from apicanary.rollout.strategy.parse import parse_strategy
from apicanary.rollout.strategy.types import Pause

STATUS_STYLE = {
    "running": "cyan",
    "waiting": "yellow",
    "paused": "yellow",
    "promoted": "bold green",
    "rolled_back": "bold red",
    "aborted": "bold red",
}


def view(document: Mapping[str, Any], now: float | None = None) -> dict[str, Any]:
    """The numbers and labels shown for one rollout (pure)."""
    now = time.time() if now is None else now
    strategy = parse_strategy(document["strategy"])
    progress = document.get("progress") or {}
    step = int(document.get("step", 0))
    steps = []
    for index, item in enumerate(strategy.steps):
        state = "done" if index < step or document.get("phase") == "done" else "todo"
        if index == step and document.get("phase") == "steps":
            state = "current"
        steps.append({"index": index + 1, "label": item.describe(), "state": state})
    time_left = None
    if document.get("phase") == "steps" and step < len(strategy.steps):
        current = strategy.steps[step]
        if isinstance(current, Pause) and current.duration is not None:
            ends = float(document["stepStartedAt"]) + current.duration / strategy.time_scale
            time_left = max(0.0, ends - now)
    target = document["target"]
    return {
        "id": document["id"],
        "status": document["status"],
        "target": f"{target['function']}:{target['alias']} {target['fromVersion']} → "
        f"{target['toVersion']} ({target['mode']})",
        "strategy": document.get("strategySummary", strategy.describe()),
        "steps": steps,
        "weight": document.get("effectiveShare", 0.0),
        "stable": _arm(progress, "stable"),
        "canary": _arm(progress, "canary"),
        "errorEvidence": progress.get("errorEvidence"),
        "errorThreshold": progress.get("errorThreshold"),
        "latencyEvidence": progress.get("latencyEvidence"),
        "latencyThreshold": progress.get("latencyThreshold"),
        "remainingCanaryRequests": progress.get("remainingCanaryRequests"),
        "timeLeftInStep": time_left,
        "reason": document.get("reason") or "",
        "unverified": bool(document.get("unverified")),
        "lastError": document.get("lastError"),
    }


def _arm(progress: Mapping[str, Any], arm: str) -> dict[str, Any]:
    requests = int(progress.get(f"{arm}Requests", 0) or 0)
    errors = int(progress.get(f"{arm}Errors", 0) or 0)
    return {
        "requests": requests,
        "errors": errors,
        "errorRate": errors / requests if requests else None,
    }


def _rate(arm: Mapping[str, Any]) -> str:
    rate = arm["errorRate"]
    return "–" if rate is None else f"{rate:.2%}"


def line(v: Mapping[str, Any]) -> str:
    """One plain line (pipes, logs)."""
    parts = [
        f"{v['id']} {v['status']}",
        f"canary {v['weight']:g}%",
        f"canary {v['canary']['requests']} req {_rate(v['canary'])} err",
        f"stable {v['stable']['requests']} req {_rate(v['stable'])} err",
    ]
    if v["errorEvidence"] is not None:
        parts.append(f"evidence {v['errorEvidence']:.3g}/{v['errorThreshold']:.3g}")
    if v["timeLeftInStep"] is not None:
        parts.append(f"{v['timeLeftInStep']:.0f}s left in step")
    if v["reason"]:
        parts.append(v["reason"])
    return " | ".join(parts)


def text(v: Mapping[str, Any]) -> str:
    """A multi-line plain rendering (``rollout status`` in text mode)."""
    lines = [
        f"rollout {v['id']}: {v['status']}{' (unverified)' if v['unverified'] else ''}",
        f"  target    {v['target']}",
        f"  strategy  {v['strategy']}",
        "  steps     "
        + "  ".join(
            ("▶ " if s["state"] == "current" else "✓ " if s["state"] == "done" else "· ")
            + s["label"]
            for s in v["steps"]
        ),
        f"  canary    {v['weight']:g}% of traffic",
        f"  requests  canary {v['canary']['requests']} ({_rate(v['canary'])} errors), "
        f"stable {v['stable']['requests']} ({_rate(v['stable'])} errors)",
    ]
    if v["errorEvidence"] is not None:
        lines.append(
            f"  evidence  errors {v['errorEvidence']:.3g} / {v['errorThreshold']:.3g}, "
            f"latency {v['latencyEvidence']:.3g} / {v['latencyThreshold']:.3g}"
        )
    if v["remainingCanaryRequests"]:
        lines.append(f"  guard     {v['remainingCanaryRequests']} more canary requests to verify")
    if v["timeLeftInStep"] is not None:
        lines.append(f"  step      {v['timeLeftInStep']:.0f} s left")
    if v["reason"]:
        lines.append(f"  reason    {v['reason']}")
    if v["lastError"]:
        lines.append(f"  retrying  {v['lastError']}")
    return "\n".join(lines)


def panel(v: Mapping[str, Any]) -> Panel:
    """The rich rendering for ``--watch`` and the demo."""
    status = Text(v["status"], style=STATUS_STYLE.get(v["status"], "white"))
    steps = Text()
    for s in v["steps"]:
        style = {"current": "bold cyan", "done": "green", "todo": "dim"}[s["state"]]
        mark = {"current": "▶", "done": "✓", "todo": "·"}[s["state"]]
        steps.append(f" {mark} {s['label']} ", style=style)
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="dim")
    table.add_column()
    table.add_row("target", v["target"])
    table.add_row("steps", steps)
    table.add_row("canary share", f"{v['weight']:g}%")
    table.add_row(
        "canary",
        f"{v['canary']['requests']} requests, {v['canary']['errors']} errors "
        f"({_rate(v['canary'])})",
    )
    table.add_row(
        "stable",
        f"{v['stable']['requests']} requests, {v['stable']['errors']} errors "
        f"({_rate(v['stable'])})",
    )
    if v["errorEvidence"] is not None:
        table.add_row("evidence", _evidence_bar(v["errorEvidence"], v["errorThreshold"], "errors"))
        table.add_row("", _evidence_bar(v["latencyEvidence"], v["latencyThreshold"], "latency"))
    if v["remainingCanaryRequests"]:
        table.add_row("guard", f"{v['remainingCanaryRequests']} more canary requests to verify")
    if v["timeLeftInStep"] is not None:
        table.add_row("step", f"{v['timeLeftInStep']:.0f} s left")
    if v["reason"]:
        table.add_row("reason", Text(v["reason"], style=STATUS_STYLE.get(v["status"], "")))
    title = Text.assemble("rollout ", (v["id"], "bold"), "  ", status)
    return Panel(Group(table), title=title, title_align="left")


def _evidence_bar(evidence: float, threshold: float, label: str, width: int = 24) -> Text:
    import math

    fraction = 0.0
    if evidence > 1 and threshold > 1:
        fraction = min(1.0, math.log(evidence) / math.log(threshold))
    filled = round(fraction * width)
    style = "red" if fraction >= 1 else "yellow" if fraction > 0.5 else "green"
    bar = Text("█" * filled, style=style)
    bar.append("░" * (width - filled), style="dim")
    bar.append(f" {label} {evidence:.3g} / {threshold:.3g}")
    return bar
