"""Property tests of the mixture e-process and the error test (detection-limits.md §2.3, §7.2)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from apicanary.rollout.analysis.canary import ArmCounts, CanaryAnalysis, Outcome, Window
from apicanary.rollout.analysis.mixture import LabelMixture

shares = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
small = st.integers(min_value=0, max_value=60)


@given(shares, small, small)
def test_more_canary_errors_never_lower_the_evidence(r: float, x: int, y: int) -> None:
    a, b = LabelMixture(), LabelMixture()
    a.add_counts(r, x, y)
    b.add_counts(r, x + 1, y)
    assert b.log_evalue() >= a.log_evalue() - 1e-12
    c = LabelMixture()
    c.add_counts(r, x, y + 1)  # a stable error never raises it
    assert c.log_evalue() <= a.log_evalue() + 1e-12


@given(shares, st.lists(st.booleans(), max_size=40))
def test_window_end_evidence_does_not_depend_on_order(r: float, labels: list[bool]) -> None:
    a, b = LabelMixture(), LabelMixture()
    for lab in labels:
        a.add_label(r, lab)
    b.add_counts(r, sum(labels), len(labels) - sum(labels))
    assert abs(a.log_evalue() - b.log_evalue()) < 1e-9


@given(shares, st.integers(min_value=0, max_value=200))
def test_stable_errors_alone_never_give_evidence(r: float, y: int) -> None:
    m = LabelMixture()
    m.add_counts(r, 0, y)
    assert m.log_evalue() <= 1e-12


@given(st.floats(min_value=0.0, max_value=1.0), small, small)
def test_peak_bound_bounds_every_order(r: float, x: int, y: int) -> None:
    m = LabelMixture()
    bound = m.peak_bound(r, x)
    for lab in [True] * x + [False] * y:
        m.add_label(r, lab)
        assert m.log_evalue() <= bound + 1e-9


windows = st.builds(
    lambda sr, cr, se, ce: Window(
        ArmCounts(requests=sr, errors=min(se, sr)), ArmCounts(requests=cr, errors=min(ce, cr))
    ),
    st.integers(0, 500),
    st.integers(0, 60),
    st.integers(0, 10),
    st.integers(0, 10),
)


@settings(max_examples=50, deadline=None)
@given(st.lists(windows, max_size=15), st.integers(0, 15))
def test_serialised_state_resumes_identically(ws: list[Window], cut: int) -> None:
    a = CanaryAnalysis()
    for w in ws[:cut]:
        a.update(w)
    b = CanaryAnalysis.from_dict(json.loads(json.dumps(a.to_dict())))
    for w in ws[cut:]:
        assert a.update(w) == b.update(w)
    assert a.to_dict() == b.to_dict()


@settings(max_examples=50, deadline=None)
@given(st.lists(windows, min_size=1, max_size=10), st.integers(0, 9))
def test_adding_a_canary_error_never_turns_fail_into_pass(ws: list[Window], i: int) -> None:
    i %= len(ws)
    w = ws[i]
    if w.canary.errors >= w.canary.requests:
        return
    worse = Window(w.stable, ArmCounts(requests=w.canary.requests, errors=w.canary.errors + 1))
    a, b = CanaryAnalysis(), CanaryAnalysis()
    va = vb = None
    for j, win in enumerate(ws):
        va = a.update(win)
        vb = b.update(worse if j == i else win)
        if j == i:
            assert vb.evidence >= va.evidence * (1 - 1e-12) or vb.outcome is Outcome.FAIL
    assert va is not None and vb is not None
