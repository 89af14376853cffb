"""``deploy``: publish what changed in the template and start the rollouts it asks for.

For each function whose code or configuration changed since its alias's version, provisioning
publishes a new version (traffic untouched); for each such *pending* version this starts a
rollout with the function's SAM ``DeploymentPreference`` (its Type, Alarms and Hooks), or
``AllAtOnce`` when the function has none (what SAM does without one). API changes get a new
deployment of their stage, as ``sam deploy`` would, unless a canary is live on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apicanary.engine.engine import Engine
from apicanary.engine.provision import provision
from apicanary.platform.base import Platform
from apicanary.project.sam import load_project
from apicanary.project.specs import Project
from apicanary.rollout.controller import Controller
from apicanary.rollout.service import start_rollout


def deploy(
    engine: Engine,
    controller: Controller,
    platform: Platform,
    template: Any,
    *,
    time_scale: float | None = None,
) -> dict[str, Any]:
    """Provision ``template`` into ``engine`` and start one rollout per pending version."""
    project: Project = load_project(template)
    report = provision(engine, project)
    started: list[dict[str, Any]] = []
    for function in report.functions:
        if function.pending_version is None or function.alias is None:
            continue
        spec = project.function(function.name)
        request: dict[str, Any] = {
            "function": function.name,
            "alias": function.alias,
            "toVersion": function.pending_version,
            "strategy": _strategy_for(spec.deployment_preference),
        }
        if time_scale is not None:
            request["timeScale"] = time_scale
        started.append(start_rollout(controller, platform, request))
    return {"provisioned": report.to_dict(), "rollouts": started}


def _strategy_for(preference: Any) -> Mapping[str, Any] | str:
    if preference is None or not preference.enabled:
        return "AllAtOnce"
    hooks = {}
    if preference.pre_traffic:
        hooks["PreTraffic"] = preference.pre_traffic
    if preference.post_traffic:
        hooks["PostTraffic"] = preference.post_traffic
    return {
        "deploymentPreference": {
            "type": preference.type,
            "alarms": list(preference.alarms),
            "hooks": hooks,
        }
    }
