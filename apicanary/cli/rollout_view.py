"""How a rollout is drawn: the view-model (``rollout/views.py``) as rich or as plain lines.

Nothing here derives anything: the steps with the current one marked, the share, the arms'
requests and error rates, the evidence against its threshold, the guard's remaining requests
and the time left all come from :func:`~apicanary.rollout.views.rollout_view`, which the
dashboard serves too. ``--watch`` redraws :func:`panel` in place with rich.Live on a
terminal; in a pipe it prints a :func:`line` per change.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from apicanary.rollout.state import RolloutState
from apicanary.rollout.views import ArmView, RolloutView, rollout_view

STATUS_STYLE = {
    "running": "cyan",
    "waiting": "yellow",
    "paused": "yellow",
    "promoted": "bold green",
    "rolled_back": "bold red",
    "aborted": "bold red",
}
STEP_STYLE = {"current": "bold cyan", "done": "green", "todo": "dim"}
STEP_MARK = {"current": "▶", "done": "✓", "todo": "·"}


def view(document: Mapping[str, Any], now: float | None = None) -> RolloutView:
    """The view-model of a rollout document at ``now`` (default: the wall clock)."""
    return rollout_view(RolloutState.from_dict(document), time.time() if now is None else now)


def _rate(arm: ArmView) -> str:
    return "–" if arm.error_rate is None else f"{arm.error_rate:.2%}"


def line(v: RolloutView) -> str:
    """One plain line (pipes, logs)."""
    parts = [
        f"{v.id} {v.status}",
        f"canary {v.share:g}%",
        f"canary {v.canary.requests} req {_rate(v.canary)} err",
        f"stable {v.stable.requests} req {_rate(v.stable)} err",
    ]
    if v.error_evidence is not None:
        parts.append(f"evidence {v.error_evidence:.3g}/{_g(v.error_threshold)}")
    if v.time_left_in_step is not None:
        parts.append(f"{v.time_left_in_step:.0f}s left in step")
    if v.telemetry_wait:
        parts.append(v.telemetry_wait)
    if v.reason:
        parts.append(v.reason)
    return " | ".join(parts)


def text(v: RolloutView) -> str:
    """A multi-line plain rendering (``rollout status`` in text mode)."""
    lines = [
        f"rollout {v.id}: {v.status}{' (unverified)' if v.unverified else ''}",
        f"  target    {v.target} ({v.mode})",
        f"  strategy  {v.strategy}",
        "  steps     " + "  ".join(f"{STEP_MARK[s.state]} {s.label}" for s in v.steps),
        f"  canary    {v.share:g}% of traffic",
        f"  requests  canary {v.canary.requests} ({_rate(v.canary)} errors), "
        f"stable {v.stable.requests} ({_rate(v.stable)} errors)",
    ]
    if v.error_evidence is not None:
        lines.append(
            f"  evidence  errors {v.error_evidence:.3g} / {_g(v.error_threshold)}, "
            f"latency {_g(v.latency_evidence)} / {_g(v.latency_threshold)}"
        )
    if v.remaining_canary_requests:
        lines.append(f"  guard     {v.remaining_canary_requests} more canary requests to verify")
    if v.time_left_in_step is not None:
        lines.append(f"  step      {v.time_left_in_step:.0f} s left")
    if v.telemetry_wait:
        lines.append(f"  telemetry {v.telemetry_wait}")
    if v.lost_stable or v.lost_canary:
        lines.append(
            f"  gap       {v.lost_stable} stable and {v.lost_canary} canary requests never read"
        )
    if v.reason:
        lines.append(f"  reason    {v.reason}")
    if v.last_error:
        lines.append(f"  retrying  {v.last_error}")
    return "\n".join(lines)


def panel(v: RolloutView) -> Panel:
    """The rich rendering for ``--watch`` and the demo."""
    status = Text(v.status, style=STATUS_STYLE.get(v.status, "white"))
    steps = Text()
    for s in v.steps:
        steps.append(f" {STEP_MARK[s.state]} {s.label} ", style=STEP_STYLE[s.state])
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="dim")
    table.add_column()
    table.add_row("target", f"{v.target} ({v.mode})")
    table.add_row("steps", steps)
    table.add_row("canary share", f"{v.share:g}%")
    for name, arm in (("canary", v.canary), ("stable", v.stable)):
        table.add_row(name, f"{arm.requests} requests, {arm.errors} errors ({_rate(arm)})")
    if v.error_evidence is not None:
        table.add_row("evidence", _evidence_bar(v.error_evidence, v.error_threshold, "errors"))
        table.add_row("", _evidence_bar(v.latency_evidence, v.latency_threshold, "latency"))
    if v.remaining_canary_requests:
        table.add_row("guard", f"{v.remaining_canary_requests} more canary requests to verify")
    if v.time_left_in_step is not None:
        table.add_row("step", f"{v.time_left_in_step:.0f} s left")
    if v.telemetry_wait:
        table.add_row("telemetry", v.telemetry_wait)
    if v.reason:
        table.add_row("reason", Text(v.reason, style=STATUS_STYLE.get(v.status, "")))
    title = Text.assemble("rollout ", (v.id, "bold"), "  ", status)
    return Panel(Group(table), title=title, title_align="left")


def _g(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _evidence_bar(
    evidence: float | None, threshold: float | None, label: str, width: int = 24
) -> Text:
    fraction = 0.0
    if evidence is not None and threshold is not None and evidence > 1 and threshold > 1:
        fraction = min(1.0, math.log(evidence) / math.log(threshold))
    filled = round(fraction * width)
    style = "red" if fraction >= 1 else "yellow" if fraction > 0.5 else "green"
    bar = Text("█" * filled, style=style)
    bar.append("░" * (width - filled), style="dim")
    bar.append(f" {label} {_g(evidence)} / {_g(threshold)}")
    return bar
