"""The demo's HTML report: per-version error rate and latency, weights, decisions, summary.

Pure functions from recorded data to one self-contained HTML page with inline SVG charts
(no script, no external asset), so the report opens anywhere and can be attached to a ticket.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from apicanary.demo.traffic import Answer
from apicanary.local.charts import PALETTE, STYLE, Series, svg_chart


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
{STYLE}</style></head><body>
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
