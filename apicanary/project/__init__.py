"""Reading the user's project: the SAM template loader and the specs it produces.

``load_project(path)`` (in :mod:`apicanary.project.sam`) returns a frozen
:class:`~apicanary.project.specs.Project`; ``scaffold_project(dir)`` writes a sample project.
The loader reads YAML with CloudFormation tags (:mod:`.cfn_yaml`), resolves parameters and
intrinsics (:mod:`.parameters`, :mod:`.intrinsics`), merges Globals (:mod:`.sam_globals`) and
reads functions, APIs and alarms (:mod:`.sam_functions`, :mod:`.sam_apis`, :mod:`.cw_alarm`);
:mod:`.openapi` is the one OpenAPI reader (the engine's ImportRestApi uses it too).
:mod:`.doctor` checks a loaded project before release, in :mod:`.findings`' vocabulary.
"""

from apicanary.project.sam import load_project
from apicanary.project.scaffold import scaffold_project
from apicanary.project.specs import (
    AlarmSpec,
    ApiEventSpec,
    ApiSpec,
    CanarySettingSpec,
    DeploymentPreferenceSpec,
    FunctionSpec,
    IntegrationSpec,
    Project,
    RouteSpec,
)

__all__ = [
    "AlarmSpec",
    "ApiEventSpec",
    "ApiSpec",
    "CanarySettingSpec",
    "DeploymentPreferenceSpec",
    "FunctionSpec",
    "IntegrationSpec",
    "Project",
    "RouteSpec",
    "load_project",
    "scaffold_project",
]
