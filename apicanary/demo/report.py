"""The demo's HTML report: per-version error rate and latency, weights, decisions, summary.

Pure functions from recorded data to one self-contained HTML page with inline SVG charts
(no script, no external asset), so the report opens anywhere and can be attached to a ticket.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from apicanary.demo.traffic import Answer

Series = Mapping[str, Sequence[tuple[float, float]]]
PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2")


def per_version(answers: Sequence[Answer], bin_s: float = 1.0) -> tuple[Series, Series]:
    """(error rate %, p50 latency ms) per version per ``bin_s`` bin."""
    bins: dict[str, dict[int, list[Answer]]] = defaultdict(lambda: defaultdict(list))
    for answer in answers:
        # a 502 from the gateway carries no x-app-version (the function crashed before
        # answering): those are shown as their own line rather than guessed at
        version = (
            f"v{answer.version}"
            if answer.version
            else ("no answer" if answer.status == 599 else "5xx, no version")
        )
        bins[version][int(answer.at // bin_s)].append(answer)
    errors: dict[str, list[tuple[float, float]]] = {}
    latency: dict[str, list[tuple[float, float]]] = {}
    for version, by_bin in sorted(bins.items()):
        errors[version] = []
        latency[version] = []
        for index in sorted(by_bin):
            group = by_bin[index]
            x = index * bin_s
            failed = sum(1 for a in group if a.status >= 500)
            errors[version].append((x, 100.0 * failed / len(group)))
            ordered = sorted(a.latency_ms for a in group)
            latency[version].append((x, ordered[len(ordered) // 2]))
    return errors, latency


def svg_chart(
    series: Series,
    *,
    title: str,
    y_label: str,
    x_max: float,
    marks: Sequence[tuple[float, str]] = (),
    colors: Mapping[str, str] | None = None,
    step: bool = False,
    width: int = 860,
    height: int = 220,
) -> str:
    """A line chart as SVG text; ``marks`` are labelled vertical lines (decisions)."""
    left, right, top, bottom = 52, 16, 28, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = max((y for points in series.values() for _, y in points), default=1.0)
    y_max = _nice_ceiling(max(y_max, 1e-9))
    x_max = max(x_max, 1.0)

    def sx(x: float) -> float:
        return left + plot_w * x / x_max

    def sy(y: float) -> float:
        return top + plot_h * (1 - y / y_max)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" class="chart">',
        f'<text x="{left}" y="16" class="title">{html.escape(title)}</text>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = sy(value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{value:g}</text>'
        )
    for i in range(7):
        x_value = x_max * i / 6
        parts.append(
            f'<text x="{sx(x_value):.1f}" y="{height - 10}" class="axis" text-anchor="middle">'
            f"{x_value:.0f}s</text>"
        )
    parts.append(
        f'<text x="12" y="{top + plot_h / 2:.0f}" class="axis" transform="rotate(-90 12 '
        f'{top + plot_h / 2:.0f})" text-anchor="middle">{html.escape(y_label)}</text>'
    )
    for x, label in marks:
        parts.append(
            f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{top}" y2="{top + plot_h}" class="mark"/>'
        )
        parts.append(
            f'<text x="{sx(x) + 3:.1f}" y="{top + 10}" class="marklabel">'
            f"{html.escape(label)}</text>"
        )
    legend_x = left + 8
    for index, (name, points) in enumerate(series.items()):
        color = (colors or {}).get(name, PALETTE[index % len(PALETTE)])
        coords: list[str] = []
        previous: tuple[float, float] | None = None
        for x, y in points:
            if step and previous is not None:
                coords.append(f"{sx(x):.1f},{sy(previous[1]):.1f}")
            coords.append(f"{sx(x):.1f},{sy(y):.1f}")
            previous = (x, y)
        if coords:
            parts.append(
                f'<polyline points="{" ".join(coords)}" fill="none" stroke="{color}" '
                f'stroke-width="2"/>'
            )
        parts.append(f'<rect x="{legend_x}" y="{top + 4}" width="10" height="10" fill="{color}"/>')
        parts.append(
            f'<text x="{legend_x + 14}" y="{top + 13}" class="legend">{html.escape(name)}</text>'
        )
        legend_x += 24 + 7 * len(name)
    parts.append("</svg>")
    return "\n".join(parts)


def _nice_ceiling(value: float) -> float:
    exponent = math.floor(math.log10(value))
    base = 10.0**exponent
    for multiple in (1, 2, 2.5, 5, 10):
        if value <= multiple * base:
            return multiple * base
    return 10 * base


def render(
    summary: Mapping[str, Any],
    answers: Sequence[Answer],
    weights: Series,
    marks: Sequence[tuple[float, str]],
) -> str:
    """The whole report page."""
    x_max = max((a.at for a in answers), default=1.0)
    errors, latency = per_version(answers)
    names = sorted({*weights, *errors, *latency})
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    charts = [
        svg_chart(weights, title="Canary share of traffic (% of requests to the new version)",
                  y_label="%", x_max=x_max, marks=marks, colors=colors, step=True),
        svg_chart(errors, title="Error rate per version (5xx, % of requests, 1-s bins)",
                  y_label="% errors", x_max=x_max, marks=marks, colors=colors),
        svg_chart(latency, title="Median latency per version (ms, 1-s bins)", y_label="ms",
                  x_max=x_max, marks=marks, colors=colors),
    ]  # fmt: skip
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in summary.items()
        if not isinstance(v, list | dict)
    )
    decisions = "".join(
        f"<li><code>+{d['at']:.1f}s</code> <strong>{html.escape(d['rollout'])}</strong> "
        f"{html.escape(d['kind'])}: {html.escape(d['message'])}</li>"
        for d in summary.get("decisions", [])
    )
    releases = "".join(
        f"<tr><th scope='row'>{html.escape(r['name'])}</th><td>{html.escape(r['summary'])}</td>"
        f"<td>v{html.escape(str(r['version']))}</td><td>{html.escape(r['status'])}</td>"
        f"<td>{r['durationS']:.1f}s</td><td>{html.escape(r['reason'])}</td></tr>"
        for r in summary.get("releases", [])
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>apicanary demo report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
:root {{ color-scheme: light dark; --fg: #111827; --bg: #ffffff; --muted: #6b7280; }}
@media (prefers-color-scheme: dark) {{
  :root {{ --fg: #e5e7eb; --bg: #111827; --muted: #9ca3af; }}
}}
body {{ font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg);
       max-width: 920px; margin: 2rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ text-align: left; padding: .25rem .75rem; border-bottom: 1px solid #8884; }}
.chart {{ width: 100%; height: auto; margin: 1rem 0; }}
.chart .title {{ font-weight: 600; fill: var(--fg); font-size: 13px; }}
.chart .axis, .chart .legend {{ fill: var(--muted); font-size: 11px; }}
.chart .grid {{ stroke: #8883; }}
.chart .mark {{ stroke: #f59e0b; stroke-dasharray: 4 3; }}
.chart .marklabel {{ fill: #b45309; font-size: 10px; }}
</style></head><body>
<h1>apicanary demo</h1>
<p>One good and one bad release of the orders API, each through a canary rollout on the local
engine, under steady synthetic traffic. Dashed lines mark the controller's decisions.</p>
<h2>Releases</h2>
<table><thead><tr><th>release</th><th>change</th><th>version</th><th>outcome</th>
<th>took</th><th>why</th></tr></thead><tbody>{releases}</tbody></table>
{"".join(charts)}
<h2>Summary</h2><table><tbody>{rows}</tbody></table>
<h2>Decisions</h2><ol>{decisions}</ol>
</body></html>
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
