"""Starting rollouts from a request (JSON API, CLI, ``deploy``): validation and defaults.

A start request names the function and alias, the version to release, the traffic mode, and
a strategy (a preset name, a file, an inline spec, or the function's SAM
DeploymentPreference). This module resolves all of that into a :class:`RolloutTarget` and a
:class:`Strategy` and asks the controller to start; the ``from`` version is whatever the
alias serves now. Every bad field is a :class:`BadInputError` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apicanary.errors import BadInputError
from apicanary.platform.base import Platform
from apicanary.rollout.controller import Controller
from apicanary.rollout.strategy.resolve import (
    parse_strategy,
    resolve_strategy,
    strategy_from_deployment_preference,
    with_mode,
    with_time_scale,
)
from apicanary.rollout.strategy.types import Mode, Strategy
from apicanary.rollout.target import RolloutTarget, parse_mode

KNOWN_FIELDS = {
    "function", "alias", "toVersion", "mode", "api", "stage", "stageVariable", "strategy",
    "timeScale", "force", "alarms", "id", "retryOf",
}  # fmt: skip


def build_strategy(request: Mapping[str, Any]) -> Strategy:
    """The strategy a start request asks for, with its time scale and extra alarms."""
    spec = request.get("strategy")
    if isinstance(spec, Mapping):
        if "deploymentPreference" in spec:
            preference = spec["deploymentPreference"]
            strategy = strategy_from_deployment_preference(
                preference["type"], preference.get("alarms", ()), preference.get("hooks")
            )
        else:
            strategy = parse_strategy(spec)
    elif spec is None or isinstance(spec, str):
        strategy = resolve_strategy(spec)
    else:
        raise BadInputError(f"strategy: {spec!r} must be a name, a file or a mapping")
    scale = request.get("timeScale")
    if scale is not None:
        if not isinstance(scale, int | float) or isinstance(scale, bool) or not scale > 0:
            raise BadInputError(f"timeScale: {scale!r} must be a number > 0")
        strategy = with_time_scale(strategy, float(scale))
    extra = request.get("alarms") or []
    if extra:
        if not isinstance(extra, list) or not all(isinstance(a, str) for a in extra):
            raise BadInputError("alarms: must be a list of alarm names")
        merged = tuple(dict.fromkeys([*strategy.alarms, *extra]))
        strategy = parse_strategy({**strategy.to_dict(), "alarms": list(merged)})
    return strategy


def start_rollout(
    controller: Controller, platform: Platform, request: Mapping[str, Any]
) -> dict[str, Any]:
    """Validate ``request`` and start the rollout; returns the new rollout document."""
    unknown = sorted(set(request) - KNOWN_FIELDS)
    if unknown:
        raise BadInputError(
            f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_FIELDS))}"
        )
    function = _required_str(request, "function")
    alias_name = _required_str(request, "alias")
    to_version = str(request.get("toVersion") or "")
    if not to_version.isdigit():
        raise BadInputError(
            f"toVersion: {request.get('toVersion')!r} must be a published version number"
        )
    mode = parse_mode(request.get("mode") or Mode.ALIAS)
    strategy = build_strategy(request)
    if mode is Mode.BOTH and strategy.mode is not Mode.BOTH:
        strategy = with_mode(strategy, Mode.BOTH, allow_both=True)
    alias = platform.get_alias(function, alias_name)
    api_id = api_name = stage = None
    overrides: dict[str, str] = {}
    if mode is not Mode.ALIAS:
        api_ref = _required_str(request, "api")
        stage = _required_str(request, "stage")
        api_id = platform.find_api(api_ref)
        api_name = api_ref if api_ref != api_id else None
        variable = str(request.get("stageVariable") or "lambdaAlias")
        overrides = {variable: to_version}
    target = RolloutTarget(
        function=function,
        alias=alias_name,
        from_version=alias.primary,
        to_version=to_version,
        mode=mode,
        api_id=api_id,
        api_name=api_name,
        stage=stage,
        overrides=overrides,
    )
    retry_of = request.get("retryOf")
    if retry_of is not None and not isinstance(retry_of, str):
        raise BadInputError(f"retryOf: {retry_of!r} must be a rollout id")
    return controller.start(
        target,
        strategy,
        force=bool(request.get("force")),
        rollout_id=request.get("id"),
        retry_of=retry_of,
    )


def _required_str(request: Mapping[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value:
        raise BadInputError(f"{key}: is required (got {value!r})")
    return value
