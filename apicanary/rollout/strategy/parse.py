"""User-facing strategy specs: pydantic validation, then frozen :class:`Strategy` values out.

Spec shape (YAML/JSON/dict; every key optional)::

    name: my-rollout                 # default: the preset's name, or "custom"
    preset: Canary10Percent5Minutes  # steps of a preset ... (not with `steps`)
    steps:                           # ... or your own; neither: apicanary.Progressive's
      - setWeight: 10                # 0..100
      - pause: {duration: 5m}        # timed; `pause: {}` waits until resumed
      - analysis: {minDwell: 2m}     # hold until verified; overrides `analysis` for this step
      - approval: {}                 # wait for a human promote
    analysis:
      alpha: 0.01                    # false-rollback budget, 0 < alpha <= 0.5
      minRegression: 5               # smallest regression of interest, x stable error rate
      latencyPercentiles: [90, 99]   # stable percentiles watched; [] = latency not watched
      minDwell: 60s                  # least time an analysis step holds (scaled)
      maxExtension: 30m              # longest wait past minDwell for the guard (scaled)
      onUnverified: stop             # or promote-unverified
    hooks:
      preTraffic: {function: CodeDeployHook_pre}             # timeout default 1h
      postTraffic: {webhook: https://ci/hook, timeout: 30s}  # timeout default 30s, max 1h
    alarms: [HighErrors]             # CloudWatch alarm names; any in ALARM rolls back
    notifications: [https://hooks.example/rollout]
    mode: alias                      # alias | stage | both; null: the caller decides
    allowBoth: false                 # `mode: both` requires true: the two weights multiply
    allowWeightDecrease: false       # by default setWeight values must not decrease
    timeScale: 1                     # strategy seconds per wall second (normally --time-scale)

Durations: seconds as a number, or ``"30s"``, ``"5m"``, ``"1h"``, ``"1h30m"``.

Rules beyond single values: weights never decrease unless ``allowWeightDecrease`` (a lower
weight is almost always a typo; rollback is the controller's job, not a step); an
``analysis`` step needs a weight strictly between 0 and 100 before it (two arms to
compare); if the weight in effect after the last step is below 100 a final
``setWeight: 100`` is appended, so every strategy ends fully shifted; an empty step list is
therefore all-at-once.

Every problem raises ``StrategyError`` naming the path, the value and what is allowed:
``steps[2].setWeight: 150 is out of range: must be 0..100``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from apicanary.errors import StrategyError
from apicanary.rollout.strategy import checks as check
from apicanary.rollout.strategy.presets import PROGRESSIVE, canonical_preset_name, preset_steps
from apicanary.rollout.strategy.spec import (
    AnalysisModel,
    HookModel,
    SpecModel,
    StepModel,
    StrategyModel,
)
from apicanary.rollout.strategy.types import (
    Analysis,
    AnalysisSettings,
    Hooks,
    HookSpec,
    Mode,
    SetWeight,
    Step,
    Strategy,
)

_T = TypeVar("_T")
_M = TypeVar("_M", bound=SpecModel)
_MAX_PROBLEMS = 5

# --- entry points -------------------------------------------------------------------------


def parse_strategy(spec: Mapping[str, Any] | Any) -> Strategy:
    """Validate a spec (already loaded from YAML/JSON, or a dict, or ``Strategy.to_dict()``)
    into a :class:`Strategy`."""
    parsed = _validate(StrategyModel, spec, ())
    return _build(parsed)


def parse_analysis_settings(data: Mapping[str, Any] | Any) -> AnalysisSettings:
    """Validate analysis settings (spec spelling, e.g. ``AnalysisSettings.to_dict()``);
    missing keys take the defaults."""
    parsed = _validate(AnalysisModel, data, ("analysis",))
    return parsed.overrides().apply(AnalysisSettings())


def parse_hook(data: Mapping[str, Any] | Any, path: str = "hook") -> HookSpec:
    """Validate one hook, ``{function: Name}`` or ``{webhook: url, timeout: 30s}`` (also the
    persisted form, ``HookSpec.to_dict()``)."""
    return _validate(HookModel, data, (path,)).hook()


def parse_step(data: Mapping[str, Any] | Any, path: str = "step") -> Step:
    """Validate one step, e.g. ``{setWeight: 10}`` or a step's ``to_dict()`` (no cross-step
    rules apply)."""
    return _validate(StepModel, data, (path,)).step()


def with_time_scale(strategy: Strategy, time_scale: object) -> Strategy:
    """``strategy`` under another time scale (validated: finite and > 0)."""
    return dataclasses.replace(strategy, time_scale=check_time_scale(time_scale, "time scale"))


def with_mode(strategy: Strategy, mode: Mode | str, *, allow_both: bool = False) -> Strategy:
    """``strategy`` with ``mode`` set; ``both`` is refused unless ``allow_both``."""
    return dataclasses.replace(strategy, mode=check_mode(mode, allow_both, "mode"))


def check_time_scale(value: object, path: str) -> float:
    """A valid time scale, or ``StrategyError`` naming ``path``."""
    return _leaf(check.time_scale, value, path)


def check_mode(value: object, allow_both: bool, path: str) -> Mode:
    """A valid mode; ``both`` only with ``allow_both`` (the two weights multiply)."""
    result = _leaf(check.mode, value.value if isinstance(value, Mode) else value, path)
    if result is Mode.BOTH and not allow_both:
        raise StrategyError(f"{path}: {_BOTH_REFUSED}")
    return result


_BOTH_REFUSED = (
    "'both' needs allowBoth: true: the stage canary and the alias weights multiply "
    "(a 10% stage canary routed to a 50% alias sends 5% of requests to the new version)"
)


# --- plumbing -----------------------------------------------------------------------------


def _leaf(fn: Callable[[Any], _T], value: object, path: str) -> _T:
    try:
        return fn(value)
    except check.Invalid as exc:
        raise StrategyError(f"{path}: {exc.message}") from None


def _validate(model: type[_M], data: Any, root: tuple[str | int, ...]) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err, root) for err in exc.errors()]
        shown = "; ".join(problems[:_MAX_PROBLEMS])
        if len(problems) > _MAX_PROBLEMS:
            shown += f"; and {len(problems) - _MAX_PROBLEMS} more problems"
        raise StrategyError(shown) from None


def _problem(err: ErrorDetails, root: tuple[str | int, ...]) -> str:
    path = render_path((*root, *err["loc"]))
    if err["type"] == "strategy":
        message = err["msg"]
    elif err["type"] == "missing":
        message = "is required"
    else:  # not expected: every leaf has its own check; keep pydantic's words
        message = f"{check.show(err['input'])} is not valid: {err['msg']}"
    return f"{path}: {message}" if path else message


def render_path(loc: tuple[str | int, ...]) -> str:
    """``('steps', 2, 'setWeight')`` → ``steps[2].setWeight``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _build(spec: StrategyModel) -> Strategy:
    """Cross-field rules (module docstring), then the frozen value."""
    if spec.preset is not None and spec.steps is not None:
        raise StrategyError("preset: cannot be combined with steps: use one or the other")
    if spec.mode is Mode.BOTH and not spec.allow_both:
        raise StrategyError(f"mode: {_BOTH_REFUSED}")
    if spec.steps is not None:
        steps = _checked_steps(spec.steps, spec.allow_weight_decrease)
        default_name = "custom"
    else:
        chosen = spec.preset if spec.preset is not None else PROGRESSIVE
        try:
            steps = preset_steps(chosen)
        except StrategyError as exc:
            raise StrategyError(f"preset: {exc.message}") from None
        default_name = canonical_preset_name(chosen) or chosen
    analysis = (
        spec.analysis.overrides().apply(AnalysisSettings()) if spec.analysis else AnalysisSettings()
    )
    hooks = Hooks()
    if spec.hooks is not None:
        pre, post = spec.hooks.pre_traffic, spec.hooks.post_traffic
        hooks = Hooks(None if pre is None else pre.hook(), None if post is None else post.hook())
    return Strategy(
        name=spec.name if spec.name is not None else default_name,
        steps=steps,
        analysis=analysis,
        hooks=hooks,
        alarms=spec.alarms,
        notifications=spec.notifications,
        mode=spec.mode,
        allow_weight_decrease=spec.allow_weight_decrease,
        time_scale=spec.time_scale,
    )


def _checked_steps(specs: tuple[StepModel, ...], allow_decrease: bool) -> tuple[Step, ...]:
    steps: list[Step] = []
    weight = 0.0
    for index, spec in enumerate(specs):
        step = spec.step()
        if isinstance(step, SetWeight):
            if step.weight < weight and not allow_decrease:
                raise StrategyError(
                    f"steps[{index}].setWeight: {check.show(step.weight)} is lower than the "
                    f"previous weight {check.show(weight)}: weights must not decrease "
                    "(set allowWeightDecrease: true to allow it)"
                )
            weight = step.weight
        elif isinstance(step, Analysis) and not 0.0 < weight < 100.0:
            raise StrategyError(
                f"steps[{index}].analysis: the weight here is {check.show(weight)}: analysis "
                "compares canary and stable traffic, so it needs a setWeight strictly "
                "between 0 and 100 before it"
            )
        steps.append(step)
    if weight < 100.0:
        steps.append(SetWeight(100.0))
    return tuple(steps)
