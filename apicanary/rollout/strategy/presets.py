"""Named strategies: the nine CodeDeploy Lambda presets and apicanary's own default.

CodeDeploy presets are accepted with or without the ``CodeDeployDefault.Lambda`` prefix
(``Canary10Percent5Minutes`` = ``CodeDeployDefault.LambdaCanary10Percent5Minutes``) and expand
to the traffic CodeDeploy shifts, as pauses (no promotion guard, as in CodeDeploy; rollback
detection still runs throughout):

- ``Canary10Percent{N}Minutes``: 10 %, hold N min, 100 %.
- ``Linear10PercentEvery{N}Minute(s)``: 10 %, hold N min, 20 %, hold N min, … 90 %, hold N min,
  100 %. Ten shifts of 10 % at the start of each interval, so traffic reaches 100 % after
  9 x N min. (AWS leaves the end time open; SAM's docs say Linear10PercentEvery10Minutes
  "completes in 100 minutes", i.e. counting the interval that starts at 100 %. We promote
  when the last shift happens rather than idle at 100 %.)
- ``AllAtOnce``: 100 % at once (hooks still run).

``apicanary.Progressive`` (also ``Progressive``) is the default: 10 % → 25 % → 50 % → 100 %
with an analysis step at each weight, i.e. every weight is held until the promotion guard
passes (at least ``minDwell``, 60 s by default, and enough canary requests to rule out a
5x error-rate regression), at most ``maxExtension`` (30 min) longer.

Names are case-sensitive; unknown names raise ``StrategyError`` listing the known ones with a
did-you-mean suggestion.
"""

from __future__ import annotations

from apicanary.errors import StrategyError
from apicanary.rollout.strategy.durations import StrategySeconds
from apicanary.rollout.strategy.suggest import closest
from apicanary.rollout.strategy.types import Analysis, Mode, Pause, SetWeight, Step, Strategy

CODEDEPLOY_PREFIX = "CodeDeployDefault.Lambda"
PROGRESSIVE = "apicanary.Progressive"
DEFAULT_STRATEGY = PROGRESSIVE

_CANARY_MINUTES = {
    "Canary10Percent5Minutes": 5,
    "Canary10Percent10Minutes": 10,
    "Canary10Percent15Minutes": 15,
    "Canary10Percent30Minutes": 30,
}
_LINEAR_MINUTES = {
    "Linear10PercentEvery1Minute": 1,
    "Linear10PercentEvery2Minutes": 2,
    "Linear10PercentEvery3Minutes": 3,
    "Linear10PercentEvery10Minutes": 10,
}

CODEDEPLOY_PRESETS: tuple[str, ...] = (*_CANARY_MINUTES, *_LINEAR_MINUTES, "AllAtOnce")
"""Short names of the CodeDeploy Lambda presets (prefix them with CODEDEPLOY_PREFIX for AWS)."""

PRESET_NAMES: tuple[str, ...] = (*CODEDEPLOY_PRESETS, PROGRESSIVE)
"""Every name :func:`preset` knows, in its shortest accepted spelling."""


def canonical_preset_name(name: str) -> str | None:
    """The canonical name (``CodeDeployDefault.Lambda…`` or ``apicanary.Progressive``), or None."""
    short = name.removeprefix(CODEDEPLOY_PREFIX)
    if short in CODEDEPLOY_PRESETS:
        return CODEDEPLOY_PREFIX + short
    if name in (PROGRESSIVE, "Progressive"):
        return PROGRESSIVE
    return None


def is_preset_name(name: str) -> bool:
    """True if :func:`preset` accepts ``name``."""
    return canonical_preset_name(name) is not None


def unknown_preset_message(name: str) -> str:
    """``unknown preset 'X'; known presets: …`` with a did-you-mean suggestion."""
    short = name.removeprefix(CODEDEPLOY_PREFIX).removeprefix("CodeDeployDefault.")
    suggestion = closest(short, PRESET_NAMES)
    return (
        f"unknown preset {name!r}; known presets: {', '.join(PRESET_NAMES)} "
        f"(CodeDeploy ones also with the {CODEDEPLOY_PREFIX!r} prefix)"
        + (f"; did you mean {suggestion!r}?" if suggestion else "")
    )


def preset_steps(name: str) -> tuple[Step, ...]:
    """The steps of the preset ``name``; ``StrategyError`` if unknown."""
    canonical = canonical_preset_name(name)
    if canonical is None:
        raise StrategyError(unknown_preset_message(name))
    short = canonical.removeprefix(CODEDEPLOY_PREFIX)
    if short in _CANARY_MINUTES:
        hold = Pause(StrategySeconds(_CANARY_MINUTES[short] * 60.0))
        return (SetWeight(10.0), hold, SetWeight(100.0))
    if short in _LINEAR_MINUTES:
        hold = Pause(StrategySeconds(_LINEAR_MINUTES[short] * 60.0))
        ramp: list[Step] = []
        for weight in range(10, 100, 10):
            ramp += [SetWeight(float(weight)), hold]
        return (*ramp, SetWeight(100.0))
    if short == "AllAtOnce":
        return (SetWeight(100.0),)
    return (
        SetWeight(10.0), Analysis(), SetWeight(25.0), Analysis(),
        SetWeight(50.0), Analysis(), SetWeight(100.0),
    )  # fmt: skip


def preset(name: str, *, mode: Mode | None = None) -> Strategy:
    """The preset ``name`` as a strategy with default settings, named canonically."""
    steps = preset_steps(name)
    canonical = canonical_preset_name(name)
    assert canonical is not None  # preset_steps raised otherwise
    return Strategy(name=canonical, steps=steps, mode=mode)
