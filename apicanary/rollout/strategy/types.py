"""Frozen value types of a rollout strategy, their persisted form and their one-line summary.

A :class:`Strategy` is an ordered tuple of steps plus settings. Step semantics, for the
controller (rollback detection — the sequential tests and the alarms — runs during *every*
step while the canary weight is above 0; steps only decide when to move forward):

- :class:`SetWeight` — send ``weight`` % of traffic to the canary (absolute, idempotent).
- :class:`Pause` — hold the current weight for ``duration`` strategy seconds, or until an
  operator resumes/promotes when ``duration`` is None.
- :class:`Analysis` — hold the current weight until the promotion guard is met: at least
  ``min_dwell`` has passed *and* the canary has served enough requests to rule out a
  regression of ``min_regression`` times the stable error rate. If that has not happened after
  ``min_dwell + max_extension``, apply ``on_unverified``. Only valid at a weight strictly
  between 0 and 100 (there must be two arms to compare).
- :class:`Approval` — hold until an operator promotes.

After the last step the controller promotes. The parser guarantees the last ``SetWeight``
is 100 (appending one if the spec stops short), so a strategy's steps may continue after 100
only as a post-shift bake at full weight, with the stable version still the fallback.

Persisted form (:meth:`Strategy.to_dict`): JSON-able, every setting spelled out (so a
journal keeps its meaning when defaults change), durations as plain seconds, and itself a
valid user spec. ``parse.parse_strategy`` validates it like any spec, and
``parse_strategy(s.to_dict()) == s`` for every strategy the parser produces.

This module is the leaf of the package: values only, no validation (``parse.py`` and
``checks.py`` build and check them), so nothing here imports the parser.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

from apicanary.platform.base import Mode as Mode  # re-exported: part of a strategy's vocabulary
from apicanary.rollout.strategy.durations import StrategySeconds, WallSeconds, format_duration


class OnUnverified(StrEnum):
    """What an analysis step does when the promotion guard is not met in time.

    ``stop``: do not advance; hold the weight and wait for an operator (promote or abort).
    ``promote-unverified``: advance anyway and record the step as unverified below
    ``min_regression``.
    """

    STOP = "stop"
    PROMOTE_UNVERIFIED = "promote-unverified"


class HookKind(StrEnum):
    """How a lifecycle hook is run: a Lambda function (CodeDeploy style) or a webhook."""

    FUNCTION = "function"
    WEBHOOK = "webhook"


DEFAULT_ALPHA = 0.01
DEFAULT_MIN_REGRESSION = 5.0
DEFAULT_LATENCY_PERCENTILES: tuple[float, ...] = (90.0, 99.0)
DEFAULT_MIN_DWELL = StrategySeconds(60.0)
DEFAULT_MAX_EXTENSION = StrategySeconds(1800.0)
DEFAULT_FUNCTION_HOOK_TIMEOUT = WallSeconds(3600.0)
DEFAULT_WEBHOOK_TIMEOUT = WallSeconds(30.0)

ANALYSIS_KEYS: dict[str, str] = {
    "alpha": "alpha",
    "min_regression": "minRegression",
    "latency_percentiles": "latencyPercentiles",
    "on_unverified": "onUnverified",
    "min_dwell": "minDwell",
    "max_extension": "maxExtension",
}
"""Field name → spec key, for analysis settings and their per-step overrides."""


@dataclass(frozen=True)
class AnalysisSettings:
    """How the canary is judged.

    Statistical requirements — counted in requests, never scaled by the time scale:
      ``alpha``: false-rollback budget for the whole rollout (the analysis splits it between
      its error and latency tests); ``min_regression``: the smallest regression of interest,
      as a multiple of the stable error rate, that the promotion guard must be able to rule
      out; ``latency_percentiles``: the stable-version percentiles whose exceedances the
      latency test watches (empty: latency not watched).
    Timing — :data:`StrategySeconds`, scaled by the time scale:
      ``min_dwell``: least time an analysis step holds its weight; ``max_extension``: how much
      longer than ``min_dwell`` it may wait for the guard before ``on_unverified`` applies.
    """

    alpha: float = DEFAULT_ALPHA
    min_regression: float = DEFAULT_MIN_REGRESSION
    latency_percentiles: tuple[float, ...] = DEFAULT_LATENCY_PERCENTILES
    on_unverified: OnUnverified = OnUnverified.STOP
    min_dwell: StrategySeconds = DEFAULT_MIN_DWELL
    max_extension: StrategySeconds = DEFAULT_MAX_EXTENSION

    def to_dict(self) -> dict[str, Any]:
        """Every setting, spec spelling, durations in seconds."""
        return {key: _plain(getattr(self, name)) for name, key in ANALYSIS_KEYS.items()}


@dataclass(frozen=True)
class AnalysisOverrides:
    """Per-step overrides of :class:`AnalysisSettings`; ``None`` keeps the strategy's value."""

    alpha: float | None = None
    min_regression: float | None = None
    latency_percentiles: tuple[float, ...] | None = None
    on_unverified: OnUnverified | None = None
    min_dwell: StrategySeconds | None = None
    max_extension: StrategySeconds | None = None

    def apply(self, base: AnalysisSettings) -> AnalysisSettings:
        """``base`` with every non-None override applied."""
        changes = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }
        return dataclasses.replace(base, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Only the keys that are set, in spec spelling."""
        return {
            key: _plain(getattr(self, name))
            for name, key in ANALYSIS_KEYS.items()
            if getattr(self, name) is not None
        }


def _plain(value: object) -> object:
    """A JSON-able spelling of a settings value (tuples → lists, enums → their value)."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


@dataclass(frozen=True)
class SetWeight:
    """Send ``weight`` % (0..100) of the traffic to the canary."""

    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"setWeight": self.weight}

    def describe(self) -> str:
        return f"{self.weight:g}%"


@dataclass(frozen=True)
class Pause:
    """Hold the current weight for ``duration`` strategy seconds; None: until resumed."""

    duration: StrategySeconds | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"pause": {} if self.duration is None else {"duration": self.duration}}

    def describe(self) -> str:
        if self.duration is None:
            return "until resumed"
        return f"for {format_duration(self.duration)}"


@dataclass(frozen=True)
class Analysis:
    """Hold the current weight until the promotion guard passes (see the module docstring)."""

    overrides: AnalysisOverrides = field(default_factory=AnalysisOverrides)

    def to_dict(self) -> dict[str, Any]:
        return {"analysis": self.overrides.to_dict()}

    def describe(self) -> str:
        return "with analysis"


@dataclass(frozen=True)
class Approval:
    """Hold the current weight until an operator promotes."""

    def to_dict(self) -> dict[str, Any]:
        return {"approval": {}}

    def describe(self) -> str:
        return "until approved"


Step: TypeAlias = SetWeight | Pause | Analysis | Approval


@dataclass(frozen=True)
class HookSpec:
    """A lifecycle hook: a Lambda function name/ARN or an http(s) webhook URL.

    ``timeout`` is wall time (:data:`WallSeconds`), never scaled: a real hook needs real time.
    A function hook follows CodeDeploy (the hook reports its status back; default 1 h); a
    webhook must answer 2xx within ``timeout`` (default 30 s).
    """

    kind: HookKind
    target: str
    timeout: WallSeconds

    def to_dict(self) -> dict[str, Any]:
        return {self.kind.value: self.target, "timeout": self.timeout}

    def describe(self) -> str:
        return f"{self.kind.value} {self.target}"


@dataclass(frozen=True)
class Hooks:
    """Lifecycle hooks, as CodeDeploy's BeforeAllowTraffic / AfterAllowTraffic.

    ``pre_traffic`` runs once before the first traffic shift; ``post_traffic`` once after
    the last step, before the rollout counts as succeeded. A failed or timed-out hook rolls
    the rollout back.
    """

    pre_traffic: HookSpec | None = None
    post_traffic: HookSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.pre_traffic is not None:
            out["preTraffic"] = self.pre_traffic.to_dict()
        if self.post_traffic is not None:
            out["postTraffic"] = self.post_traffic.to_dict()
        return out


@dataclass(frozen=True)
class Strategy:
    """A validated rollout strategy. Build one with the parser or a preset, not by hand.

    ``mode`` None means the strategy does not say: the caller decides (``--mode``, or the
    template). ``time_scale`` is strategy seconds per wall second; it applies to
    :data:`StrategySeconds` only (see :meth:`wall_seconds`).
    """

    name: str
    steps: tuple[Step, ...]
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    hooks: Hooks = field(default_factory=Hooks)
    alarms: tuple[str, ...] = ()
    notifications: tuple[str, ...] = ()
    mode: Mode | None = None
    allow_weight_decrease: bool = False
    time_scale: float = 1.0

    # --- queries --------------------------------------------------------------------------

    def step_settings(self, index: int) -> AnalysisSettings:
        """Effective analysis settings while step ``index`` runs (its overrides applied)."""
        step = self.steps[index]
        if isinstance(step, Analysis):
            return step.overrides.apply(self.analysis)
        return self.analysis

    def weight_at(self, index: int) -> float:
        """Canary weight in effect once step ``index`` has been applied (0 before any)."""
        weight = 0.0
        for step in self.steps[: index + 1]:
            if isinstance(step, SetWeight):
                weight = step.weight
        return weight

    def weights(self) -> tuple[float, ...]:
        """The ``SetWeight`` targets, in order."""
        return tuple(s.weight for s in self.steps if isinstance(s, SetWeight))

    def minimum_duration(self) -> StrategySeconds:
        """Least strategy time the steps take: pauses plus analysis minimum dwell.

        Waits for an operator (indefinite pauses, approvals) and analysis extensions count 0.
        """
        total = 0.0
        for index, step in enumerate(self.steps):
            if isinstance(step, Pause) and step.duration is not None:
                total += step.duration
            elif isinstance(step, Analysis):
                total += self.step_settings(index).min_dwell
        return StrategySeconds(total)

    def wall_seconds(self, duration: StrategySeconds) -> float:
        """Wall seconds a strategy duration lasts under this strategy's time scale."""
        return duration / self.time_scale

    # --- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-able persisted form; also a valid user spec (see the module docstring)."""
        out: dict[str, Any] = {
            "name": self.name,
            "steps": [step.to_dict() for step in self.steps],
            "analysis": self.analysis.to_dict(),
            "hooks": self.hooks.to_dict(),
            "alarms": list(self.alarms),
            "notifications": list(self.notifications),
            "mode": None if self.mode is None else self.mode.value,
            "allowWeightDecrease": self.allow_weight_decrease,
            "timeScale": self.time_scale,
        }
        if self.mode is Mode.BOTH:
            out["allowBoth"] = True
        return out

    # --- summary --------------------------------------------------------------------------

    def describe(self) -> str:
        """One line, e.g. ``10% for 5m → 100%`` (+ hooks, alarms, mode, time scale if set)."""
        parts = [_describe_steps(self.steps)]
        if self.hooks.pre_traffic is not None:
            parts.append(f"pre-traffic {self.hooks.pre_traffic.describe()}")
        if self.hooks.post_traffic is not None:
            parts.append(f"post-traffic {self.hooks.post_traffic.describe()}")
        if self.alarms:
            parts.append("alarms " + ", ".join(self.alarms))
        if self.mode is not None:
            parts.append(f"mode {self.mode.value}")
        if self.time_scale != 1.0:
            parts.append(f"time scale {self.time_scale:g}")
        return "; ".join(parts)


def _describe_steps(steps: tuple[Step, ...]) -> str:
    """``10% for 5m → 100%``: each weight with what holds it, joined by arrows."""
    segments: list[tuple[float, list[str]]] = []
    for step in steps:
        if isinstance(step, SetWeight):
            segments.append((step.weight, []))
        else:
            if not segments:
                segments.append((0.0, []))
            segments[-1][1].append(step.describe())
    rendered = [
        f"{weight:g}%" + (" " + ", then ".join(holds) if holds else "")
        for weight, holds in segments
    ]
    return " → ".join(rendered) if rendered else "no steps"
