"""Sequential tests of apicanary.rollout.analysis.canary (detection-limits.md §7): type-I error by
simulation, outage detection, latency test, verdicts and reasons, alarms, state round trip."""

from __future__ import annotations

import json
import random
import re

import pytest

from apicanary.rollout.analysis.canary import (
    AlarmState,
    AnalysisConfig,
    ArmCounts,
    CanaryAnalysis,
    Invocation,
    Outcome,
    Window,
    check_alarms,
    window_from_invocations,
)
from apicanary.rollout.analysis.mixture import mixture_log_evalue, rate_ratio_grid
from apicanary.rollout.analysis.sequential import ErrorTest


def null_window(rng: random.Random, p: float, n: int = 100, canary: int = 10) -> Window:
    """A window of n requests, `canary` of them canary, each failing with probability p
    whatever its arm (H0), failures in random arrival order."""
    arms = [True] * canary + [False] * (n - canary)
    rng.shuffle(arms)
    order = tuple(a for a in arms if rng.random() < p)
    xc = sum(order)
    return Window(
        stable=ArmCounts(requests=n - canary, errors=len(order) - xc),
        canary=ArmCounts(requests=canary, errors=xc),
        error_order=order,
    )


def bad_window(rng: random.Random, p0: float, p1: float, n: int, canary: int) -> Window:
    arms = [True] * canary + [False] * (n - canary)
    rng.shuffle(arms)
    order = tuple(a for a in arms if rng.random() < (p1 if a else p0))
    xc = sum(order)
    return Window(
        stable=ArmCounts(requests=n - canary, errors=len(order) - xc),
        canary=ArmCounts(requests=canary, errors=xc),
        error_order=order,
    )


def test_mixture_grid_matches_section_2_3() -> None:
    ks = rate_ratio_grid()
    assert len(ks) == 64
    assert ks[0] == pytest.approx(1.04, abs=0.01)
    assert ks[-1] == pytest.approx(104, rel=0.01)
    # §2.3: at alpha 1 % and share 10 %, three canary failures in a row are the fewest that reject
    assert mixture_log_evalue(2, 2, 0.1) < mixture_log_evalue(3, 3, 0.1)
    assert mixture_log_evalue(2, 2, 0.1) < 4.605 <= mixture_log_evalue(3, 3, 0.1)


@pytest.mark.parametrize(("alpha", "runs", "windows"), [(0.05, 1000, 40), (0.005, 1000, 40)])
def test_type_one_error_at_most_alpha(alpha: float, runs: int, windows: int) -> None:
    """Good canary, common failure rate varying over time (a shared incident half-way):
    the false-rollback rate stays below alpha (+3 standard errors of the simulation)."""
    rng = random.Random(1234)
    false = 0
    for _ in range(runs):
        test = ErrorTest(alpha)
        for w in range(windows):
            p = 0.2 if 10 <= w < 20 else 0.03
            win = null_window(rng, p)
            if test.update(win.stable, win.canary, win.error_order).outcome is Outcome.FAIL:
                false += 1
                break
    rate = false / runs
    assert rate <= alpha + 3 * (alpha * (1 - alpha) / runs) ** 0.5


def test_outage_is_rolled_back_within_a_few_failed_requests() -> None:
    rng = random.Random(7)
    fails = []
    for _ in range(200):
        analysis = CanaryAnalysis()
        for _w in range(100):
            win = bad_window(rng, 0.001, 1.0, n=100, canary=rng.randint(5, 15))
            verdict = analysis.update(win)
            if verdict.outcome is Outcome.FAIL:
                break
        assert verdict.outcome is Outcome.FAIL
        assert analysis.errors.crossing is not None
        fails.append(analysis.errors.crossing.canary_events)
    assert min(fails) >= 3  # §2.2: no single error (nor two) can roll back
    assert sum(fails) / len(fails) <= 4.5
    assert max(fails) <= 8


def test_single_error_never_rolls_back() -> None:
    analysis = CanaryAnalysis()
    win = Window(ArmCounts(requests=9), ArmCounts(requests=1, errors=1), error_order=(True,))
    assert analysis.update(win).outcome is Outcome.NEED_MORE_DATA


def test_fail_reason_names_rates_evalue_and_limit_and_latches() -> None:
    analysis = CanaryAnalysis()
    win = Window(
        ArmCounts(requests=900, errors=1),
        ArmCounts(requests=100, errors=10),
        error_order=(True,) * 5 + (False,) + (True,) * 5,
    )
    verdict = analysis.update(win, now=42.0)
    assert verdict.outcome is Outcome.FAIL
    assert verdict.check == "errors"
    assert verdict.threshold == pytest.approx(200)
    assert verdict.evidence >= 200
    assert re.fullmatch(
        r"canary error rate 10\.00% \(10/100\) vs stable 0\.11% \(1/900\): e-value \d+ ≥ 200",
        verdict.reason,
    ), verdict.reason
    assert analysis.failed_at == 42.0
    # crossing located at the event, not at the window end
    assert analysis.errors.crossing is not None
    assert analysis.errors.crossing.event_index is not None
    assert analysis.errors.crossing.event_index < 10
    # latched: a clean window afterwards does not undo it
    again = analysis.update(Window(ArmCounts(requests=900, errors=50), ArmCounts(requests=100)))
    assert again.outcome is Outcome.FAIL
    assert again.evidence == verdict.evidence


def test_need_more_data_reason_uses_less_than() -> None:
    analysis = CanaryAnalysis()
    v = analysis.update(
        Window(ArmCounts(requests=900, errors=9), ArmCounts(requests=100, errors=1))
    )
    assert v.outcome is Outcome.NEED_MORE_DATA
    assert "< 200" in v.reason and "canary error rate 1.00%" in v.reason


def test_window_validation() -> None:
    analysis = CanaryAnalysis()
    with pytest.raises(ValueError, match="errors 3 exceed its requests 2"):
        analysis.update(Window(ArmCounts(requests=5), ArmCounts(requests=2, errors=3)))
    with pytest.raises(ValueError, match="error_order"):
        analysis.update(
            Window(ArmCounts(requests=5), ArmCounts(requests=2, errors=1), error_order=(False,))
        )


def _invocations(
    rng: random.Random, n: int, canary_slow: float, cold_canary: bool
) -> list[Invocation]:
    out = []
    for i in range(n):
        canary = rng.random() < 0.1
        d = rng.lognormvariate(4.6, 0.6)
        if canary:
            d *= canary_slow
        out.append(
            Invocation(
                canary=canary,
                failed=False,
                duration_ms=d,
                cold_start=cold_canary and canary,
                request_id=str(i),
            )
        )
    return out


def test_latency_test_catches_a_slow_canary_and_ignores_cold_starts() -> None:
    rng = random.Random(5)
    cfg = AnalysisConfig(latency_min_baseline=200)
    # slow canary, warm: rolled back
    slow = CanaryAnalysis(cfg)
    assert slow.latency_thresholds() is None
    slow.seed_baseline(rng.lognormvariate(4.6, 0.6) for _ in range(2000))
    t = slow.latency_thresholds()
    assert t is not None and 150 < t[0] < 300 and 300 < t[1] < 600
    verdict = None
    for _ in range(30):
        verdict = slow.update_invocations(_invocations(rng, 200, 2.0, cold_canary=False))
        if verdict.outcome is Outcome.FAIL:
            break
    assert verdict is not None and verdict.outcome is Outcome.FAIL
    assert verdict.check == "latency"
    assert "above stable p90" in verdict.reason and "≥ 200" in verdict.reason
    # the same slowness on cold starts only: excluded, never a rollback
    cold = CanaryAnalysis(cfg)
    cold.seed_baseline(rng.lognormvariate(4.6, 0.6) for _ in range(2000))
    for _ in range(30):
        v = cold.update_invocations(_invocations(rng, 200, 5.0, cold_canary=True))
        assert v.outcome is Outcome.NEED_MORE_DATA
    assert cold.latency.slow90[1] == 0


def test_latency_type_one_error_small_simulation() -> None:
    """Good canary on latency, thresholds running on stable data: no more than alpha."""
    rng = random.Random(11)
    cfg = AnalysisConfig(alpha_latency=0.05, latency_min_baseline=100)
    runs, false = 300, 0
    for _ in range(runs):
        a = CanaryAnalysis(cfg)
        a.seed_baseline(rng.lognormvariate(4.6, 0.6) for _ in range(100))
        for _w in range(15):
            if a.update_invocations(_invocations(rng, 60, 1.0, False)).outcome is Outcome.FAIL:
                false += 1
                break
    assert false / runs <= 0.05 + 3 * (0.05 * 0.95 / runs) ** 0.5


def test_window_from_invocations_dedupes_request_ids_and_counts_warm() -> None:
    recs = [
        Invocation(canary=True, failed=True, duration_ms=10, request_id="a"),
        Invocation(canary=True, failed=True, duration_ms=10, request_id="a"),
        Invocation(canary=False, failed=True, duration_ms=500, cold_start=True),
        Invocation(canary=False, failed=False, duration_ms=300),
    ]
    w = window_from_invocations(recs, (200.0, 400.0))
    assert w.canary == ArmCounts(requests=2, errors=1, warm=2, slow_p90=0, slow_p99=0)
    assert w.stable == ArmCounts(requests=2, errors=1, warm=1, slow_p90=1, slow_p99=0)
    assert w.error_order == (True, False)
    assert w.slow_order == ((False, False),)
    assert w.stable_warm_durations_ms == (300.0,)


def test_state_round_trip_resumes_with_identical_verdicts() -> None:
    rng = random.Random(99)
    windows = []
    for i in range(60):
        recs = _invocations(rng, 80, 1.3, cold_canary=False)
        recs = [
            Invocation(r.canary, rng.random() < (0.03 if r.canary else 0.01), r.duration_ms)
            for r in recs
        ]
        windows.append((i, recs))
    cfg = AnalysisConfig(latency_min_baseline=50)
    straight = CanaryAnalysis(cfg)
    resumed = CanaryAnalysis(cfg)
    a_out, b_out = [], []
    for i, recs in windows:
        a_out.append(straight.update_invocations(recs, now=float(i)).to_dict())
        if i in (10, 30):  # crash and restart from the journal
            resumed = CanaryAnalysis.from_dict(json.loads(json.dumps(resumed.to_dict())))
        b_out.append(resumed.update_invocations(recs, now=float(i)).to_dict())
    assert a_out == b_out
    assert straight.to_dict() == resumed.to_dict()
    assert json.loads(json.dumps(straight.to_dict())) == straight.to_dict()
    s1 = straight.judge_step(dwell_s=100.0)
    s2 = resumed.judge_step(dwell_s=100.0)
    assert s1 == s2


def test_alarm_check_fails_at_once_on_alarm() -> None:
    v = check_alarms({"errors": AlarmState.OK, "p99": "ALARM", "x": "INSUFFICIENT_DATA"})
    assert v.outcome is Outcome.FAIL
    assert v.reason == "1 of 3 alarm(s) in ALARM: p99"
    ok = check_alarms({"errors": "OK", "x": "INSUFFICIENT_DATA"})
    assert ok.outcome is Outcome.PASS
    assert "INSUFFICIENT_DATA (not treated as failing): x" in ok.reason
    with pytest.raises(ValueError):
        check_alarms({"a": "BROKEN"})


def test_judge_step_rolls_back_on_alarm_before_anything_else() -> None:
    analysis = CanaryAnalysis()
    step = analysis.judge_step(dwell_s=1.0, alarms={"a": "ALARM"})
    assert step.outcome is Outcome.FAIL
    assert step.action.value == "rollback"
    assert "ALARM" in step.reason
