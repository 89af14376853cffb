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
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from apicanary.errors import StrategyError
from apicanary.rollout.strategy import checks as check
from apicanary.rollout.strategy.durations import StrategySeconds, WallSeconds
from apicanary.rollout.strategy.presets import PROGRESSIVE, canonical_preset_name, preset_steps
from apicanary.rollout.strategy.suggest import did_you_mean
from apicanary.rollout.strategy.types import (
    DEFAULT_FUNCTION_HOOK_TIMEOUT,
    DEFAULT_WEBHOOK_TIMEOUT,
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

_T = TypeVar("_T")
_MAX_PROBLEMS = 5
_STEP_FORMS = (
    "{setWeight: 0..100}, {pause: {duration: 5m}}, {pause: {}}, {analysis: {}} or {approval: {}}"
)


def _checked(fn: Callable[[Any], _T]) -> BeforeValidator:
    """A pydantic before-validator running ``fn``, its message kept verbatim."""

    def run(value: Any) -> _T:
        try:
            return fn(value)
        except check.Invalid as exc:
            raise PydanticCustomError("strategy", exc.message) from None

    return BeforeValidator(run)


def _list_of(what: str, *, unique: bool = False) -> BeforeValidator:
    """A before-validator requiring a list (or tuple); ``unique``: no value twice."""

    def run(value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise PydanticCustomError(
                "strategy", f"{check.show(value)} is not a list: must be a list of {what}"
            )
        if unique:
            seen: list[object] = []
            for item in value:
                comparable = isinstance(item, str | int | float) and not isinstance(item, bool)
                if comparable and item in seen:
                    raise PydanticCustomError(
                        "strategy", f"{check.show(item)} is listed twice: list each at most once"
                    )
                seen.append(item)
        return tuple(value)

    return BeforeValidator(run)


def _present(value: Any) -> Any:
    """For ``pause:`` / ``approval:`` written with nothing after the colon (YAML null)."""
    return {} if value is None else value


_Percentile = Annotated[float, _checked(check.percentile)]
_AlarmName = Annotated[str, _checked(check.alarm_name)]
_Url = Annotated[str, _checked(check.url)]


class _Spec(BaseModel):
    """Base: a mapping whose keys are exactly the fields' aliases (did-you-mean otherwise)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)
    _unknown: ClassVar[str] = "unknown key"
    _not_mapping: ClassVar[str] = "must be a mapping"

    @classmethod
    def _keys(cls) -> list[str]:
        return [info.alias or name for name, info in cls.model_fields.items()]

    @classmethod
    def _prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Cross-key checks on the raw mapping (after the keys were checked)."""
        return data

    @model_validator(mode="before")
    @classmethod
    def _check_keys(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise PydanticCustomError(
                "strategy", f"{check.show(data)} is not a mapping: {cls._not_mapping}"
            )
        allowed = cls._keys()
        for key in data:
            if key not in allowed:
                hint = did_you_mean(key, allowed) if isinstance(key, str) else ""
                raise PydanticCustomError(
                    "strategy",
                    f"{cls._unknown} {check.show(key)}; allowed: "
                    f"{', '.join(allowed) or '(none)'}{hint}",
                )
        return cls._prepare(dict(data))


class _AnalysisSpec(_Spec):
    _not_mapping: ClassVar[str] = "must be a mapping of analysis settings, e.g. {minDwell: 2m}"

    alpha: Annotated[float | None, _checked(check.alpha)] = None
    min_regression: Annotated[float | None, _checked(check.min_regression)] = Field(
        None, alias="minRegression"
    )
    latency_percentiles: Annotated[
        tuple[_Percentile, ...] | None, _list_of("percentiles", unique=True)
    ] = Field(None, alias="latencyPercentiles")
    on_unverified: Annotated[OnUnverified | None, _checked(check.on_unverified)] = Field(
        None, alias="onUnverified"
    )
    min_dwell: Annotated[float | None, _checked(check.dwell)] = Field(None, alias="minDwell")
    max_extension: Annotated[float | None, _checked(check.dwell)] = Field(
        None, alias="maxExtension"
    )

    def overrides(self) -> AnalysisOverrides:
        percentiles = self.latency_percentiles
        return AnalysisOverrides(
            alpha=self.alpha,
            min_regression=self.min_regression,
            latency_percentiles=None if percentiles is None else tuple(sorted(percentiles)),
            on_unverified=self.on_unverified,
            min_dwell=None if self.min_dwell is None else StrategySeconds(self.min_dwell),
            max_extension=None
            if self.max_extension is None
            else StrategySeconds(self.max_extension),
        )


class _PauseSpec(_Spec):
    _not_mapping: ClassVar[str] = "must be {duration: 5m}, or {} to pause until resumed"

    duration: Annotated[
        float | None, _checked(lambda v: None if v is None else check.pause_duration(v))
    ] = None


class _ApprovalSpec(_Spec):
    _not_mapping: ClassVar[str] = "must be {} (approval takes no settings)"


class _StepSpec(_Spec):
    _unknown: ClassVar[str] = "unknown step"
    _not_mapping: ClassVar[str] = f"must be one of {_STEP_FORMS}"

    set_weight: Annotated[float | None, _checked(check.weight)] = Field(None, alias="setWeight")
    pause: Annotated[_PauseSpec | None, BeforeValidator(_present)] = None
    analysis: Annotated[_AnalysisSpec | None, BeforeValidator(_present)] = None
    approval: Annotated[_ApprovalSpec | None, BeforeValidator(_present)] = None

    @classmethod
    def _prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        if len(data) != 1:
            got = ", ".join(str(k) for k in data) or "nothing"
            raise PydanticCustomError(
                "strategy", f"a step has exactly one of {', '.join(cls._keys())}; got {got}"
            )
        return data

    def step(self) -> Step:
        if self.set_weight is not None:
            return SetWeight(self.set_weight)
        if self.pause is not None:
            duration = self.pause.duration
            return Pause(None if duration is None else StrategySeconds(duration))
        if self.analysis is not None:
            return Analysis(self.analysis.overrides())
        return Approval()


class _HookSpec(_Spec):
    _not_mapping: ClassVar[str] = "must be {function: Name} or {webhook: https://..., timeout: 30s}"

    function: Annotated[str | None, _checked(check.function_name)] = None
    webhook: Annotated[str | None, _checked(check.url)] = None
    timeout: Annotated[float | None, _checked(check.hook_timeout)] = None

    @classmethod
    def _prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        if ("function" in data) == ("webhook" in data):
            raise PydanticCustomError("strategy", "a hook has exactly one of function, webhook")
        return data

    def hook(self) -> HookSpec:
        if self.function is not None:
            timeout = self.timeout if self.timeout is not None else DEFAULT_FUNCTION_HOOK_TIMEOUT
            return HookSpec(HookKind.FUNCTION, self.function, WallSeconds(timeout))
        assert self.webhook is not None  # _prepare guarantees one of the two
        timeout = self.timeout if self.timeout is not None else DEFAULT_WEBHOOK_TIMEOUT
        return HookSpec(HookKind.WEBHOOK, self.webhook, WallSeconds(timeout))


class _HooksSpec(_Spec):
    _not_mapping: ClassVar[str] = "must be a mapping with preTraffic and/or postTraffic"

    pre_traffic: _HookSpec | None = Field(None, alias="preTraffic")
    post_traffic: _HookSpec | None = Field(None, alias="postTraffic")


class _StrategySpec(_Spec):
    _unknown: ClassVar[str] = "unknown top-level key"
    _not_mapping: ClassVar[str] = "a strategy must be a mapping (name, steps, analysis, ...)"

    name: Annotated[str | None, _checked(lambda v: check.text(v, "a strategy name", 128))] = None
    preset: Annotated[str | None, _checked(lambda v: check.text(v, "a preset name", 128))] = None
    steps: Annotated[tuple[_StepSpec, ...] | None, _list_of("steps")] = None
    analysis: _AnalysisSpec | None = None
    hooks: _HooksSpec | None = None
    alarms: Annotated[tuple[_AlarmName, ...], _list_of("alarm names", unique=True)] = ()
    notifications: Annotated[tuple[_Url, ...], _list_of("webhook URLs", unique=True)] = ()
    mode: Annotated[Mode | None, _checked(lambda v: None if v is None else check.mode(v))] = None
    allow_both: Annotated[bool, _checked(check.flag)] = Field(False, alias="allowBoth")
    allow_weight_decrease: Annotated[bool, _checked(check.flag)] = Field(
        False, alias="allowWeightDecrease"
    )
    time_scale: Annotated[float, _checked(check.time_scale)] = Field(1.0, alias="timeScale")


# --- entry points -------------------------------------------------------------------------

_M = TypeVar("_M", bound=_Spec)


def parse_strategy(spec: Mapping[str, Any] | Any) -> Strategy:
    """Validate a spec (already loaded from YAML/JSON, or a dict, or ``Strategy.to_dict()``)
    into a :class:`Strategy`."""
    parsed = _validate(_StrategySpec, spec, ())
    return _build(parsed)


def parse_analysis_settings(data: Mapping[str, Any] | Any) -> AnalysisSettings:
    """Validate analysis settings (spec spelling, e.g. ``AnalysisSettings.to_dict()``);
    missing keys take the defaults."""
    parsed = _validate(_AnalysisSpec, data, ("analysis",))
    return parsed.overrides().apply(AnalysisSettings())


def parse_hook(data: Mapping[str, Any] | Any, path: str = "hook") -> HookSpec:
    """Validate one hook, ``{function: Name}`` or ``{webhook: url, timeout: 30s}`` (also the
    persisted form, ``HookSpec.to_dict()``)."""
    return _validate(_HookSpec, data, (path,)).hook()


def parse_step(data: Mapping[str, Any] | Any, path: str = "step") -> Step:
    """Validate one step, e.g. ``{setWeight: 10}`` or a step's ``to_dict()`` (no cross-step
    rules apply)."""
    return _validate(_StepSpec, data, (path,)).step()


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


def _build(spec: _StrategySpec) -> Strategy:
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


def _checked_steps(specs: tuple[_StepSpec, ...], allow_decrease: bool) -> tuple[Step, ...]:
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
