"""``deploy``: publish what changed in the template and start the rollouts it asks for.

For each function whose code or configuration changed since its alias's version, provisioning
publishes a new version (traffic untouched); for each such *pending* version this starts a
rollout with the function's SAM ``DeploymentPreference`` (its Type, Alarms and Hooks), or
``AllAtOnce`` when the function has none (what SAM does without one). API changes get a new
deployment of their stage, as ``sam deploy`` would, unless a canary is live on it.

A deploy that names a template (``apicanary deploy -t``) must name the one the server serves:
the server provisions only its own, so deploying another would silently release the wrong
project. Paths are compared absolute, a directory standing for the template in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apicanary.engine.engine import Engine
from apicanary.engine.provision import provision
from apicanary.errors import BadInputError
from apicanary.platform.base import Platform
from apicanary.project.loader import load_project, template_file
from apicanary.project.specs import Project
from apicanary.rollout.controller import Controller
from apicanary.rollout.service import start_rollout


def deploy(
    engine: Engine,
    controller: Controller,
    platform: Platform,
    template: Path,
    *,
    time_scale: float | None = None,
    requested_template: Any = None,
) -> dict[str, Any]:
    """Provision ``template`` into ``engine`` and start one rollout per pending version.

    ``requested_template`` is the absolute path the deploy was asked for (None: not said);
    another template than ``template`` is refused (:func:`check_same_template`).
    """
    if requested_template is not None:
        check_same_template(template, requested_template)
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


def check_same_template(served: Path, requested: Any) -> None:
    """Raise BadInputError naming both paths unless ``requested`` is the ``served`` template.

    ``requested`` must be an absolute path (the client resolves it: the server's working
    directory is not the client's).
    """
    if not isinstance(requested, str) or not Path(requested).is_absolute():
        raise BadInputError(f"template: {requested!r} must be an absolute path")
    serving = _as_file(served)
    asked = _as_file(Path(requested))
    if asked != serving:
        raise BadInputError(
            f"template {asked} is not the one this server serves: {serving}",
            hint=f"run 'apicanary deploy -t {serving}' (or deploy from its directory), or "
            f"restart the server with 'apicanary serve -t {asked}'",
        )


def _as_file(path: Path) -> Path:
    """``path`` absolute, with symlinks resolved; a directory stands for its template file."""
    return template_file(path) if path.is_dir() else path.expanduser().resolve()


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
