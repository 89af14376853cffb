"""A CloudFormation template's Lambda resources as FunctionSpec and PermissionSpec.

* ``AWS::Lambda::Function``: run when its runtime is ``python3.x`` and its package a zip (code
  found by :mod:`apicanary.project.cfn_code`); other functions (Node.js custom-resource
  providers that CDK adds, container images) are skipped with a warning.
* ``AWS::Lambda::Version``: the engine publishes versions itself, so every Version resource of a
  function stands for "the version published from the function's current code" (on AWS too,
  two Version resources of unchanged code are one version).
* ``AWS::Lambda::Alias``: the alias whose ``FunctionVersion`` is ``!GetAtt <Version>.Version``
  of the same function follows each new version, as SAM's ``AutoPublishAlias`` does. Its
  ``RoutingConfig`` (at most one version, weight 0..1) becomes the weights the alias starts
  with; a weight on another Version resource (AWS's blue/green example) cannot be, as locally
  that is the alias's own version, so it is skipped with a warning. Its CodeDeploy update
  policy becomes the function's deployment preference (:mod:`apicanary.project.cfn_codedeploy`).
  The engine releases one alias per function: when several follow the Version, the one with
  the update policy is released, the others are skipped with a warning. An alias pinned to a
  literal version or ``$LATEST`` is refused.
* ``AWS::Lambda::Permission``: kept for ``doctor`` (which routes API Gateway may invoke).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from apicanary.arns import split_function_name
from apicanary.project.cfn_code import CodeLocator
from apicanary.project.cfn_codedeploy import deployment_preference
from apicanary.project.cfn_refs import (
    ALIAS,
    FUNCTION,
    PERMISSION,
    VERSION,
)
from apicanary.project.cfn_template import CfnTemplate
from apicanary.project.fields import as_float, as_list, as_mapping, as_str, child, fail, show
from apicanary.project.sam_functions import checked_function_name, runtime_fields
from apicanary.project.specs import FunctionSpec, PermissionSpec

ALIAS_NAME: Final = r"(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}"
_PYTHON = re.compile(r"python3\.\d+")


@dataclass
class LambdaResources:
    """What :func:`lambda_resources` read: the runnable functions and what it skipped."""

    functions: list[FunctionSpec] = field(default_factory=list)
    permissions: list[PermissionSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)  # logical ids of functions not run


def lambda_resources(template: CfnTemplate, locator: CodeLocator) -> LambdaResources:
    """Read every function, version, alias and permission of ``template``."""
    found = LambdaResources()
    specs: dict[str, FunctionSpec] = {}
    for lid in template.ids_of(FUNCTION):
        spec = _function(template, locator, lid, found)
        if spec is not None:
            specs[lid] = spec
    by_name = {spec.function_name: lid for lid, spec in specs.items()}
    versions = _versions(template, by_name)
    released: dict[str, str] = {}  # function logical id -> alias logical id
    for alias in template.ids_of(ALIAS):
        function = by_name.get(template.references.alias_function(alias))
        if function is None:
            continue  # an alias of a function that is not run, or not in the template
        _check_follows(template, alias, function, versions)
        current = released.get(function)
        if current is None or (_has_policy(template, alias) and not _has_policy(template, current)):
            released[function] = alias
            if current is not None:
                found.warnings.append(_second_alias(current, function))
        else:
            found.warnings.append(_second_alias(alias, function))
    for function, alias in released.items():
        specs[function] = replace(
            specs[function],
            auto_publish_alias=_alias_name(template, alias),
            alias_weights=_routing(template, alias, versions, found.warnings),
            deployment_preference=deployment_preference(template, alias),
        )
    found.functions = list(specs.values())
    found.permissions = [_permission(template, lid, by_name) for lid in template.ids_of(PERMISSION)]
    return found


def _function(
    template: CfnTemplate, locator: CodeLocator, lid: str, found: LambdaResources
) -> FunctionSpec | None:
    props = template.props(lid)
    package = props.get("PackageType") or "Zip"
    runtime = props.get("Runtime")
    if package != "Zip" or not isinstance(runtime, str) or not _PYTHON.fullmatch(runtime):
        what = f"package type {package}" if package != "Zip" else f"runtime {show(runtime)}"
        found.warnings.append(
            f"Resources.{lid} (AWS::Lambda::Function): not run locally ({what}; the local "
            "engine runs python3.x zip functions)"
        )
        found.skipped.add(lid)
        return None
    return FunctionSpec(
        logical_id=lid,
        function_name=checked_function_name(template.resolver, lid, props),
        code_dir=locator.code_dir(lid, props, template.metadata(lid)),
        **runtime_fields(props),
    )


def _versions(template: CfnTemplate, by_name: Mapping[str, str]) -> dict[str, str]:
    """Version logical id → the logical id of the (run) function it publishes."""
    versions = {}
    for lid in template.ids_of(VERSION):
        path = f"Resources.{lid}.Properties.FunctionName"
        value = as_str(template.props(lid).require("FunctionName"), path)
        parts = split_function_name(value)
        if parts is None:
            raise fail(path, f"{show(value)} is not a function name or ARN")
        if parts[0] in by_name:
            versions[lid] = by_name[parts[0]]
    return versions


def _version_ref(raw: Any) -> str | None:
    """The logical id in ``!GetAtt <Version>.Version`` (either form), else None."""
    if not isinstance(raw, Mapping) or set(raw) != {"Fn::GetAtt"}:
        return None
    arg = raw["Fn::GetAtt"]
    parts = arg.split(".", 1) if isinstance(arg, str) else arg
    if isinstance(parts, list) and len(parts) == 2 and parts[1] == "Version":
        return parts[0] if isinstance(parts[0], str) else None
    return None


def _check_follows(
    template: CfnTemplate, alias: str, function: str, versions: Mapping[str, str]
) -> None:
    path = f"Resources.{alias}.Properties.FunctionVersion"
    raw = template.local_properties(alias).get("FunctionVersion")
    version = _version_ref(raw)
    if version is None or versions.get(version) != function:
        raise fail(
            path,
            f"{show(raw)} is not supported locally: the engine publishes versions itself, so an "
            f"alias must point at a Version resource of {function} (!GetAtt <Version>.Version)",
        )


def _has_policy(template: CfnTemplate, alias: str) -> bool:
    policy = template.resources[alias].get("UpdatePolicy")
    return isinstance(policy, Mapping) and "CodeDeployLambdaAliasUpdate" in policy


def _second_alias(alias: str, function: str) -> str:
    return (
        f"Resources.{alias} (AWS::Lambda::Alias): not run locally (the engine releases one "
        f"alias per function, and {function} has another)"
    )


def _alias_name(template: CfnTemplate, alias: str) -> str:
    props = template.props(alias)
    return as_str(
        props.require("Name"),
        props.path("Name"),
        pattern=ALIAS_NAME,
        allowed="an alias name is 1-128 letters, digits, '-' or '_', not all digits",
    )


def _routing(
    template: CfnTemplate, alias: str, versions: Mapping[str, str], warnings: list[str]
) -> dict[str, float]:
    raw = template.local_properties(alias).get("RoutingConfig")
    if raw is None:
        return {}
    path = f"Resources.{alias}.Properties.RoutingConfig"
    weights_path = child(path, "AdditionalVersionWeights")
    items = as_list(as_mapping(raw, path).get("AdditionalVersionWeights") or [], weights_path)
    if len(items) > 1:
        raise fail(
            weights_path,
            f"{len(items)} items: Number of items in AdditionalVersionWeights cannot be "
            "greater than 1",
        )
    weights: dict[str, float] = {}
    for i, item_value in enumerate(items):
        item_path = child(weights_path, i)
        item = as_mapping(item_value, item_path)
        version_path = child(item_path, "FunctionVersion")
        if _version_ref(item.get("FunctionVersion")) in versions:
            warnings.append(
                f"{version_path}: not applied locally (every Version resource stands for the "
                "version the engine publishes, which the alias already points to)"
            )
            continue
        version = as_str(
            template.resolver.resolve(item.get("FunctionVersion"), version_path),
            version_path,
            pattern=r"[0-9]+",
            allowed="must be a version number",
        )
        weight_path = child(item_path, "FunctionWeight")
        weight = template.resolver.resolve(item.get("FunctionWeight"), weight_path)
        weights[version] = as_float(weight, weight_path, low=0.0, high=1.0)
    return weights


def _permission(template: CfnTemplate, lid: str, by_name: Mapping[str, str]) -> PermissionSpec:
    props = template.props(lid)
    path = props.path("FunctionName")
    value = as_str(props.require("FunctionName"), path)
    parts = split_function_name(value)
    if parts is None:
        raise fail(path, f"{show(value)} is not a function name or ARN")
    source = props.get("SourceArn")
    return PermissionSpec(
        logical_id=lid,
        function=by_name.get(parts[0]),
        function_name=parts[0],
        qualifier=parts[1],
        principal=as_str(props.require("Principal"), props.path("Principal")),
        action=as_str(props.require("Action"), props.path("Action")),
        source_arn=None if source is None else as_str(source, props.path("SourceArn")),
    )
