"""Building observation windows (analysis logic): per-invocation records in, one
:class:`~apicanary.model.Window` out, and the measured canary share of two arms.

The platform delivers records (local engine) or ready windows (CloudWatch); the analysis
judges windows (``canary.py``), so the records are folded here, with the stable latency
thresholds in force for the window (detection-limits.md §7.1-§7.3).
"""

from __future__ import annotations

from collections.abc import Iterable

from apicanary.model import ArmCounts, Invocation, SlowMark, Window


def window_from_invocations(
    records: Iterable[Invocation], thresholds_ms: tuple[float, float] | None
) -> Window:
    """Build a :class:`Window` from records in arrival order.

    ``thresholds_ms`` are the stable ``(p90, p99)`` in force for this window (from
    ``CanaryAnalysis.latency_thresholds()``); with ``None`` no request counts as slow.
    Repeated failures of one request id in the window count once.
    """
    req = [0, 0]
    err = [0, 0]
    warm = [0, 0]
    s90 = [0, 0]
    s99 = [0, 0]
    error_order: list[bool] = []
    slow_order: list[SlowMark] = []
    stable_durations: list[float] = []
    failed_ids: set[str] = set()
    for rec in records:
        i = int(rec.canary)
        req[i] += 1
        if rec.failed:
            if rec.request_id is None or rec.request_id not in failed_ids:
                err[i] += 1
                error_order.append(rec.canary)
            if rec.request_id is not None:
                failed_ids.add(rec.request_id)
        if rec.cold_start:
            continue
        warm[i] += 1
        if not rec.canary:
            stable_durations.append(rec.duration_ms)
        if thresholds_ms is not None and rec.duration_ms > thresholds_ms[0]:
            above99 = rec.duration_ms > thresholds_ms[1]
            s90[i] += 1
            s99[i] += int(above99)
            slow_order.append((rec.canary, above99))
    return Window(
        stable=ArmCounts(req[0], err[0], warm[0], s90[0], s99[0]),
        canary=ArmCounts(req[1], err[1], warm[1], s90[1], s99[1]),
        error_order=tuple(error_order),
        slow_order=tuple(slow_order),
        stable_warm_durations_ms=tuple(stable_durations),
    )


def share(stable: int, canary: int) -> float:
    """Measured canary share ``canary / (stable + canary)``; 0 for an empty window."""
    total = stable + canary
    return canary / total if total else 0.0
