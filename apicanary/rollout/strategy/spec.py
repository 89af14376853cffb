"""The pydantic models of a strategy spec: one per mapping, keys exactly as the user writes
them (did-you-mean on an unknown one), every leaf checked by ``checks.py`` with its message
kept verbatim. Each model turns itself into the frozen value it describes (``types.py``);
``parse.py`` runs them, renders their errors with paths and applies the cross-field rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from apicanary.rollout.strategy import checks as check
from apicanary.rollout.strategy.durations import StrategySeconds, WallSeconds
from apicanary.rollout.strategy.suggest import did_you_mean
from apicanary.rollout.strategy.types import (
    DEFAULT_FUNCTION_HOOK_TIMEOUT,
    DEFAULT_WEBHOOK_TIMEOUT,
    Analysis,
    AnalysisOverrides,
    Approval,
    HookKind,
    HookSpec,
    Mode,
    OnUnverified,
    Pause,
    SetWeight,
    Step,
)

_T = TypeVar("_T")
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


class SpecModel(BaseModel):
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


class AnalysisModel(SpecModel):
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


class PauseModel(SpecModel):
    _not_mapping: ClassVar[str] = "must be {duration: 5m}, or {} to pause until resumed"

    duration: Annotated[
        float | None, _checked(lambda v: None if v is None else check.pause_duration(v))
    ] = None


class ApprovalModel(SpecModel):
    _not_mapping: ClassVar[str] = "must be {} (approval takes no settings)"


class StepModel(SpecModel):
    _unknown: ClassVar[str] = "unknown step"
    _not_mapping: ClassVar[str] = f"must be one of {_STEP_FORMS}"

    set_weight: Annotated[float | None, _checked(check.weight)] = Field(None, alias="setWeight")
    pause: Annotated[PauseModel | None, BeforeValidator(_present)] = None
    analysis: Annotated[AnalysisModel | None, BeforeValidator(_present)] = None
    approval: Annotated[ApprovalModel | None, BeforeValidator(_present)] = None

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


class HookModel(SpecModel):
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


class HooksModel(SpecModel):
    _not_mapping: ClassVar[str] = "must be a mapping with preTraffic and/or postTraffic"

    pre_traffic: HookModel | None = Field(None, alias="preTraffic")
    post_traffic: HookModel | None = Field(None, alias="postTraffic")


class StrategyModel(SpecModel):
    _unknown: ClassVar[str] = "unknown top-level key"
    _not_mapping: ClassVar[str] = "a strategy must be a mapping (name, steps, analysis, ...)"

    name: Annotated[str | None, _checked(lambda v: check.text(v, "a strategy name", 128))] = None
    preset: Annotated[str | None, _checked(lambda v: check.text(v, "a preset name", 128))] = None
    steps: Annotated[tuple[StepModel, ...] | None, _list_of("steps")] = None
    analysis: AnalysisModel | None = None
    hooks: HooksModel | None = None
    alarms: Annotated[tuple[_AlarmName, ...], _list_of("alarm names", unique=True)] = ()
    notifications: Annotated[tuple[_Url, ...], _list_of("webhook URLs", unique=True)] = ()
    mode: Annotated[Mode | None, _checked(lambda v: None if v is None else check.mode(v))] = None
    allow_both: Annotated[bool, _checked(check.flag)] = Field(False, alias="allowBoth")
    allow_weight_decrease: Annotated[bool, _checked(check.flag)] = Field(
        False, alias="allowWeightDecrease"
    )
    time_scale: Annotated[float, _checked(check.time_scale)] = Field(1.0, alias="timeScale")
