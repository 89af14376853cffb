"""SVG line charts and the page style of the self-contained HTML reports (the demo's and the
rehearsal's): pure text, no script and no external asset, so a report opens anywhere and can
be attached to a ticket or kept as a CI artifact.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

Series = Mapping[str, Sequence[tuple[float, float]]]
PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2")

#: The reports' shared CSS (the text between ``<style>`` and ``</style>``; braces unescaped).
STYLE = """:root { color-scheme: light dark; --fg: #111827; --bg: #ffffff; --muted: #6b7280; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e5e7eb; --bg: #111827; --muted: #9ca3af; }
}
body { font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg);
       max-width: 920px; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { text-align: left; padding: .25rem .75rem; border-bottom: 1px solid #8884; }
.chart { width: 100%; height: auto; margin: 1rem 0; }
.chart .title { font-weight: 600; fill: var(--fg); font-size: 13px; }
.chart .axis, .chart .legend { fill: var(--muted); font-size: 11px; }
.chart .grid { stroke: #8883; }
.chart .mark { stroke: #f59e0b; stroke-dasharray: 4 3; }
.chart .marklabel { fill: #b45309; font-size: 10px; }
"""


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
