"""Lambda's ``ConcurrentExecutions`` metric from the runtime's in-flight peaks.

AWS emits it per account (no dimension) and per function (``FunctionName``), read with the
``Maximum`` statistic: the most invocations running at once. The engine samples the
runtime's peaks in each housekeeping pass (every 0.25 s under ``serve``), so a datapoint's
value is the peak of that interval; periods without invocations have no datapoint.
"""

from __future__ import annotations

from collections.abc import Mapping

from apicanary.engine.cloudwatch.values import Point

_NAME = ("AWS/Lambda", "ConcurrentExecutions")


def concurrency_points(at: float, total: int, by_function: Mapping[str, int]) -> list[Point]:
    """Points at ``at`` for the account's peak ``total`` and each function's (zeros left out)."""
    if total <= 0:
        return []
    points: list[Point] = [((*_NAME, ()), at, float(total), "Count")]
    for function, peak in sorted(by_function.items()):
        if peak > 0:
            points.append(((*_NAME, (("FunctionName", function),)), at, float(peak), "Count"))
    return points
