"""The rehearsal's HTML report (``rehearse --report FILE``): one self-contained page.

The verdict and why; the baseline and the traffic; charts of both arms per virtual second
(requests, error rate, median latency) with the controller's decisions marked; the
differential table per route with its findings; the body differences with examples and the
fields ignored as noise. Pure: a rehearsal result in, HTML text out (inline SVG, no script).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from apicanary.local.charts import STYLE, svg_chart

_COLORS = {"baseline": "#2563eb", "canary": "#dc2626"}
_EXTRA_STYLE = """
.verdict { font-size: 1.3rem; font-weight: 600; }
.bad { color: #dc2626; } .good { color: #16a34a; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.finding { color: #b45309; }
code { font-size: 13px; }
"""


def render_html(result: Mapping[str, Any]) -> str:
    """The whole page for ``result`` (what :func:`~apicanary.local.rehearse.rehearse` returns)."""
    verdict = str(result["verdict"])
    bad = verdict in ("rolled_back", "aborted")
    summary = [
        ("verdict", f"{verdict}{' (unverified)' if result['unverified'] else ''}"),
        ("reason", result["reason"]),
        ("release", f"v{result['canaryVersion']}: the working tree"),
        ("baseline", f"v{result['stableVersion']}: {result['baseline']['description']}"),
        ("traffic", f"{result['traffic']['description']}, at {result['traffic']['pace']}"),
        ("strategy", result["strategy"]),
        ("faults", ", ".join(result["faults"]) or "none"),
        ("decided after", f"{result['decidedAfterSeconds']:.0f} virtual seconds"),
        ("requests", f"{result['requests']} ({result['canaryRequests']} to the canary)"),
    ]
    rows = "".join(f"<tr><th scope='row'>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in summary)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>apicanary rehearsal: {_e(verdict)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
{STYLE}{_EXTRA_STYLE}</style></head><body>
<h1>apicanary rehearsal</h1>
<p class="verdict {"bad" if bad else "good"}">{_e(_headline(verdict))}</p>
<table><tbody>{rows}</tbody></table>
{_charts(result)}
<h2>Per route: baseline vs canary</h2>
{_route_table(result["routes"])}
{_bodies(result["routes"]) if result["bodiesCompared"] else ""}
<h2>Decisions</h2><ol>{_decisions(result["journal"])}</ol>
</body></html>
"""


def _headline(verdict: str) -> str:
    if verdict in ("rolled_back", "aborted"):
        return "This release would have been rolled back (exit 3)."
    if verdict == "promoted":
        return "This release would have been promoted (exit 0)."
    return f"The rollout ended {verdict}."


def _charts(result: Mapping[str, Any]) -> str:
    timeline = result["timeline"]
    requests: dict[str, list[tuple[float, float]]] = {}
    errors: dict[str, list[tuple[float, float]]] = {}
    latency: dict[str, list[tuple[float, float]]] = {}
    for arm in ("baseline", "canary"):
        points = timeline.get(arm) or []
        requests[arm] = [(s, n) for s, n, _, _ in points]
        errors[arm] = [(s, 100.0 * f / n) for s, n, f, _ in points if n]
        latency[arm] = [(s, p50) for s, _, _, p50 in points]
    x_max = max((p[0] for arm in requests.values() for p in arm), default=1.0)
    started = result["journal"][0]["at"] if result["journal"] else 0.0
    marks = [
        (event["at"] - started, event["kind"])
        for event in result["journal"]
        if event["kind"] in ("promoted", "rolled_back", "aborted", "step")
        and 0 <= event["at"] - started <= x_max
    ]
    return "\n".join(
        [
            svg_chart(requests, title="Requests per virtual second", y_label="requests",
                      x_max=x_max, marks=marks, colors=_COLORS),
            svg_chart(errors, title="Error rate (5xx, % of requests)", y_label="% errors",
                      x_max=x_max, marks=marks, colors=_COLORS),
            svg_chart(latency, title="Median latency (ms)", y_label="ms", x_max=x_max,
                      marks=marks, colors=_COLORS),
        ]
    )  # fmt: skip


def _route_table(routes: Sequence[Mapping[str, Any]]) -> str:
    head = (
        "<tr><th>route</th><th>arm</th><th>requests</th><th>error rate</th>"
        "<th>error types</th><th>status classes</th><th>p50 ms</th><th>p99 ms</th></tr>"
    )
    body = []
    for route in routes:
        for arm in ("baseline", "canary"):
            stats = route[arm]
            types = ", ".join(f"{k} × {v}" for k, v in stats["errorTypes"].items()) or "-"
            classes = ", ".join(f"{k} × {v}" for k, v in stats["statusClasses"].items()) or "-"
            name = ""
            if arm == "baseline":
                name = f"<th scope='row' rowspan='2'>{_e(route['route'])}</th>"
            body.append(
                f"<tr>{name}<td>{arm}</td><td class='num'>{stats['requests']}</td>"
                f"<td class='num'>{stats['errorRate']:.2%}</td><td>{_e(types)}</td>"
                f"<td>{_e(classes)}</td><td class='num'>{_ms(stats['p50Ms'])}</td>"
                f"<td class='num'>{_ms(stats['p99Ms'])}</td></tr>"
            )
        for finding in route["findings"]:
            body.append(f"<tr><td></td><td colspan='7' class='finding'>⚠ {_e(finding)}</td></tr>")
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def _bodies(routes: Sequence[Mapping[str, Any]]) -> str:
    parts = [
        "<h2>Response bodies</h2><p>Each sampled request was answered by the baseline, the "
        "canary and the baseline again; fields that differ between the two baseline answers "
        "are noise and ignored.</p><table><thead><tr><th>route</th><th>compared</th>"
        "<th>differing</th><th>fields</th><th>ignored as noise</th></tr></thead><tbody>"
    ]
    examples = []
    for route in routes:
        compared = route.get("bodies")
        if compared is None:
            continue
        fields = ", ".join(compared["fields"]) or "-"
        parts.append(
            f"<tr><th scope='row'>{_e(route['route'])}</th><td class='num'>"
            f"{compared['compared']}</td><td class='num'>{compared['differing']}</td>"
            f"<td><code>{_e(fields)}</code></td><td><code>"
            f"{_e(', '.join(compared['noise']) or '-')}</code></td></tr>"
        )
        examples += compared["examples"]
    parts.append("</tbody></table>")
    if examples:
        parts.append("<h3>Examples</h3><ul>")
        parts += [
            f"<li><code>{_e(x['request'])}</code> <code>{_e(x['field'])}</code>: baseline "
            f"<code>{_e(x['baseline'])}</code>, canary <code>{_e(x['canary'])}</code></li>"
            for x in examples
        ]
        parts.append("</ul>")
    return "".join(parts)


def _decisions(journal: Sequence[Mapping[str, Any]]) -> str:
    if not journal:
        return ""
    started = journal[0]["at"]
    return "".join(
        f"<li><code>+{event['at'] - started:.0f}s</code> <strong>{_e(event['kind'])}</strong>: "
        f"{_e(event['message'])}</li>"
        for event in journal
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _e(value: Any) -> str:
    return html.escape(str(value))
