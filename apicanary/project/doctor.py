"""Pre-flight checks of a SAM project, before anything is deployed (pure).

Each check looks at the loaded :class:`Project` for a mistake that makes a canary release
silently unsafe, and says what to change:

* both layers: a function rolled out by alias weights behind a stage with a CanarySetting
  (the two shares multiply: 10% of 10% = 1% of requests reach the new version);
* alarms blind to the new version: a DeploymentPreference alarm pinned to one version, or on
  the unqualified function (which alias traffic never reaches), or not in the template;
* hooks missing: a PreTraffic/PostTraffic hook that is not a function of the template, or
  whose name the AWS managed CodeDeploy role will not invoke (``CodeDeployHook_`` prefix);
* integrations not alias-qualified: an API route that invokes ``$LATEST`` of a function
  that is released through an alias (the canary would never see API traffic);
* HTTP API integrations not alias-qualified: an HTTP API route that invokes the unqualified
  function or ``$LATEST`` of a function released through an alias (HTTP APIs have no stage
  canary, so the alias is their only release path and such a route never sees the canary);
* provisioned concurrency on a weighted alias: a function rolled out by alias weights whose
  alias has ``ProvisionedConcurrencyConfig`` (while the alias is weighted, AWS refuses
  provisioned concurrency on it: ``Alias with weights can not be used with Provisioned
  Concurrency``, quoted in hashicorp/terraform#24957);
* a DeploymentPreference without AutoPublishAlias (SAM refuses it);
* invoke permissions missing (CloudFormation and CDK projects, whose Lambda permissions are
  explicit): a route invoking ``function:qualifier`` (each alias a stage variable can select,
  canary overrides included) with no ``AWS::Lambda::Permission`` for API Gateway on exactly
  that qualifier answers 500 on AWS. Permission ``SourceArn`` scopes are not compared.
"""

from __future__ import annotations

import re

from apicanary.project.findings import Finding
from apicanary.project.specs import AlarmSpec, ApiSpec, FunctionSpec, Project, RouteSpec

_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
_INVOKERS = ("apigateway.amazonaws.com", "*")


def check_project(project: Project) -> list[Finding]:
    """Every check of the module docstring; an ``ok`` finding says so when none finds a problem."""
    findings: list[Finding] = []
    alarms = {a.alarm_name: a for a in project.alarms} | {a.logical_id: a for a in project.alarms}
    names = {f.logical_id for f in project.functions} | {f.function_name for f in project.functions}
    for spec in project.functions:
        preference = spec.deployment_preference
        if preference is None:
            continue
        if spec.auto_publish_alias is None:
            findings.append(Finding(
                "error", "alias", f"{spec.logical_id} has a DeploymentPreference but no "
                "AutoPublishAlias", "add 'AutoPublishAlias: live': rollouts shift an alias",
            ))  # fmt: skip
        for alarm_name in preference.alarms:
            findings += _alarm_findings(spec, alarm_name, alarms.get(alarm_name))
        if not preference.alarms:
            findings.append(Finding(
                "ok", "alarms", f"{spec.logical_id}: no alarms; the sequential canary test "
                "alone guards its rollouts",
            ))  # fmt: skip
        for hook in (preference.pre_traffic, preference.post_traffic):
            if hook is None:
                continue
            if hook not in names:
                findings.append(Finding(
                    "error", "hooks", f"{spec.logical_id}: hook {hook} is not a function of "
                    "this template", "define it, or remove it from DeploymentPreference.Hooks",
                ))  # fmt: skip
            elif not hook.startswith("CodeDeployHook_"):
                findings.append(Finding(
                    "warning", "hooks", f"{spec.logical_id}: hook {hook} does not start with "
                    "CodeDeployHook_", "AWS's managed CodeDeploy role only invokes functions "
                    "named CodeDeployHook_*; rename it or give CodeDeploy your own role",
                ))  # fmt: skip
    findings += _route_findings(project)
    findings += _http_api_findings(project)
    if project.kind != "sam":
        findings += _permission_findings(project)
    if not any(f.level != "ok" for f in findings):
        findings.append(
            Finding("ok", "project", f"{project.template_path.name}: no problems found")
        )
    return findings


def _alarm_findings(spec: FunctionSpec, name: str, alarm: AlarmSpec | None) -> list[Finding]:
    if alarm is None:
        return [Finding(
            "warning", "alarms", f"{spec.logical_id}: alarm {name} is not in the template",
            "it cannot be checked here; make sure it watches the alias, not one version",
        )]  # fmt: skip
    body = alarm.put_metric_alarm
    dimension_sets = [body.get("Dimensions") or []]
    for query in body.get("Metrics") or []:
        metric = ((query.get("MetricStat") or {}).get("Metric")) or {}
        if metric:
            dimension_sets.append(metric.get("Dimensions") or [])
    findings = []
    for dimensions in dimension_sets:
        values = {d.get("Name"): str(d.get("Value")) for d in dimensions}
        resource = values.get("Resource")
        if "ExecutedVersion" in values:
            findings.append(Finding(
                "warning", "alarms", f"alarm {alarm.alarm_name} is pinned to ExecutedVersion "
                f"{values['ExecutedVersion']}: blind to every new version",
                "drop the ExecutedVersion dimension so it watches the whole alias",
            ))  # fmt: skip
        elif resource is not None and resource.rsplit(":", 1)[-1].isdigit():
            findings.append(Finding(
                "warning", "alarms", f"alarm {alarm.alarm_name} watches version {resource}: "
                "blind to the next release", f"watch Resource {spec.function_name}:"
                f"{spec.auto_publish_alias or 'live'} instead",
            ))  # fmt: skip
        elif resource == spec.function_name:
            findings.append(Finding(
                "warning", "alarms", f"alarm {alarm.alarm_name} watches the unqualified "
                f"{resource}: invocations through the alias are not counted there",
                f"use Resource {spec.function_name}:{spec.auto_publish_alias or 'live'}",
            ))  # fmt: skip
    if not findings:
        findings.append(Finding("ok", "alarms", f"alarm {alarm.alarm_name} watches the alias"))
    return findings


def _route_findings(project: Project) -> list[Finding]:
    by_id = {f.logical_id: f for f in project.functions}
    findings = []
    for api in project.apis:
        released = [
            by_id[r.integration.function]
            for r in api.routes
            if r.integration.function in by_id
            and by_id[r.integration.function].deployment_preference is not None
        ]
        if api.canary_setting is not None and released:
            findings.append(Finding(
                "warning", "layers", f"{api.name}/{api.stage_name} has a CanarySetting and "
                f"invokes {released[0].logical_id}, which DeploymentPreference also rolls out: "
                "the two canary shares multiply", "use one layer (alias weights or the stage "
                "canary), or pass --mode both on purpose",
            ))  # fmt: skip
        for route in api.routes:
            spec = by_id.get(route.integration.function or "")
            if spec is not None and spec.auto_publish_alias and route.integration.qualifier is None:
                findings.append(Finding(
                    "warning", "integration", f"{route.method} {route.path} on {api.name} "
                    f"invokes {spec.logical_id} unqualified ($LATEST), not its alias "
                    f"{spec.auto_publish_alias}", f"invoke {spec.function_name}:"
                    f"{spec.auto_publish_alias} (or ${{stageVariables.lambdaAlias}})",
                ))  # fmt: skip
    return findings


def _http_api_findings(project: Project) -> list[Finding]:
    by_id = {f.logical_id: f for f in project.functions}
    findings = []
    for api in project.http_apis:
        for route in api.routes:
            spec = by_id.get(route.integration.function or "")
            if spec is None or not spec.auto_publish_alias:
                continue
            if route.integration.qualifier in (None, "$LATEST"):
                findings.append(Finding(
                    "error", "http-integration", f"{route.route_key} on HTTP API {api.name} "
                    f"invokes {spec.logical_id} {route.integration.qualifier or 'unqualified'} "
                    f"($LATEST), not its alias {spec.auto_publish_alias}: no rollout reaches it",
                    f"make the integration invoke {spec.function_name}:"
                    f"{spec.auto_publish_alias} (HTTP API stages have no canary: the alias is "
                    "the release path)",
                ))  # fmt: skip
    for spec in project.functions:
        if spec.provisioned_concurrency and spec.deployment_preference is not None:
            findings.append(Finding(
                "warning", "provisioned-concurrency", f"{spec.logical_id}: alias "
                f"{spec.auto_publish_alias} has provisioned concurrency and is rolled out by "
                "weights: while it is weighted AWS refuses provisioned concurrency on it "
                "('Alias with weights can not be used with Provisioned Concurrency')",
                "do not change the provisioned concurrency during a rollout, or release this "
                "function AllAtOnce",
            ))  # fmt: skip
    return findings


def _permission_findings(project: Project) -> list[Finding]:
    by_id = {f.logical_id: f for f in project.functions}
    allowed = {
        (p.function, p.qualifier)
        for p in project.permissions
        if p.principal in _INVOKERS and p.action in ("lambda:InvokeFunction", "lambda:*")
    }
    findings: list[Finding] = []
    reported: set[tuple[str, str | None]] = set()
    for api in project.apis:
        for route in api.routes:
            spec = by_id.get(route.integration.function or "")
            if spec is None:
                continue
            for qualifier in _qualifiers(api, route):
                key = (spec.logical_id, qualifier)
                if key in allowed or key in reported:
                    continue
                reported.add(key)
                target = spec.function_name + (f":{qualifier}" if qualifier else "")
                findings.append(Finding(
                    "warning", "permissions", f"{route.method} {route.path} on {api.name} "
                    f"invokes {target}, which no AWS::Lambda::Permission lets API Gateway "
                    "invoke: on AWS the route answers 500", "add an AWS::Lambda::Permission "
                    f"with FunctionName {target} (a !Ref of the alias) and Principal "
                    "apigateway.amazonaws.com",
                ))  # fmt: skip
    return findings


def _qualifiers(api: ApiSpec, route: RouteSpec) -> list[str | None]:
    """The qualifiers a route can invoke: its own, or each value of its stage variable."""
    qualifier = route.integration.qualifier
    match = _STAGE_VARIABLE.fullmatch(qualifier or "")
    if match is None:
        return [qualifier]
    values = [api.variables.get(match.group(1))]
    if api.canary_setting is not None:
        values.append(api.canary_setting.stage_variable_overrides.get(match.group(1)))
    return list(dict.fromkeys(v for v in values if v))
