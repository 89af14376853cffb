"""Reading the user's project: the SAM template loader and the specs it produces.

``load_project(path)`` (in :mod:`apicanary.project.sam`) returns a frozen
:class:`~apicanary.project.specs.Project`; ``scaffold_project(dir)`` writes a sample project.
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
