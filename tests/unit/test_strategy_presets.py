"""Presets: each expands exactly as CodeDeploy shifts traffic; names, SAM, resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from apicanary.errors import StrategyError
from apicanary.rollout.strategy.resolve import (
    CODEDEPLOY_PRESETS,
    PRESET_NAMES,
    Analysis,
    AnalysisSettings,
    HookKind,
    HookSpec,
    Mode,
    Pause,
    SetWeight,
    Step,
    Strategy,
    StrategySeconds,
    WallSeconds,
    preset,
    resolve_strategy,
    strategy_from_deployment_preference,
)


def _pause(minutes: float) -> Pause:
    return Pause(StrategySeconds(minutes * 60.0))


def _linear(minutes: float) -> tuple[Step, ...]:
    steps: list[Step] = []
    for weight in (10, 20, 30, 40, 50, 60, 70, 80, 90):
        steps += [SetWeight(float(weight)), _pause(minutes)]
    return (*steps, SetWeight(100.0))


EXPANSIONS: dict[str, tuple[Step, ...]] = {
    "Canary10Percent5Minutes": (SetWeight(10.0), _pause(5), SetWeight(100.0)),
    "Canary10Percent10Minutes": (SetWeight(10.0), _pause(10), SetWeight(100.0)),
    "Canary10Percent15Minutes": (SetWeight(10.0), _pause(15), SetWeight(100.0)),
    "Canary10Percent30Minutes": (SetWeight(10.0), _pause(30), SetWeight(100.0)),
    "Linear10PercentEvery1Minute": _linear(1),
    "Linear10PercentEvery2Minutes": _linear(2),
    "Linear10PercentEvery3Minutes": _linear(3),
    "Linear10PercentEvery10Minutes": _linear(10),
    "AllAtOnce": (SetWeight(100.0),),
}


def test_the_nine_codedeploy_presets_are_known() -> None:
    assert set(CODEDEPLOY_PRESETS) == set(EXPANSIONS)
    assert (*CODEDEPLOY_PRESETS, "apicanary.Progressive") == PRESET_NAMES


@pytest.mark.parametrize("short", list(EXPANSIONS))
def test_preset_expands_as_codedeploy_shifts(short: str) -> None:
    for name in (short, f"CodeDeployDefault.Lambda{short}"):
        strategy = preset(name)
        assert strategy.steps == EXPANSIONS[short]
        assert strategy.name == f"CodeDeployDefault.Lambda{short}"
        assert strategy.analysis == AnalysisSettings()
        assert strategy.mode is None
        assert strategy.weights()[-1] == 100.0


@pytest.mark.parametrize(
    ("short", "minutes"),
    [
        ("Canary10Percent5Minutes", 5),
        ("Canary10Percent30Minutes", 30),
        ("Linear10PercentEvery1Minute", 9),
        ("Linear10PercentEvery10Minutes", 90),
        ("AllAtOnce", 0),
    ],
)
def test_time_until_fully_shifted(short: str, minutes: int) -> None:
    # Linear: ten +10% shifts at the start of each interval, so 100% after 9 intervals.
    assert preset(short).minimum_duration() == minutes * 60.0


def test_linear_schedule_reaches_each_weight_one_interval_apart() -> None:
    strategy = preset("Linear10PercentEvery2Minutes")
    clock, schedule = 0.0, []
    for step in strategy.steps:
        if isinstance(step, SetWeight):
            schedule.append((clock, step.weight))
        elif isinstance(step, Pause) and step.duration is not None:
            clock += step.duration
    assert schedule == [(i * 120.0, 10.0 * (i + 1)) for i in range(10)]


def test_progressive_default_analyzes_every_intermediate_weight() -> None:
    for name in ("apicanary.Progressive", "Progressive"):
        strategy = preset(name)
        assert strategy.name == "apicanary.Progressive"
        assert strategy.steps == (
            SetWeight(10.0), Analysis(), SetWeight(25.0), Analysis(),
            SetWeight(50.0), Analysis(), SetWeight(100.0),
        )  # fmt: skip
        assert strategy.minimum_duration() == 3 * 60.0  # three analysis steps, 60 s dwell
    assert resolve_strategy(None) == preset("apicanary.Progressive")


@pytest.mark.parametrize(
    ("name", "summary"),
    [
        ("Canary10Percent5Minutes", "10% for 5m → 100%"),
        ("Canary10Percent30Minutes", "10% for 30m → 100%"),
        ("AllAtOnce", "100%"),
        (
            "Linear10PercentEvery3Minutes",
            " → ".join(f"{w}% for 3m" for w in range(10, 100, 10)) + " → 100%",
        ),
        (
            "apicanary.Progressive",
            "10% with analysis → 25% with analysis → 50% with analysis → 100%",
        ),
    ],
)
def test_describe_presets(name: str, summary: str) -> None:
    assert preset(name).describe() == summary


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("Canary10Percent7Minutes", "Canary10Percent5Minutes"),
        ("CodeDeployDefault.LambdaLinear10PercentEvery5Minutes", "Linear10PercentEvery3Minutes"),
        ("allatonce", "AllAtOnce"),
        ("CodeDeployDefault.AllAtOnce", "AllAtOnce"),
    ],
)
def test_unknown_preset_lists_known_and_suggests(name: str, suggestion: str) -> None:
    with pytest.raises(StrategyError) as info:
        preset(name)
    message = str(info.value)
    assert message.startswith(f"unknown preset {name!r}; known presets: Canary10Percent5Minutes, ")
    assert "apicanary.Progressive" in message
    assert "'CodeDeployDefault.Lambda' prefix" in message
    assert message.endswith(f"; did you mean {suggestion!r}?")
    assert info.value.exit_code == 2


def test_unknown_preset_without_a_near_miss_has_no_suggestion() -> None:
    with pytest.raises(StrategyError) as info:
        preset("zzz")
    assert "did you mean" not in str(info.value)


def test_resolve_strategy_names_and_files(tmp_path: Path) -> None:
    assert resolve_strategy("Canary10Percent5Minutes") == preset("Canary10Percent5Minutes")
    spec = tmp_path / "canary.yaml"
    spec.write_text("steps:\n  - setWeight: 5\n  - pause: {duration: 1m}\n")
    assert resolve_strategy(str(spec)).steps == (
        SetWeight(5.0), Pause(StrategySeconds(60.0)), SetWeight(100.0),
    )  # fmt: skip
    with pytest.raises(StrategyError, match=r"^strategy file 'missing\.yaml' does not exist$"):
        resolve_strategy("missing.yaml")
    with pytest.raises(StrategyError, match=r"^unknown preset 'Canary10Percent7Minutes'") as info:
        resolve_strategy("Canary10Percent7Minutes")
    assert info.value.hint is not None and "file" in info.value.hint


def test_deployment_preference_maps_type_alarms_and_hooks() -> None:
    strategy = strategy_from_deployment_preference(
        "Canary10Percent10Minutes",
        ["AliasErrors", "LatestVersionErrors", "AliasErrors"],
        {"PreTraffic": "CodeDeployHook_pre", "PostTraffic": "CodeDeployHook_post"},
    )
    assert strategy == Strategy(
        name="CodeDeployDefault.LambdaCanary10Percent10Minutes",
        steps=EXPANSIONS["Canary10Percent10Minutes"],
        hooks=strategy.hooks,
        alarms=("AliasErrors", "LatestVersionErrors"),
        mode=Mode.ALIAS,
    )
    hour = WallSeconds(3600.0)
    assert strategy.hooks.pre_traffic == HookSpec(HookKind.FUNCTION, "CodeDeployHook_pre", hour)
    assert strategy.hooks.post_traffic == HookSpec(HookKind.FUNCTION, "CodeDeployHook_post", hour)
    bare = strategy_from_deployment_preference("CodeDeployDefault.LambdaAllAtOnce")
    assert bare.steps == (SetWeight(100.0),)
    assert bare.hooks.pre_traffic is None and bare.alarms == ()
    assert strategy_from_deployment_preference("apicanary.Progressive").mode is Mode.ALIAS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("Canary10Percent7Minutes", [], {}),
            "DeploymentPreference.Type: unknown preset 'Canary10Percent7Minutes'; known presets: ",
        ),
        (
            ("AllAtOnce", [], {"PreTrafic": "f"}),
            "DeploymentPreference.Hooks: unknown key 'PreTrafic'; allowed: PreTraffic, "
            "PostTraffic (did you mean 'PreTraffic'?)",
        ),
        (
            ("AllAtOnce", [], {"PostTraffic": "not a name"}),
            "DeploymentPreference.Hooks.PostTraffic: 'not a name' is not a Lambda function name",
        ),
        (
            ("AllAtOnce", [""], {}),
            "DeploymentPreference.Alarms[0]: '' is not an alarm name: must be 1..255 characters",
        ),
        (
            ("AllAtOnce", "OneAlarm", {}),
            "DeploymentPreference.Alarms: 'OneAlarm' is not a list: must be a list of alarm names",
        ),
    ],
)
def test_deployment_preference_errors(args: tuple[object, object, object], message: str) -> None:
    with pytest.raises(StrategyError) as info:
        strategy_from_deployment_preference(*args)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


def test_custom_codedeploy_config_points_to_strategy_file() -> None:
    with pytest.raises(StrategyError) as info:
        strategy_from_deployment_preference("Canary25Percent45Minutes")
    assert info.value.hint is not None and "--strategy FILE" in info.value.hint
