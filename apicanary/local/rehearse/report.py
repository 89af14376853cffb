"""The differential report: per route, the canary against the baseline, over the same period.

Per route and arm (baseline = the stable version, canary = the release): requests, failures
(5xx, as the rollout analysis counts them), the error rate, error types (the function's
``errorType``, or the gateway's reason such as ``IntegrationTimeout`` or
``MalformedProxyResponse``), status classes, and latency p50/p99 of warm requests (cold starts
are counted apart, as the analysis leaves them out).

Findings name what a reader should look at: a 4xx or 5xx share higher on the canary than
chance explains (one-sided Fisher exact test, p < :data:`FINDING_P`), and error types the
baseline never showed on that route. Body differences (:mod:`.bodies`) are added when bodies
were compared. These findings describe; the verdict is the rollout analysis's alone.

Pure: observations in, JSON-able dictionaries out.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from apicanary.local.rehearse.session import Observation

FINDING_P = 0.01
_TESTED_CLASSES = ("4xx", "5xx")


def arm_stats(observations: Sequence[Observation]) -> dict[str, Any]:
    """Counts, error rate, error types, status classes and warm latency of one arm."""
    failed = sum(1 for o in observations if o.status >= 500)
    warm = sorted(o.latency_ms for o in observations if not o.cold_start)
    types = Counter(o.error_type for o in observations if o.error_type)
    classes = Counter(f"{o.status // 100}xx" for o in observations)
    return {
        "requests": len(observations),
        "failed": failed,
        "errorRate": failed / len(observations) if observations else 0.0,
        "errorTypes": dict(types.most_common()),
        "statusClasses": dict(sorted(classes.items())),
        "p50Ms": _percentile(warm, 0.50),
        "p99Ms": _percentile(warm, 0.99),
        "coldStarts": sum(1 for o in observations if o.cold_start),
    }


def route_reports(
    observations: Sequence[Observation],
    stable: str,
    canary: str,
    bodies: Mapping[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One entry per route (a route no version served too), routes with findings first."""
    arms: dict[tuple[str, str], list[Observation]] = defaultdict(list)
    for observation in observations:
        arms[(observation.route, observation.version or "")].append(observation)
    reports = []
    for route in sorted({o.route for o in observations} | set(bodies or {})):
        baseline, release = arm_stats(arms[(route, stable)]), arm_stats(arms[(route, canary)])
        entry: dict[str, Any] = {
            "route": route,
            "baseline": baseline,
            "canary": release,
            "findings": findings(baseline, release),
        }
        compared = (bodies or {}).get(route)
        if compared is not None:
            entry["bodies"] = compared
            if compared["differing"]:
                entry["findings"].append(
                    f"responses differ in {compared['differing']} of {compared['compared']} "
                    f"compared requests ({', '.join(sorted(compared['fields']))})"
                )
        reports.append(entry)
    reports.sort(key=lambda r: (not r["findings"], r["route"]))
    return reports


def findings(baseline: Mapping[str, Any], canary: Mapping[str, Any]) -> list[str]:
    """What differs beyond chance between the arms of one route."""
    found = []
    n1, n2 = canary["requests"], baseline["requests"]
    for status_class in _TESTED_CLASSES:
        a = canary["statusClasses"].get(status_class, 0)
        b = baseline["statusClasses"].get(status_class, 0)
        if not a or not n1 or not n2 or a / n1 <= b / n2:
            continue
        p = fisher_greater(a, n1, b, n2)
        if p < FINDING_P:
            found.append(
                f"{status_class}: {a / n1:.1%} of canary requests vs {b / n2:.1%} of "
                f"baseline requests (p {_p(p)})"
            )
    new_types = sorted(set(canary["errorTypes"]) - set(baseline["errorTypes"]))
    if new_types:
        found.append(f"error types the baseline never showed: {', '.join(new_types)}")
    return found


def fisher_greater(a: int, n1: int, b: int, n2: int) -> float:
    """One-sided Fisher exact p-value that ``a`` of ``n1`` is a higher share than ``b`` of
    ``n2`` (the probability of ``a`` or more in the first group, given the totals)."""
    total, hits = n1 + n2, a + b
    denominator = _log_comb(total, n1)
    upper = min(n1, hits)
    p = 0.0
    for x in range(a, upper + 1):
        if hits - x > n2:
            continue
        p += math.exp(_log_comb(hits, x) + _log_comb(total - hits, n1 - x) - denominator)
    return min(1.0, p)


def totals(observations: Sequence[Observation], stable: str, canary: str) -> dict[str, int]:
    """The request and failure counts of the whole rehearsal (the summary's numbers)."""
    on_canary = [o for o in observations if o.version == canary]
    on_stable = [o for o in observations if o.version == stable]
    return {
        "requests": len(observations),
        "failed": sum(1 for o in observations if o.status >= 500),
        "canaryRequests": len(on_canary),
        "canaryFailed": sum(1 for o in on_canary if o.status >= 500),
        "stableRequests": len(on_stable),
        "stableFailed": sum(1 for o in on_stable if o.status >= 500),
    }


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _percentile(ordered: Sequence[float], q: float) -> float | None:
    if not ordered:
        return None
    rank = max(1, math.ceil(q * len(ordered)))
    return round(ordered[rank - 1], 3)


def _p(p: float) -> str:
    return "< 0.0001" if p < 0.0001 else f"= {p:.4f}"
