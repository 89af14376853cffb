"""Persistence: to_dict is JSON-able and from_dict(to_dict(s)) == s; property tests."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apicanary.errors import StrategyError
from apicanary.rollout.strategy.resolve import (
    PRESET_NAMES,
    AnalysisSettings,
    SetWeight,
    Strategy,
    load_strategy_text,
    parse_analysis_settings,
    parse_hook,
    parse_step,
    parse_strategy,
    preset,
    strategy_from_deployment_preference,
)

CUSTOM_YAML = """
name: careful
steps:
  - setWeight: 2.5
  - pause: {duration: 1m30s}
  - setWeight: 20
  - analysis: {minDwell: 2m, latencyPercentiles: [99.9, 50], onUnverified: promote-unverified}
  - approval:
  - pause:
analysis: {alpha: 0.004, minRegression: 2, maxExtension: 0}
hooks:
  preTraffic: {function: "arn:aws:lambda:us-east-1:123456789012:function:Pre:live"}
  postTraffic: {webhook: "https://ci.example/post?x=1", timeout: 5}
alarms: [A, B]
notifications: ["http://localhost:9000/n"]
mode: stage
"""


def _round_trip(strategy: Strategy) -> None:
    data = strategy.to_dict()
    assert json.loads(json.dumps(data)) == data
    again = parse_strategy(json.loads(json.dumps(data)))
    assert again == strategy
    assert again.to_dict() == data
    for index, step in enumerate(strategy.steps):
        assert parse_step(step.to_dict()) == step, index


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_presets_round_trip(name: str) -> None:
    _round_trip(preset(name))


def test_custom_and_sam_strategies_round_trip() -> None:
    _round_trip(load_strategy_text(CUSTOM_YAML))
    _round_trip(parse_strategy({"mode": "both", "allowBoth": True, "timeScale": 120}))
    _round_trip(
        parse_strategy(
            {"steps": [{"setWeight": 60}, {"setWeight": 30}], "allowWeightDecrease": True}
        )
    )
    _round_trip(
        strategy_from_deployment_preference(
            "Linear10PercentEvery1Minute", ["A"], {"PreTraffic": "CodeDeployHook_x"}
        )
    )


def test_persisted_form_spells_every_setting() -> None:
    data = preset("Canary10Percent5Minutes").to_dict()
    assert data == {
        "name": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
        "steps": [{"setWeight": 10.0}, {"pause": {"duration": 300.0}}, {"setWeight": 100.0}],
        "analysis": {
            "alpha": 0.01,
            "minRegression": 5.0,
            "latencyPercentiles": [90.0, 99.0],
            "onUnverified": "stop",
            "minDwell": 60.0,
            "maxExtension": 1800.0,
        },
        "hooks": {},
        "alarms": [],
        "notifications": [],
        "mode": None,
        "allowWeightDecrease": False,
        "timeScale": 1.0,
    }


def test_parts_round_trip() -> None:
    settings_ = AnalysisSettings(alpha=0.002, latency_percentiles=())
    assert parse_analysis_settings(settings_.to_dict()) == settings_
    assert parse_analysis_settings({}) == AnalysisSettings()
    hook = parse_strategy({"hooks": {"postTraffic": {"webhook": "http://h:8/x"}}}).hooks
    assert hook.post_traffic is not None
    assert parse_hook(hook.post_traffic.to_dict()) == hook.post_traffic
    with pytest.raises(StrategyError, match=r"^hook: a hook has exactly one of function, webhook$"):
        parse_hook({})
    with pytest.raises(StrategyError, match=r"^analysis\.alpha: 0 is out of range"):
        parse_analysis_settings({"alpha": 0})
    with pytest.raises(StrategyError, match=r"^step\.setWeight: 101 is out of range"):
        parse_step({"setWeight": 101})


def test_corrupt_persisted_form_is_refused() -> None:
    data = preset("AllAtOnce").to_dict()
    data["steps"][0]["setWeight"] = 250
    with pytest.raises(StrategyError, match=r"^steps\[0\]\.setWeight: 250 is out of range"):
        parse_strategy(data)


# --- property tests ------------------------------------------------------------------------

_durations = st.one_of(
    st.integers(min_value=1, max_value=10**6),
    st.floats(min_value=0.001, max_value=1e6, allow_nan=False),
    st.sampled_from(["30s", "5m", "1h", "1h30m", "2.5m", "1d"]),
)
_weight_values = st.one_of(
    st.integers(min_value=0, max_value=100), st.floats(min_value=0, max_value=100)
)
_percentiles = st.lists(st.floats(min_value=0.001, max_value=99.999), unique=True, max_size=4)
_overrides = st.fixed_dictionaries(
    {},
    optional={
        "alpha": st.floats(min_value=1e-6, max_value=0.5),
        "minRegression": st.floats(min_value=1.001, max_value=1e6),
        "latencyPercentiles": _percentiles,
        "onUnverified": st.sampled_from(["stop", "promote-unverified"]),
        "minDwell": st.one_of(st.just(0), _durations),
        "maxExtension": st.one_of(st.just(0), _durations),
    },
)


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Specs that must parse: weights rise (or decrease is allowed), analysis inside (0, 100)."""
    allow_decrease = draw(st.booleans())
    steps: list[dict[str, Any]] = []
    weight = 0.0
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        kind = draw(st.sampled_from(["setWeight", "pause", "analysis", "approval"]))
        if kind == "setWeight":
            value = draw(_weight_values)
            if value < weight and not allow_decrease:
                value = weight
            weight = float(value)
            steps.append({"setWeight": value})
        elif kind == "pause":
            steps.append(
                {"pause": draw(st.one_of(st.just({}), _durations.map(lambda d: {"duration": d})))}
            )
        elif kind == "analysis" and 0 < weight < 100:
            steps.append({"analysis": draw(_overrides)})
        elif kind == "approval":
            steps.append({"approval": {}})
    spec: dict[str, Any] = {"steps": steps, "allowWeightDecrease": allow_decrease}
    spec["analysis"] = draw(_overrides)
    if draw(st.booleans()):
        spec["hooks"] = {
            "preTraffic": {"function": draw(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True))},
            "postTraffic": {
                "webhook": "https://ci.example/h",
                "timeout": draw(st.integers(1, 3600)),
            },
        }
    spec["alarms"] = draw(
        st.lists(st.text(min_size=1, max_size=20).filter(str.strip), unique=True, max_size=3)
    )
    spec["mode"] = draw(st.sampled_from([None, "alias", "stage", "both"]))
    spec["allowBoth"] = spec["mode"] == "both"
    spec["timeScale"] = draw(st.floats(min_value=1e-3, max_value=1e6))
    return spec


@settings(max_examples=300)
@given(valid_specs())
def test_any_valid_spec_round_trips(spec: dict[str, Any]) -> None:
    strategy = parse_strategy(spec)
    _round_trip(strategy)
    strategy.describe()


_any_weight = st.one_of(
    st.integers(min_value=-1000, max_value=1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
)
_any_step: st.SearchStrategy[dict[str, Any]] = st.one_of(
    _any_weight.map(lambda w: {"setWeight": w}),
    st.just({"pause": {}}),
    st.just({"approval": {}}),
    st.just({"analysis": {}}),
)


@settings(max_examples=500)
@given(st.lists(_any_step, max_size=10), st.booleans())
def test_any_accepted_spec_keeps_weights_in_range_and_ends_at_100(
    steps: list[dict[str, Any]], allow_decrease: bool
) -> None:
    try:
        strategy = parse_strategy({"steps": steps, "allowWeightDecrease": allow_decrease})
    except StrategyError as exc:
        assert str(exc)  # rejected with a message, never a crash
        return
    weights = strategy.weights()
    assert weights, "an accepted strategy always sets a weight"
    assert all(0.0 <= w <= 100.0 and math.isfinite(w) for w in weights)
    assert weights[-1] == 100.0
    if not allow_decrease:
        assert list(weights) == sorted(weights)
    for index, step in enumerate(strategy.steps):
        if not isinstance(step, SetWeight) and step.to_dict().keys() == {"analysis"}:
            assert 0.0 < strategy.weight_at(index) < 100.0
