"""Reading the user's project: SAM, plain CloudFormation or a CDK cloud assembly, as specs.

``load_project(path)`` (in :mod:`apicanary.project.loader`) finds the template (a file, a project
directory, a ``cdk.out``) and returns a frozen :class:`~apicanary.project.specs.Project`, the
same whichever tool wrote it; ``scaffold_project(dir)`` writes a sample project.

Shared by the loaders: YAML with CloudFormation tags (:mod:`.cfn_yaml`), parameters,
conditions and intrinsics (:mod:`.parameters`, :mod:`.conditions`, :mod:`.intrinsics`), typed
field readers (:mod:`.fields`, :mod:`.props`), alarms (:mod:`.cw_alarm`) and the one OpenAPI
reader (:mod:`.openapi`, which the engine's ImportRestApi uses too).
SAM (:mod:`.sam`): Globals (:mod:`.sam_globals`), functions and APIs (:mod:`.sam_functions`,
:mod:`.sam_apis`). CloudFormation (:mod:`.cloudformation`): sections and references
(:mod:`.cfn_template`, :mod:`.cfn_refs`), Lambda resources and their code
(:mod:`.cfn_functions`, :mod:`.cfn_code`), CodeDeploy (:mod:`.cfn_codedeploy`), REST APIs
(:mod:`.cfn_apis`, :mod:`.cfn_methods`). CDK cloud assemblies: :mod:`.cdk`.
:mod:`.doctor` checks a loaded project before release, in :mod:`.findings`' vocabulary.
"""

from apicanary.project.loader import load_project
from apicanary.project.scaffold import scaffold_project
from apicanary.project.specs import (
    AlarmSpec,
    ApiEventSpec,
    ApiSpec,
    CanarySettingSpec,
    DeploymentPreferenceSpec,
    FunctionSpec,
    IntegrationSpec,
    PermissionSpec,
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
    "PermissionSpec",
    "Project",
    "RouteSpec",
    "load_project",
    "scaffold_project",
]
