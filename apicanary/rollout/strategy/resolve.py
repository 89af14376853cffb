"""Rollout strategies: where the controller, the CLI and the SAM loader get them from.

Three sources, one result (a frozen, validated :class:`Strategy`):

- a name — the CodeDeploy Lambda presets (``Canary10Percent5Minutes``, with or without the
  ``CodeDeployDefault.Lambda`` prefix, …) or ``apicanary.Progressive``, the default
  (:mod:`apicanary.rollout.strategy.presets` documents each expansion);
- a custom spec — a YAML or JSON file, text, or a dict
  (:mod:`apicanary.rollout.strategy.parse` documents the shape and the rules);
- a SAM ``DeploymentPreference`` (:func:`strategy_from_deployment_preference`).

Step semantics and the persisted form are in :mod:`apicanary.rollout.strategy.types`. Every
problem raises :class:`~apicanary.errors.StrategyError` naming the path, the value and what
is allowed.

Time scale: ``Strategy.time_scale`` (strategy seconds per wall second, ``--time-scale``)
applies to :data:`StrategySeconds` only — pauses, minimum dwell, maximum extension — and
never to the analysis' statistical requirements, which are numbers of requests, nor to hook
timeouts (:data:`WallSeconds`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from apicanary.errors import StrategyError
from apicanary.rollout.strategy import checks as check
from apicanary.rollout.strategy.durations import StrategySeconds, WallSeconds, format_duration
from apicanary.rollout.strategy.parse import (
    parse_analysis_settings,
    parse_hook,
    parse_step,
    parse_strategy,
    with_mode,
    with_time_scale,
)
from apicanary.rollout.strategy.presets import (
    CODEDEPLOY_PREFIX,
    CODEDEPLOY_PRESETS,
    DEFAULT_STRATEGY,
    PRESET_NAMES,
    PROGRESSIVE,
    canonical_preset_name,
    is_preset_name,
    preset,
    unknown_preset_message,
)
from apicanary.rollout.strategy.suggest import did_you_mean
from apicanary.rollout.strategy.types import (
    DEFAULT_FUNCTION_HOOK_TIMEOUT,
    Analysis,
    AnalysisOverrides,
    AnalysisSettings,
    Approval,
    HookKind,
    Hooks,
    HookSpec,
    Mode,
    OnUnverified,
    Pause,
    SetWeight,
    Step,
    Strategy,
)

__all__ = [
    "CODEDEPLOY_PREFIX",
    "CODEDEPLOY_PRESETS",
    "DEFAULT_STRATEGY",
    "PRESET_NAMES",
    "PROGRESSIVE",
    "Analysis",
    "AnalysisOverrides",
    "AnalysisSettings",
    "Approval",
    "HookKind",
    "HookSpec",
    "Hooks",
    "Mode",
    "OnUnverified",
    "Pause",
    "SetWeight",
    "Step",
    "Strategy",
    "StrategySeconds",
    "WallSeconds",
    "format_duration",
    "is_preset_name",
    "load_strategy_file",
    "load_strategy_text",
    "parse_analysis_settings",
    "parse_hook",
    "parse_step",
    "parse_strategy",
    "preset",
    "resolve_strategy",
    "strategy_from_deployment_preference",
    "with_mode",
    "with_time_scale",
]

_FILE_SUFFIXES = (".yaml", ".yml", ".json")
_SAM_HOOKS = {"PreTraffic": "pre_traffic", "PostTraffic": "post_traffic"}


def load_strategy_text(text: str, *, source: str = "strategy") -> Strategy:
    """Parse a YAML or JSON document. Errors are prefixed with ``source`` (e.g. a file name)."""
    try:
        data: Any = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise StrategyError(
            f"{source}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except yaml.YAMLError as exc:
        raise StrategyError(f"{source}: not valid YAML: {_yaml_problem(exc)}") from None
    if data is None:
        raise StrategyError(f"{source}: is empty: write a mapping such as 'preset: AllAtOnce'")
    try:
        return parse_strategy(data)
    except StrategyError as exc:
        raise StrategyError(f"{source}: {exc.message}") from None


def load_strategy_file(path: str | Path) -> Strategy:
    """Parse a YAML (``.yaml``/``.yml``) or JSON strategy file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StrategyError(f"strategy file '{file}' does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StrategyError(f"strategy file '{file}' cannot be read: {exc}") from None
    return load_strategy_text(text, source=str(file))


def resolve_strategy(reference: str | None) -> Strategy:
    """``--strategy NAME|FILE``: a preset name, else an existing file; None → the default.

    A reference that is neither a known name nor an existing file raises the unknown-preset
    error (with a did-you-mean), or, if it looks like a file name, a missing-file error.
    """
    if reference is None or not reference.strip():
        return preset(DEFAULT_STRATEGY)
    if is_preset_name(reference):
        return preset(reference)
    if Path(reference).is_file():
        return load_strategy_file(reference)
    if reference.endswith(_FILE_SUFFIXES) or "/" in reference:
        raise StrategyError(f"strategy file '{reference}' does not exist")
    raise StrategyError(
        unknown_preset_message(reference), hint="--strategy also takes a YAML or JSON file path"
    )


def strategy_from_deployment_preference(
    type_name: str,
    alarms: Sequence[str] = (),
    hooks: Mapping[str, str] | None = None,
) -> Strategy:
    """A SAM ``DeploymentPreference`` (``Type``, ``Alarms``, ``Hooks``) as a strategy.

    ``Type`` must name a preset (short or ``CodeDeployDefault.Lambda``-prefixed, or
    ``apicanary.Progressive``): a custom CodeDeploy configuration cannot be read from the
    template, so it is refused with a pointer to ``--strategy FILE``. ``Hooks`` maps
    ``PreTraffic``/``PostTraffic`` to function names (as the SAM loader resolved them); they
    become function hooks with CodeDeploy's one-hour timeout. Mode is ``alias``, as with
    CodeDeploy. Errors name the ``DeploymentPreference`` property.
    """
    if not isinstance(type_name, str) or canonical_preset_name(type_name) is None:
        shown = type_name if isinstance(type_name, str) else check.show(type_name)
        raise StrategyError(
            f"DeploymentPreference.Type: {unknown_preset_message(shown)}",
            hint="a custom CodeDeploy deployment configuration cannot be read from the "
            "template: pass --strategy FILE with the equivalent steps",
        )
    names = _sam_alarms(alarms)
    found: dict[str, HookSpec] = {}
    for key, target in (hooks or {}).items():
        if key not in _SAM_HOOKS:
            raise StrategyError(
                f"DeploymentPreference.Hooks: unknown key {check.show(key)}; allowed: "
                f"{', '.join(_SAM_HOOKS)}{did_you_mean(str(key), _SAM_HOOKS)}"
            )
        function = _sam_leaf(check.function_name, target, f"DeploymentPreference.Hooks.{key}")
        found[_SAM_HOOKS[key]] = HookSpec(
            HookKind.FUNCTION, function, DEFAULT_FUNCTION_HOOK_TIMEOUT
        )
    base = preset(type_name, mode=Mode.ALIAS)
    return Strategy(
        name=base.name,
        steps=base.steps,
        hooks=Hooks(found.get("pre_traffic"), found.get("post_traffic")),
        alarms=names,
        mode=Mode.ALIAS,
    )


def _sam_alarms(alarms: Sequence[str]) -> tuple[str, ...]:
    if isinstance(alarms, str) or not isinstance(alarms, Sequence):
        raise StrategyError(
            f"DeploymentPreference.Alarms: {check.show(alarms)} is not a list: "
            "must be a list of alarm names"
        )
    names: list[str] = []
    for index, name in enumerate(alarms):
        path = f"DeploymentPreference.Alarms[{index}]"
        value = _sam_leaf(check.alarm_name, name, path)
        if value not in names:  # CodeDeploy tolerates repeats; so do we
            names.append(value)
    return tuple(names)


def _sam_leaf(fn: Callable[[object], str], value: object, path: str) -> str:
    try:
        result: str = fn(value)
    except check.Invalid as exc:
        raise StrategyError(f"{path}: {exc.message}") from None
    return result


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return str(problem)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
