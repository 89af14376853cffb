"""Promotion guard arithmetic (detection-limits.md §2.5, §7.5)."""

from __future__ import annotations

import random

import pytest

from apicanary.errors import BadInputError
from apicanary.rollout.analysis.canary import AnalysisConfig, ArmCounts, CanaryAnalysis, Window
from apicanary.rollout.analysis.guard import (
    GuardConfig,
    OnExhausted,
    StepAction,
    events_needed,
    judge_guard,
    remaining_canary_requests,
    required_canary_requests,
)
from apicanary.rollout.analysis.mixture import mixture_log_evalue


@pytest.mark.parametrize(
    ("p0", "k", "table"),
    [(0.01, 5, 393), (0.01, 10, 111), (0.01, 2, 4182), (0.001, 5, 3857), (0.001, 10, 1211)],
)
def test_required_requests_match_the_section_2_5_table(p0: float, k: float, table: int) -> None:
    """At alpha 1 % the exact numbers agree with the simulated §2.5 table (within its noise)."""
    need = required_canary_requests(
        1_000_000, round(p0 * 1_000_000), 0.1, 0.01, GuardConfig(k_min=k)
    )
    assert need is not None
    assert need == pytest.approx(table, rel=0.1)


def test_events_needed_agrees_with_simulation() -> None:
    n = events_needed(10.0, 0.1, 0.005, 0.95)
    assert n is not None
    q = 1.0 / 1.9  # q1 for k = 10, r = 0.1
    rng = random.Random(3)

    def crossed_by(m: int) -> float:
        hits = 0
        for _ in range(4000):
            x = 0
            for i in range(1, m + 1):
                if rng.random() < q:
                    x += 1
                    if mixture_log_evalue(x, i, 0.1) >= 5.298317366548036:
                        hits += 1
                        break
        return hits / 4000

    assert crossed_by(n) >= 0.95 - 0.012
    assert crossed_by(max(1, n - 3)) < 0.95


def test_requirement_monotone_in_k_power_alpha_and_p0() -> None:
    base = required_canary_requests(100_000, 500, 0.1, 0.005, GuardConfig())
    assert base is not None
    bigger_k = required_canary_requests(100_000, 500, 0.1, 0.005, GuardConfig(k_min=10))
    more_power = required_canary_requests(100_000, 500, 0.1, 0.005, GuardConfig(power=0.99))
    lower_alpha = required_canary_requests(100_000, 500, 0.1, 0.001, GuardConfig())
    lower_p0 = required_canary_requests(100_000, 50, 0.1, 0.005, GuardConfig(p0_floor=1e-4))
    assert bigger_k is not None and bigger_k < base
    assert more_power is not None and more_power > base
    assert lower_alpha is not None and lower_alpha > base
    assert lower_p0 is not None and lower_p0 > base


def test_p0_floor_applies_when_stable_has_no_errors() -> None:
    cfg = GuardConfig(p0_floor=0.001)
    assert required_canary_requests(50_000, 0, 0.1, 0.005, cfg) == required_canary_requests(
        50_000, 50, 0.1, 0.005, cfg
    )


def test_degenerate_share_cannot_be_met() -> None:
    assert required_canary_requests(1000, 10, 0.0, 0.005, GuardConfig()) is None
    assert required_canary_requests(1000, 10, 1.0, 0.005, GuardConfig()) is None
    assert remaining_canary_requests(10, 1000, 10, 1.0, 0.005, GuardConfig()) is None


def test_remaining_counts_down_to_zero() -> None:
    cfg = GuardConfig()
    need = required_canary_requests(90_000, 900, 0.1, 0.005, cfg)
    assert need is not None
    assert remaining_canary_requests(0, 90_000, 900, 0.1, 0.005, cfg) == need
    assert remaining_canary_requests(need - 7, 90_000, 900, 0.1, 0.005, cfg) == 7
    assert remaining_canary_requests(need + 7, 90_000, 900, 0.1, 0.005, cfg) == 0


def _decide(dwell: float, canary: int, cfg: GuardConfig) -> StepAction:
    return judge_guard(
        dwell_s=dwell,
        canary_requests=canary,
        stable_requests=90_000,
        stable_errors=900,
        share=0.1,
        alpha_errors=0.005,
        cfg=cfg,
    ).action


def test_guard_actions_never_promote_silently() -> None:
    cfg = GuardConfig(min_dwell_s=60, max_dwell_s=600)
    need = required_canary_requests(90_000, 900, 0.1, 0.005, cfg)
    assert need is not None
    assert _decide(30, 10 * need, cfg) is StepAction.WAIT  # dwell first
    assert _decide(60, need, cfg) is StepAction.COMPLETE
    assert _decide(300, need - 1, cfg) is StepAction.WAIT  # extended
    assert _decide(600, need - 1, cfg) is StepAction.STOP_FOR_HUMAN
    unverified = GuardConfig(
        min_dwell_s=60, max_dwell_s=600, on_exhausted=OnExhausted.PROMOTE_UNVERIFIED
    )
    d = judge_guard(
        dwell_s=600,
        canary_requests=need - 1,
        stable_requests=90_000,
        stable_errors=900,
        share=0.1,
        alpha_errors=0.005,
        cfg=unverified,
    )
    assert d.action is StepAction.PROMOTE_UNVERIFIED and d.unverified
    assert "UNVERIFIED below 5x" in d.verdict.reason
    assert f"{need - 1} of {need}" in d.verdict.reason


def test_guard_reason_names_values() -> None:
    d = judge_guard(
        dwell_s=120,
        canary_requests=100,
        stable_requests=9000,
        stable_errors=90,
        share=0.1,
        alpha_errors=0.005,
        cfg=GuardConfig(),
    )
    assert d.action is StepAction.WAIT
    assert d.remaining is not None and d.required is not None
    assert d.remaining == d.required - 100
    assert f"{d.remaining} more needed" in d.verdict.reason
    assert "5x error regression" in d.verdict.reason and "1.00%" in d.verdict.reason


def test_guard_config_validation() -> None:
    with pytest.raises(BadInputError, match="k_min"):
        GuardConfig(k_min=1.0)
    with pytest.raises(BadInputError, match="min dwell"):
        GuardConfig(min_dwell_s=700, max_dwell_s=600)


def test_analysis_guard_uses_observed_traffic() -> None:
    analysis = CanaryAnalysis(AnalysisConfig())
    for _ in range(2):
        analysis.update(
            Window(ArmCounts(requests=900, errors=9), ArmCounts(requests=100, errors=1))
        )
    remaining = analysis.remaining_canary_requests()
    need = required_canary_requests(1800, 18, 0.1, 0.005, GuardConfig())
    assert need is not None and need > 200 and remaining == need - 200
    step = analysis.judge_step(dwell_s=61)
    assert step.action is StepAction.WAIT and step.remaining_canary_requests == remaining
