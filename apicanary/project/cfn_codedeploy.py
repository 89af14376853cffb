"""A CodeDeploy deployment group, read as the function's deployment preference.

In CloudFormation (and in what SAM and the CDK generate) an alias is released by CodeDeploy when
its ``UpdatePolicy.CodeDeployLambdaAliasUpdate`` names an ``AWS::CodeDeploy::DeploymentGroup``.
That is what SAM's ``DeploymentPreference`` expands to (aws-semantics §5.5), so it is read back
into the same :class:`~apicanary.project.specs.DeploymentPreferenceSpec`:

* ``DeploymentConfigName`` → ``Type`` (``CodeDeployDefault.LambdaCanary10Percent5Minutes`` →
  ``Canary10Percent5Minutes``; another name is kept as written, as SAM keeps a custom Type);
  absent → ``AllAtOnce``, CodeDeploy's default for Lambda;
* ``AlarmConfiguration.Alarms[].Name`` → ``Alarms`` (none when ``Enabled`` is false);
* the update policy's ``BeforeAllowTrafficHook``/``AfterAllowTrafficHook`` → the PreTraffic and
  PostTraffic hooks (function names).

``AutoRollbackConfiguration`` is not read: apicanary always rolls a failed release back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apicanary.arns import split_function_name
from apicanary.project.cfn_refs import DEPLOYMENT_GROUP
from apicanary.project.cfn_template import CfnTemplate
from apicanary.project.fields import as_bool, as_list, as_mapping, as_str, child, fail, show
from apicanary.project.specs import DeploymentPreferenceSpec

POLICY: Final = "CodeDeployLambdaAliasUpdate"
CONFIG_PREFIX: Final = "CodeDeployDefault.Lambda"
DEFAULT_CONFIG: Final = CONFIG_PREFIX + "AllAtOnce"
_POLICY_KEYS: Final = frozenset(
    {"ApplicationName", "DeploymentGroupName", "BeforeAllowTrafficHook", "AfterAllowTrafficHook"}
)


def deployment_preference(template: CfnTemplate, alias: str) -> DeploymentPreferenceSpec | None:
    """The preference alias ``alias``'s update policy asks for, or None without a policy."""
    policies = template.resources[alias].get("UpdatePolicy") or {}
    base = f"Resources.{alias}.UpdatePolicy"
    policy_value = as_mapping(policies, base).get(POLICY)
    if policy_value is None:
        return None
    path = child(base, POLICY)
    policy = as_mapping(policy_value, path)
    extra = sorted(set(policy) - _POLICY_KEYS)
    if extra:
        raise fail(
            child(path, extra[0]),
            f"is not a {POLICY} property: allowed are {', '.join(sorted(_POLICY_KEYS))}",
        )
    for key in ("ApplicationName", "DeploymentGroupName"):
        if key not in policy:
            raise fail(child(path, key), "is required")
    group = _group(template, policy["DeploymentGroupName"], child(path, "DeploymentGroupName"))
    props = template.props(group)
    config = as_str(
        props.get("DeploymentConfigName") or DEFAULT_CONFIG, props.path("DeploymentConfigName")
    )
    return DeploymentPreferenceSpec(
        type=config.removeprefix(CONFIG_PREFIX) if config.startswith(CONFIG_PREFIX) else config,
        alarms=_alarms(props.get("AlarmConfiguration"), props.path("AlarmConfiguration")),
        pre_traffic=_hook(template, policy, path, "BeforeAllowTrafficHook"),
        post_traffic=_hook(template, policy, path, "AfterAllowTrafficHook"),
        raw={"DeploymentGroup": group},
    )


def _group(template: CfnTemplate, value: Any, path: str) -> str:
    name = as_str(template.resolver.resolve(value, path), path)
    groups = template.ids_of(DEPLOYMENT_GROUP)
    for lid in groups:
        if template.references.ref(lid, path) == name:
            return lid
    known = ", ".join(groups) or "none"
    raise fail(
        path,
        f"{show(name)} is no AWS::CodeDeploy::DeploymentGroup of this template "
        f"(deployment groups: {known})",
    )


def _alarms(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    config = as_mapping(value, path)
    if not as_bool(config.get("Enabled", True), child(path, "Enabled")):
        return ()
    alarms_path = child(path, "Alarms")
    names = []
    for i, alarm in enumerate(as_list(config.get("Alarms") or [], alarms_path)):
        item = as_mapping(alarm, child(alarms_path, i))
        names.append(as_str(item.get("Name"), child(child(alarms_path, i), "Name")))
    if len(names) > 10:
        raise fail(alarms_path, f"{len(names)} alarms: a deployment group takes at most 10")
    return tuple(dict.fromkeys(names))


def _hook(template: CfnTemplate, policy: Mapping[str, Any], path: str, key: str) -> str | None:
    if key not in policy:
        return None
    hook_path = child(path, key)
    value = as_str(template.resolver.resolve(policy[key], hook_path), hook_path)
    parts = split_function_name(value)
    if parts is None or parts[1] is not None:
        raise fail(hook_path, f"{show(value)} is not a function name")
    return parts[0]
