"""Custom strategy specs: YAML/JSON/dict in, frozen values out, precise errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apicanary.errors import StrategyError
from apicanary.rollout.strategy.resolve import (
    Analysis,
    AnalysisOverrides,
    AnalysisSettings,
    Approval,
    HookKind,
    HookSpec,
    Mode,
    OnUnverified,
    Pause,
    SetWeight,
    StrategySeconds,
    WallSeconds,
    load_strategy_file,
    load_strategy_text,
    parse_strategy,
    preset,
    with_mode,
    with_time_scale,
)

FULL_SPEC = """
name: checkout-careful
steps:
  - setWeight: 5
  - pause: {duration: 30s}
  - setWeight: 20
  - analysis:
      minDwell: 2m
      minRegression: 2
  - approval: {}
  - setWeight: 60
  - pause: {}
analysis:
  alpha: 0.005
  latencyPercentiles: [99, 50]
  minDwell: 90
  maxExtension: 1h
  onUnverified: promote-unverified
hooks:
  preTraffic: {function: CodeDeployHook_pre}
  postTraffic: {webhook: "https://ci.example/hooks/post", timeout: 45s}
alarms: [HighErrors, HighLatency]
notifications: ["https://chat.example/rollouts"]
mode: stage
"""


def test_full_yaml_spec() -> None:
    strategy = load_strategy_text(FULL_SPEC)
    assert strategy.name == "checkout-careful"
    assert strategy.steps == (
        SetWeight(5.0),
        Pause(StrategySeconds(30.0)),
        SetWeight(20.0),
        Analysis(AnalysisOverrides(min_dwell=StrategySeconds(120.0), min_regression=2.0)),
        Approval(),
        SetWeight(60.0),
        Pause(None),
        SetWeight(100.0),  # implied: the weight after the last step was below 100
    )
    assert strategy.analysis == AnalysisSettings(
        alpha=0.005,
        min_regression=5.0,
        latency_percentiles=(50.0, 99.0),
        on_unverified=OnUnverified.PROMOTE_UNVERIFIED,
        min_dwell=StrategySeconds(90.0),
        max_extension=StrategySeconds(3600.0),
    )
    assert strategy.step_settings(3) == AnalysisSettings(
        alpha=0.005,
        min_regression=2.0,
        latency_percentiles=(50.0, 99.0),
        on_unverified=OnUnverified.PROMOTE_UNVERIFIED,
        min_dwell=StrategySeconds(120.0),
        max_extension=StrategySeconds(3600.0),
    )
    assert strategy.step_settings(0) == strategy.analysis
    assert strategy.hooks.pre_traffic == HookSpec(
        HookKind.FUNCTION, "CodeDeployHook_pre", WallSeconds(3600.0)
    )
    assert strategy.hooks.post_traffic == HookSpec(
        HookKind.WEBHOOK, "https://ci.example/hooks/post", WallSeconds(45.0)
    )
    assert strategy.alarms == ("HighErrors", "HighLatency")
    assert strategy.notifications == ("https://chat.example/rollouts",)
    assert strategy.mode is Mode.STAGE
    assert [strategy.weight_at(i) for i in range(len(strategy.steps))] == [
        5, 5, 20, 20, 20, 60, 60, 100,
    ]  # fmt: skip
    assert strategy.minimum_duration() == 150.0
    assert strategy.describe() == (
        "5% for 30s → 20% with analysis, then until approved → 60% until resumed → 100%; "
        "pre-traffic function CodeDeployHook_pre; "
        "post-traffic webhook https://ci.example/hooks/post; "
        "alarms HighErrors, HighLatency; mode stage"
    )


def test_json_text_and_files(tmp_path: Path) -> None:
    text = '{"steps": [{"setWeight": 50}, {"pause": {"duration": "1h30m"}}], "mode": "alias"}'
    strategy = load_strategy_text(text)
    assert strategy.steps == (SetWeight(50.0), Pause(StrategySeconds(5400.0)), SetWeight(100.0))
    assert strategy.describe() == "50% for 1h30m → 100%; mode alias"
    (tmp_path / "s.json").write_text(text)
    (tmp_path / "s.yml").write_text(FULL_SPEC)
    assert load_strategy_file(tmp_path / "s.json") == strategy
    assert load_strategy_file(tmp_path / "s.yml") == load_strategy_text(FULL_SPEC)


@pytest.mark.parametrize(
    ("spec", "steps"),
    [
        ({}, preset("apicanary.Progressive").steps),
        ({"steps": []}, (SetWeight(100.0),)),
        ({"steps": [{"approval": None}]}, (Approval(), SetWeight(100.0))),
        ({"steps": [{"setWeight": 100}, {"pause": {"duration": 60}}]},
         (SetWeight(100.0), Pause(StrategySeconds(60.0)))),
        ({"steps": [{"setWeight": 0}, {"pause": None}]},
         (SetWeight(0.0), Pause(None), SetWeight(100.0))),
        ({"steps": [{"setWeight": 12.5}, {"pause": {"duration": None}}]},
         (SetWeight(12.5), Pause(None), SetWeight(100.0))),
        ({"preset": "Canary10Percent5Minutes"}, preset("Canary10Percent5Minutes").steps),
        ({"steps": [{"setWeight": 50}, {"setWeight": 20}], "allowWeightDecrease": True},
         (SetWeight(50.0), SetWeight(20.0), SetWeight(100.0))),
    ],
)  # fmt: skip
def test_step_lists(spec: dict[str, Any], steps: tuple[object, ...]) -> None:
    assert parse_strategy(spec).steps == steps


def test_names_and_modes() -> None:
    assert parse_strategy({}).name == "apicanary.Progressive"
    assert parse_strategy({"steps": []}).name == "custom"
    assert parse_strategy({"preset": "AllAtOnce"}).name == "CodeDeployDefault.LambdaAllAtOnce"
    assert parse_strategy({"preset": "AllAtOnce", "name": "x"}).name == "x"
    assert parse_strategy({"mode": "both", "allowBoth": True}).mode is Mode.BOTH
    assert parse_strategy({"mode": None}).mode is None


def test_time_scale_applies_to_strategy_seconds_only() -> None:
    strategy = parse_strategy({"preset": "Canary10Percent5Minutes", "timeScale": 60})
    assert strategy.time_scale == 60.0
    pause = strategy.steps[1]
    assert isinstance(pause, Pause) and pause.duration is not None
    assert strategy.wall_seconds(pause.duration) == 5.0
    assert strategy.wall_seconds(strategy.analysis.min_dwell) == 1.0
    # the statistical requirements and the hook timeouts are untouched by the scale
    assert strategy.analysis == AnalysisSettings()
    scaled = with_time_scale(preset("apicanary.Progressive"), 600)
    assert scaled.analysis == preset("apicanary.Progressive").analysis
    assert scaled.describe().endswith("; time scale 600")
    with pytest.raises(StrategyError, match=r"^time scale: 0 is out of range: must be a finite"):
        with_time_scale(scaled, 0)


def test_with_mode_refuses_both_unless_allowed() -> None:
    base = preset("AllAtOnce")
    assert with_mode(base, "stage").mode is Mode.STAGE
    assert with_mode(base, Mode.BOTH, allow_both=True).mode is Mode.BOTH
    with pytest.raises(StrategyError, match=r"^mode: 'both' needs allowBoth: true"):
        with_mode(base, "both")
    with pytest.raises(StrategyError, match=r"^mode: 'canary' is not allowed"):
        with_mode(base, "canary")


ERRORS: list[tuple[Any, str]] = [
    # steps
    ({"steps": [{"setWeight": 10}, {"pause": {}}, {"setWeight": 150}]},
     "steps[2].setWeight: 150 is out of range: must be 0..100"),
    ({"steps": [{"setWeight": -1}]}, "steps[0].setWeight: -1 is out of range: must be 0..100"),
    ({"steps": [{"setWeight": float("nan")}]},
     "steps[0].setWeight: nan is out of range: must be 0..100"),
    ({"steps": [{"setWeight": "10"}]},
     "steps[0].setWeight: '10' is not a number: must be a number 0..100"),
    ({"steps": [{"setWeight": True}]},
     "steps[0].setWeight: true is not a number: must be a number 0..100"),
    ({"hooks": {"preTraffic": {"webhook": None}}},
     "hooks.preTraffic.webhook: null is not an http(s) URL: must look like https://host/path"),
    ({"steps": [{"setWeight": None}]},
     "steps[0].setWeight: null is not a number: must be a number 0..100"),
    ({"steps": [{"setweight": 10}]},
     "steps[0]: unknown step 'setweight'; allowed: setWeight, pause, analysis, approval "
     "(did you mean 'setWeight'?)"),
    ({"steps": [{"setWeight": 10, "pause": {}}]},
     "steps[0]: a step has exactly one of setWeight, pause, analysis, approval; "
     "got setWeight, pause"),
    ({"steps": [{}]},
     "steps[0]: a step has exactly one of setWeight, pause, analysis, approval; got nothing"),
    ({"steps": ["pause"]},
     "steps[0]: 'pause' is not a mapping: must be one of {setWeight: 0..100}, "
     "{pause: {duration: 5m}}, {pause: {}}, {analysis: {}} or {approval: {}}"),
    ({"steps": {"setWeight": 10}},
     "steps: {'setWeight': 10} is not a list: must be a list of steps"),
    ({"steps": [{"pause": {"duration": 0}}]},
     "steps[0].pause.duration: 0 is out of range: must be > 0 (omit it to pause until resumed)"),
    ({"steps": [{"pause": {"duration": "5 minutes"}}]},
     "steps[0].pause.duration: '5 minutes' is not a duration: must be a number of seconds "
     "or a string like '30s', '5m', '1h', '1h30m'"),
    ({"steps": [{"pause": {"duration": -5}}]},
     "steps[0].pause.duration: -5 is not a duration: must be a number of seconds "
     "or a string like '30s', '5m', '1h', '1h30m'"),
    ({"steps": [{"pause": {"for": "5m"}}]},
     "steps[0].pause: unknown key 'for'; allowed: duration"),
    ({"steps": [{"pause": "5m"}]},
     "steps[0].pause: '5m' is not a mapping: must be {duration: 5m}, or {} to pause until "
     "resumed"),
    ({"steps": [{"approval": {"by": "me"}}]},
     "steps[0].approval: unknown key 'by'; allowed: (none)"),
    ({"steps": [{"approval": True}]},
     "steps[0].approval: true is not a mapping: must be {} (approval takes no settings)"),
    ({"steps": [{"analysis": {}}]},
     "steps[0].analysis: the weight here is 0: analysis compares canary and stable traffic, "
     "so it needs a setWeight strictly between 0 and 100 before it"),
    ({"steps": [{"setWeight": 100}, {"analysis": {}}]},
     "steps[1].analysis: the weight here is 100: analysis compares canary and stable traffic, "
     "so it needs a setWeight strictly between 0 and 100 before it"),
    ({"steps": [{"setWeight": 10}, {"analysis": "yes"}]},
     "steps[1].analysis: 'yes' is not a mapping: must be a mapping of analysis settings, "
     "e.g. {minDwell: 2m}"),
    ({"steps": [{"setWeight": 10}, {"analysis": {"alpha": 2}}]},
     "steps[1].analysis.alpha: 2 is out of range: must be > 0 and <= 0.5"),
    ({"steps": [{"setWeight": 50}, {"setWeight": 25}]},
     "steps[1].setWeight: 25 is lower than the previous weight 50: weights must not decrease "
     "(set allowWeightDecrease: true to allow it)"),
    # analysis settings
    ({"analysis": {"alpha": 0}}, "analysis.alpha: 0 is out of range: must be > 0 and <= 0.5"),
    ({"analysis": {"alpha": "1%"}},
     "analysis.alpha: '1%' is not a number: must be a probability > 0 and <= 0.5"),
    ({"analysis": {"minRegression": 1}},
     "analysis.minRegression: 1 is out of range: must be a finite multiple > 1"),
    ({"analysis": {"minRegression": "5x"}},
     "analysis.minRegression: '5x' is not a number: must be a multiple of the stable error "
     "rate > 1"),
    ({"analysis": {"latencyPercentiles": [90, 100]}},
     "analysis.latencyPercentiles[1]: 100 is out of range: must be > 0 and < 100"),
    ({"analysis": {"latencyPercentiles": 99}},
     "analysis.latencyPercentiles: 99 is not a list: must be a list of percentiles"),
    ({"analysis": {"latencyPercentiles": [99, 99]}},
     "analysis.latencyPercentiles: 99 is listed twice: list each at most once"),
    ({"analysis": {"minDwell": "soon"}},
     "analysis.minDwell: 'soon' is not a duration: must be a number of seconds or a string "
     "like '30s', '5m', '1h', '1h30m'"),
    ({"analysis": {"maxExtension": -1}},
     "analysis.maxExtension: -1 is not a duration: must be a number of seconds or a string "
     "like '30s', '5m', '1h', '1h30m'"),
    ({"analysis": {"onUnverified": "promote"}},
     "analysis.onUnverified: 'promote' is not allowed: must be one of stop, "
     "promote-unverified (did you mean 'promote-unverified'?)"),
    ({"analysis": {"minDwel": 3}},
     "analysis: unknown key 'minDwel'; allowed: alpha, minRegression, latencyPercentiles, "
     "onUnverified, minDwell, maxExtension (did you mean 'minDwell'?)"),
    # hooks
    ({"hooks": {"preTrafic": {"function": "f"}}},
     "hooks: unknown key 'preTrafic'; allowed: preTraffic, postTraffic "
     "(did you mean 'preTraffic'?)"),
    ({"hooks": {"preTraffic": {}}},
     "hooks.preTraffic: a hook has exactly one of function, webhook"),
    ({"hooks": {"preTraffic": {"function": "f", "webhook": "https://x"}}},
     "hooks.preTraffic: a hook has exactly one of function, webhook"),
    ({"hooks": {"preTraffic": {"function": "my fn"}}},
     "hooks.preTraffic.function: 'my fn' is not a Lambda function name: must be 1..64 "
     "letters, digits, '-' or '_' (optionally ':alias' or ':version'), or a function ARN"),
    ({"hooks": {"postTraffic": {"webhook": "ftp://ci.example/x"}}},
     "hooks.postTraffic.webhook: 'ftp://ci.example/x' is not an http(s) URL: must look like "
     "https://host/path"),
    ({"hooks": {"postTraffic": {"webhook": "https://ci.example", "timeout": "2h"}}},
     "hooks.postTraffic.timeout: '2h' is out of range: must be > 0 and at most 1h"),
    ({"hooks": {"postTraffic": "https://ci.example"}},
     "hooks.postTraffic: 'https://ci.example' is not a mapping: must be {function: Name} or "
     "{webhook: https://..., timeout: 30s}"),
    ({"hooks": ["x"]},
     "hooks: ['x'] is not a mapping: must be a mapping with preTraffic and/or postTraffic"),
    # alarms, notifications
    ({"alarms": "HighErrors"}, "alarms: 'HighErrors' is not a list: must be a list of alarm names"),
    ({"alarms": ["A", ""]}, "alarms[1]: '' is not an alarm name: must be 1..255 characters"),
    ({"alarms": ["A", 7]}, "alarms[1]: 7 is not an alarm name: must be 1..255 characters"),
    ({"alarms": ["A", "B", "A"]}, "alarms: 'A' is listed twice: list each at most once"),
    ({"notifications": ["https://a.example", "https://a.example"]},
     "notifications: 'https://a.example' is listed twice: list each at most once"),
    ({"notifications": ["chat.example"]},
     "notifications[0]: 'chat.example' is not an http(s) URL: must look like https://host/path"),
    # top level
    ({"mode": "canary"}, "mode: 'canary' is not allowed: must be one of alias, stage, both"),
    ({"mode": "Stage"},
     "mode: 'Stage' is not allowed: must be one of alias, stage, both (did you mean 'stage'?)"),
    ({"mode": "both"},
     "mode: 'both' needs allowBoth: true: the stage canary and the alias weights multiply "
     "(a 10% stage canary routed to a 50% alias sends 5% of requests to the new version)"),
    ({"mode": "both", "allowBoth": "yes"},
     "allowBoth: 'yes' is not a boolean: must be true or false"),
    ({"allowWeightDecrease": 1}, "allowWeightDecrease: 1 is not a boolean: must be true or false"),
    ({"timeScale": 0}, "timeScale: 0 is out of range: must be a finite number > 0"),
    ({"timeScale": "fast"}, "timeScale: 'fast' is not a number: must be a number > 0"),
    ({"name": ""}, "name: '' is not a strategy name: must be 1..128 characters"),
    ({"preset": "Canary10Percent5Minutes", "steps": []},
     "preset: cannot be combined with steps: use one or the other"),
    ({"step": []},
     "unknown top-level key 'step'; allowed: name, preset, steps, analysis, hooks, alarms, "
     "notifications, mode, allowBoth, allowWeightDecrease, timeScale (did you mean 'steps'?)"),
    ([{"setWeight": 10}],
     "[{'setWeight': 10}] is not a mapping: a strategy must be a mapping "
     "(name, steps, analysis, ...)"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "message"), ERRORS)
def test_validation_errors_name_path_value_and_allowed(spec: Any, message: str) -> None:
    with pytest.raises(StrategyError) as info:
        parse_strategy(spec)
    assert str(info.value) == message
    assert info.value.exit_code == 2


def test_unknown_preset_in_a_spec() -> None:
    with pytest.raises(StrategyError) as info:
        parse_strategy({"preset": "Canary10Percent7Minutes"})
    message = str(info.value)
    assert message.startswith("preset: unknown preset 'Canary10Percent7Minutes'; known presets: ")
    assert message.endswith("; did you mean 'Canary10Percent5Minutes'?")


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(StrategyError) as info:
        parse_strategy({"steps": [{"setWeight": 150}, {"pause": {"duration": "x"}}]})
    assert str(info.value).startswith(
        "steps[0].setWeight: 150 is out of range: must be 0..100; steps[1].pause.duration: "
    )
    many = {"steps": [{"setWeight": 101 + i} for i in range(8)]}
    with pytest.raises(StrategyError, match=r"; and 3 more problems$"):
        parse_strategy(many)


def test_text_and_file_errors_name_the_source(tmp_path: Path) -> None:
    with pytest.raises(StrategyError) as info:
        load_strategy_text("steps:\n  - setWeight: 150\n", source="canary.yaml")
    assert str(info.value) == "canary.yaml: steps[0].setWeight: 150 is out of range: must be 0..100"
    with pytest.raises(
        StrategyError, match=r"^s\.yaml: not valid YAML: .*\(line \d+, column \d+\)$"
    ):
        load_strategy_text("steps:\n  - setWeight: [10\n", source="s.yaml")
    with pytest.raises(StrategyError, match=r"^s\.json: not valid JSON: .*\(line 1, column \d+\)$"):
        load_strategy_text('{"steps": [}', source="s.json")
    with pytest.raises(StrategyError, match=r"^e\.yaml: is empty: "):
        load_strategy_text("\n# nothing\n", source="e.yaml")
    missing = tmp_path / "nope.yaml"
    with pytest.raises(StrategyError, match=r"^strategy file '.*nope\.yaml' does not exist$"):
        load_strategy_file(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("mode: canary\n")
    with pytest.raises(StrategyError) as info:
        load_strategy_file(bad)
    assert (
        str(info.value)
        == f"{bad}: mode: 'canary' is not allowed: must be one of alias, stage, both"
    )
