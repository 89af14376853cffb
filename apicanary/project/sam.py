"""Load a SAM/CloudFormation template into the frozen specs the engine runs.

``load_project(path)`` reads ``AWS::Serverless::Function``, ``AWS::Serverless::Api`` (and
SAM's implicit ``ServerlessRestApi``) and ``AWS::CloudWatch::Alarm`` resources, merges
``Globals`` the way SAM does, resolves intrinsics for the local stack (see
:mod:`apicanary.project.intrinsics`) and validates what the engine relies on. Other resource
types are ignored. Every problem raises :class:`~apicanary.errors.TemplateError` worded
``<file>: <property path>: <value> <problem>: <what is allowed>``.

Local choices where AWS would generate something:

* a function's name is its ``FunctionName`` or else its **logical id** (CloudFormation would
  generate ``<stack>-<LogicalId>-<random>``; the logical id is the readable local choice);
* an alarm's name is its ``AlarmName`` or else its logical id;
* ``Ref`` to an API (or any other resource) yields its logical id;
* the implicit API is named ``ServerlessRestApi`` (unless ``Globals.Api.Name`` says otherwise)
  with stage ``Prod``; its routes invoke each function's ``AutoPublishAlias`` if it has one;
* a method defined both in an API's ``DefinitionBody`` and by a function event keeps the
  ``DefinitionBody`` integration (as SAM does); the same method from two events is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from apicanary.errors import BadInputError, TemplateError
from apicanary.project.cfn_yaml import load_cfn_yaml
from apicanary.project.cw_alarm import put_metric_alarm_input
from apicanary.project.fields import (
    as_bool,
    as_float,
    as_int,
    as_list,
    as_mapping,
    as_str,
    as_str_map,
    child,
    fail,
    show,
)
from apicanary.project.intrinsics import (
    ALARM_TYPE,
    API_TYPE,
    FUNCTION_TYPE,
    NO_VALUE,
    Resolver,
    StackContext,
    function_arn,
    lambda_integration_uri,
)
from apicanary.project.openapi import METHODS, definition_routes
from apicanary.project.parameters import resolve_parameters
from apicanary.project.sam_globals import globals_section, merge_globals
from apicanary.project.specs import (
    IMPLICIT_API_ID,
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

SAM_TRANSFORM: Final = "AWS::Serverless-2016-10-31"
IMPLICIT_STAGE: Final = "Prod"
TEMPLATE_NAMES: Final = ("template.yaml", "template.yml", "template.json")
_RUNTIME = r"python3\.\d+"
_HANDLER = r"(?:[\w-]+/)*[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\.[A-Za-z_]\w*"
_FUNCTION_NAME = r"[a-zA-Z0-9_-]{1,64}"
_ENV_KEY = r"[a-zA-Z][a-zA-Z0-9_]+"
_STAGE_NAME = r"[A-Za-z0-9_-]{1,128}"
_STAGE_VAR_KEY = r"[A-Za-z0-9_]{1,64}"
_STAGE_VAR_VALUE = r"[A-Za-z0-9\-._~:/?#&=,]{1,512}"
_EVENT_METHODS: Final = {"any": "ANY", **{k: v for k, v in METHODS.items() if v != "ANY"}}
_CANARY_KEYS: Final = frozenset(
    {"PercentTraffic", "StageVariableOverrides", "UseStageCache", "DeploymentId"}
)
_DEPLOYMENT_PREFERENCE_KEYS: Final = frozenset({"Type", "Alarms", "Hooks", "Enabled"})


def load_project(
    template_path: Path,
    *,
    parameter_overrides: Mapping[str, str] | None = None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
) -> Project:
    """Load the SAM template at ``template_path`` (or the ``template.yaml`` in that directory).

    ``parameter_overrides`` replace parameter defaults; ``region`` and ``account_id`` are the
    local stack's pseudo parameters (they appear in ARNs). Raises TemplateError for anything
    the local engine cannot run faithfully, BadInputError for a bad region or account id.
    """
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise BadInputError(f"region {region!r} is not valid: expected e.g. us-east-1")
    if not re.fullmatch(r"\d{12}", account_id):
        raise BadInputError(f"account id {account_id!r} is not valid: must be 12 digits")
    path = _template_file(Path(template_path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from None
    document = load_cfn_yaml(text, path.name)
    try:
        reader = _TemplateReader(
            document, path, parameter_overrides, StackContext(region, account_id)
        )
        return reader.project()
    except TemplateError as exc:
        raise TemplateError(f"{path.name}: {exc.message}", hint=exc.hint) from None


def _template_file(path: Path) -> Path:
    path = path.expanduser().resolve()
    if path.is_dir():
        for name in TEMPLATE_NAMES:
            if (path / name).is_file():
                return path / name
        raise TemplateError(
            f"no template in {path}: expected one of {', '.join(TEMPLATE_NAMES)}",
            hint="run `apicanary init` to create a sample project",
        )
    if not path.is_file():
        raise TemplateError(
            f"template {path} does not exist", hint="pass --template or run `apicanary init`"
        )
    return path


class _Props:
    """One resource's properties after Globals, read resolved, with the right error path."""

    def __init__(
        self,
        resolver: Resolver,
        base: str,
        local: Mapping[str, Any],
        global_props: Mapping[str, Any],
        global_base: str,
    ) -> None:
        self._resolver = resolver
        self._base = base
        self._local = local
        self._globals = global_props
        self._global_base = global_base
        self.merged = merge_globals(global_props, local)

    def path(self, key: str) -> str:
        """Where ``key`` was written: the resource, or Globals if only there."""
        if key not in self._local and key in self._globals:
            return child(self._global_base, key)
        return child(self._base, key)

    def get(self, key: str) -> Any:
        """The resolved value of ``key``, or None when absent (or ``AWS::NoValue``)."""
        if key not in self.merged:
            return None
        value = self._resolver.resolve(self.merged[key], self.path(key))
        return None if value is NO_VALUE else value

    def require(self, key: str, why: str = "") -> Any:
        """Like :meth:`get`, but a missing value is an error."""
        value = self.get(key)
        if value is None:
            raise fail(self.path(key), f"is required{why}")
        return value


class _TemplateReader:
    """One pass over a parsed template; :meth:`project` builds the specs."""

    def __init__(
        self,
        document: Any,
        path: Path,
        overrides: Mapping[str, str] | None,
        context: StackContext,
    ) -> None:
        if document is None:
            raise TemplateError("the template is empty")
        self.template = as_mapping(document, "template")
        self.path = path
        self.root = path.parent
        self.context = context
        self.resources = _resources(self.template)
        _check_transform(self.template, self.resources)
        self.parameters = resolve_parameters(self.template.get("Parameters"), overrides)
        self.function_globals = globals_section(self.template, "Function")
        self.api_globals = globals_section(self.template, "Api")
        self.function_ids = [k for k, r in self.resources.items() if r["Type"] == FUNCTION_TYPE]
        merged = {
            lid: merge_globals(self.function_globals, self._local(lid)) for lid in self.function_ids
        }
        self.implicit = IMPLICIT_API_ID if _uses_implicit_api(merged) else None
        if self.implicit and self.implicit in self.resources:
            raise fail(
                f"Resources.{IMPLICIT_API_ID}",
                "is the logical id SAM gives the implicit API; rename this resource",
            )
        self.resolver = Resolver(
            context=context,
            parameters=self.parameters,
            resources=self.resources,
            function_properties=merged,
            implicit_apis=[self.implicit] if self.implicit else [],
            mappings=as_mapping(self.template.get("Mappings") or {}, "Mappings"),
        )

    def project(self) -> Project:
        functions = tuple(self._function(lid) for lid in self.function_ids)
        _check_unique([f.function_name for f in functions], "FunctionName", functions)
        alarms = tuple(
            self._alarm(lid) for lid, r in self.resources.items() if r["Type"] == ALARM_TYPE
        )
        _check_unique([a.alarm_name for a in alarms], "AlarmName", alarms)
        apis = [
            self._api(lid, functions) for lid, r in self.resources.items() if r["Type"] == API_TYPE
        ]
        if self.implicit:
            apis.append(self._implicit_api(functions))
        return Project(
            template_path=self.path,
            root=self.root,
            functions=functions,
            apis=tuple(apis),
            alarms=alarms,
            parameters=self.parameters.as_strings(),
            region=self.context.region,
            account_id=self.context.account_id,
        )

    # --- functions ----------------------------------------------------------------------

    def _local(self, logical_id: str) -> Mapping[str, Any]:
        props = self.resources[logical_id].get("Properties") or {}
        return as_mapping(props, f"Resources.{logical_id}.Properties")

    def _function(self, lid: str) -> FunctionSpec:
        base = f"Resources.{lid}.Properties"
        props = _Props(
            self.resolver, base, self._local(lid), self.function_globals, "Globals.Function"
        )
        package_type = props.get("PackageType")
        if package_type not in (None, "Zip"):
            raise fail(
                props.path("PackageType"),
                f"{show(package_type)} is not supported locally: only Zip functions run",
            )
        if props.get("InlineCode") is not None:
            raise fail(
                props.path("InlineCode"),
                "inline code is not supported locally: put the code in a directory and set CodeUri",
            )
        name = self.resolver.function_name(lid)
        as_str(
            name,
            props.path("FunctionName"),
            pattern=_FUNCTION_NAME,
            allowed="1-64 letters, digits, '-' or '_'",
        )
        alias = self.resolver.function_alias(lid)
        return FunctionSpec(
            logical_id=lid,
            function_name=name,
            code_dir=self._code_dir(props),
            handler=as_str(
                props.require("Handler"),
                props.path("Handler"),
                pattern=_HANDLER,
                allowed="must be module.function, e.g. app.handler",
            ),
            runtime=as_str(
                props.require("Runtime"),
                props.path("Runtime"),
                pattern=_RUNTIME,
                allowed="the local engine runs python3.x runtimes only (e.g. python3.12)",
            ),
            timeout=_optional_int(props, "Timeout", 3, 1, 900, "seconds"),
            memory_size=_optional_int(props, "MemorySize", 128, 128, 10240, "MB"),
            environment=self._environment(props),
            description=as_str(props.get("Description") or "", props.path("Description")),
            reserved_concurrency=(
                None
                if props.get("ReservedConcurrentExecutions") is None
                else as_int(
                    props.get("ReservedConcurrentExecutions"),
                    props.path("ReservedConcurrentExecutions"),
                    low=0,
                )
            ),
            auto_publish_alias=alias,
            deployment_preference=self._deployment_preference(props, alias),
            api_events=self._api_events(lid, props),
        )

    def _code_dir(self, props: _Props) -> Path:
        path = props.path("CodeUri")
        code_uri = props.require(
            "CodeUri", ": the local engine runs code from a directory next to the template"
        )
        if isinstance(code_uri, Mapping) or (
            isinstance(code_uri, str) and code_uri.startswith("s3://")
        ):
            raise fail(path, f"{show(code_uri)} is not supported locally: use a local directory")
        code_dir = (self.root / as_str(code_uri, path)).resolve()
        if not code_dir.is_dir():
            what = "is not a directory" if code_dir.exists() else "does not exist"
            raise fail(path, f"{show(code_uri)} {what} ({code_dir})")
        return code_dir

    def _environment(self, props: _Props) -> dict[str, str]:
        environment = props.get("Environment")
        if environment is None:
            return {}
        path = props.path("Environment")
        env = as_mapping(environment, path)
        extra = sorted(set(env) - {"Variables"})
        if extra:
            raise fail(child(path, extra[0]), "is not allowed: Environment has only Variables")
        return as_str_map(
            env.get("Variables") or {},
            child(path, "Variables"),
            key_pattern=_ENV_KEY,
            key_allowed="must start with a letter, then letters, digits or '_' (2+ characters)",
        )

    def _deployment_preference(
        self, props: _Props, alias: str | None
    ) -> DeploymentPreferenceSpec | None:
        raw_value = props.merged.get("DeploymentPreference")
        if raw_value is None:
            return None
        path = props.path("DeploymentPreference")
        raw = as_mapping(raw_value, path)
        if alias is None:
            raise fail(path, "requires AutoPublishAlias on the function (the alias it shifts)")

        def resolved(key: str) -> Any:
            value = self.resolver.resolve(raw.get(key), child(path, key))
            return None if value is NO_VALUE else value

        kind = as_str(resolved("Type"), child(path, "Type")) if "Type" in raw else None
        if not kind:
            raise fail(child(path, "Type"), "is required (e.g. Canary10Percent5Minutes)")
        alarms_path = child(path, "Alarms")
        alarms = [
            as_str(a, child(alarms_path, i))
            for i, a in enumerate(as_list(resolved("Alarms") or [], alarms_path))
        ]
        hooks_path = child(path, "Hooks")
        hooks = as_mapping(resolved("Hooks") or {}, hooks_path)
        extra = sorted(set(hooks) - {"PreTraffic", "PostTraffic"})
        if extra:
            raise fail(
                child(hooks_path, extra[0]), "is not a hook: allowed are PreTraffic, PostTraffic"
            )
        return DeploymentPreferenceSpec(
            type=kind,
            alarms=tuple(alarms),
            pre_traffic=_optional_str(hooks.get("PreTraffic"), child(hooks_path, "PreTraffic")),
            post_traffic=_optional_str(hooks.get("PostTraffic"), child(hooks_path, "PostTraffic")),
            enabled=True
            if "Enabled" not in raw
            else as_bool(resolved("Enabled"), child(path, "Enabled")),
            raw={k: v for k, v in raw.items() if k not in _DEPLOYMENT_PREFERENCE_KEYS},
        )

    def _api_events(self, lid: str, props: _Props) -> tuple[ApiEventSpec, ...]:
        events_path = props.path("Events")
        events = as_mapping(props.merged.get("Events") or {}, events_path)
        specs = []
        for name, event_value in events.items():
            path = child(events_path, name)
            event = as_mapping(event_value, path)
            if event.get("Type") != "Api":
                continue
            event_props = as_mapping(event.get("Properties"), child(path, "Properties"))
            props_path = child(path, "Properties")
            route_path = as_str(
                self.resolver.resolve(event_props.get("Path"), child(props_path, "Path")),
                child(props_path, "Path"),
                pattern=r"/\S*",
                allowed="must start with '/'",
            )
            method_path = child(props_path, "Method")
            method = as_str(
                self.resolver.resolve(event_props.get("Method"), method_path), method_path
            )
            if method.lower() not in _EVENT_METHODS:
                raise fail(
                    method_path,
                    f"{show(method)} is not an HTTP method: allowed are "
                    f"{', '.join(m.lower() for m in _EVENT_METHODS.values())}",
                )
            api = self._rest_api_id(event_props.get("RestApiId"), child(props_path, "RestApiId"))
            specs.append(ApiEventSpec(name, api, route_path, _EVENT_METHODS[method.lower()]))
        return tuple(specs)

    def _rest_api_id(self, value: Any, path: str) -> str:
        if value is None:
            return IMPLICIT_API_ID
        target = value.get("Ref") if isinstance(value, Mapping) and len(value) == 1 else value
        if isinstance(target, str) and self.resources.get(target, {}).get("Type") == API_TYPE:
            return target
        raise fail(path, f"{show(value)} must be a Ref to an AWS::Serverless::Api of this template")

    # --- APIs ---------------------------------------------------------------------------

    def _api(self, lid: str, functions: tuple[FunctionSpec, ...]) -> ApiSpec:
        base = f"Resources.{lid}.Properties"
        props = _Props(self.resolver, base, self._local(lid), self.api_globals, "Globals.Api")
        stage = as_str(
            props.require("StageName", " for an AWS::Serverless::Api"),
            props.path("StageName"),
            pattern=_STAGE_NAME,
            allowed="1-128 letters, digits, '-' or '_'",
        )
        routes, binary = self._definition(lid, props, functions)
        return self._api_spec(lid, props, stage, routes, binary, functions, implicit=False)

    def _implicit_api(self, functions: tuple[FunctionSpec, ...]) -> ApiSpec:
        base = f"Resources.{IMPLICIT_API_ID}.Properties"
        props = _Props(self.resolver, base, {}, self.api_globals, "Globals.Api")
        return self._api_spec(
            IMPLICIT_API_ID, props, IMPLICIT_STAGE, [], [], functions, implicit=True
        )

    def _api_spec(
        self,
        lid: str,
        props: _Props,
        stage: str,
        routes: list[RouteSpec],
        binary: list[str],
        functions: tuple[FunctionSpec, ...],
        *,
        implicit: bool,
    ) -> ApiSpec:
        media_path = props.path("BinaryMediaTypes")
        media = [
            as_str(m, child(media_path, i)).replace("~1", "/")
            for i, m in enumerate(as_list(props.get("BinaryMediaTypes") or [], media_path))
        ]
        return ApiSpec(
            logical_id=lid,
            name=as_str(props.get("Name") or lid, props.path("Name")),
            stage_name=stage,
            variables=_stage_variables(props.get("Variables") or {}, props.path("Variables")),
            canary_setting=_canary_setting(props.get("CanarySetting"), props.path("CanarySetting")),
            binary_media_types=tuple(dict.fromkeys([*binary, *media])),
            routes=tuple(self._with_event_routes(lid, routes, functions)),
            implicit=implicit,
        )

    def _definition(
        self, lid: str, props: _Props, functions: tuple[FunctionSpec, ...]
    ) -> tuple[list[RouteSpec], list[str]]:
        by_name = {f.function_name: f.logical_id for f in functions}
        has_body = "DefinitionBody" in props.merged
        if has_body and "DefinitionUri" in props.merged:
            raise fail(
                props.path("DefinitionUri"), "cannot be combined with DefinitionBody: use one"
            )
        if has_body:
            body_path = props.path("DefinitionBody")
            return definition_routes(
                props.merged["DefinitionBody"], body_path, self.resolver, by_name
            )
        if "DefinitionUri" not in props.merged:
            return [], []
        uri_path = props.path("DefinitionUri")
        uri = props.get("DefinitionUri")
        if not isinstance(uri, str) or uri.startswith("s3://"):
            raise fail(uri_path, f"{show(uri)} is not supported locally: use a local file path")
        file = (self.root / uri).resolve()
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise fail(uri_path, f"{show(uri)} cannot be read: {exc.strerror} ({file})") from None
        body = load_cfn_yaml(text, str(file.name))
        return definition_routes(body, f"{uri} ({lid}.DefinitionUri)", self.resolver, by_name)

    def _with_event_routes(
        self, api_id: str, routes: list[RouteSpec], functions: tuple[FunctionSpec, ...]
    ) -> list[RouteSpec]:
        declared: dict[tuple[str, str], str] = {
            (r.path, r.method): "DefinitionBody" for r in routes
        }
        result = list(routes)
        for fn in functions:
            for event in fn.api_events:
                if event.rest_api != api_id:
                    continue
                key = (event.path, event.method)
                where = f"Resources.{fn.logical_id}.Properties.Events.{event.name}"
                if key in declared:
                    if declared[key] == "DefinitionBody":
                        continue  # SAM keeps the DefinitionBody's integration
                    raise fail(
                        where,
                        f"{event.method} {event.path} is already routed by {declared[key]} "
                        f"on {api_id}: each method and path may be defined once",
                    )
                declared[key] = where
                arn = function_arn(
                    self.context.region,
                    self.context.account_id,
                    fn.function_name,
                    fn.auto_publish_alias,
                )
                uri = lambda_integration_uri(self.context.region, arn)
                integration = IntegrationSpec(
                    "AWS_PROXY", uri, fn.logical_id, fn.auto_publish_alias
                )
                result.append(RouteSpec(event.path, event.method, integration))
        return result

    # --- alarms -------------------------------------------------------------------------

    def _alarm(self, lid: str) -> AlarmSpec:
        base = f"Resources.{lid}.Properties"
        name = self.resolver.alarm_name(lid)
        as_str(name, child(base, "AlarmName"), pattern=r".{1,255}", allowed="1-255 characters")
        props = as_mapping(self.resolver.resolve(self._local(lid), base), base)
        return AlarmSpec(lid, name, put_metric_alarm_input(props, name, base))


# --- helpers ---------------------------------------------------------------------------------


def _resources(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    section = as_mapping(template.get("Resources") or {}, "Resources")
    resources: dict[str, Mapping[str, Any]] = {}
    for lid, value in section.items():
        path = child("Resources", lid)
        if not re.fullmatch(r"[A-Za-z0-9]+", lid):
            raise fail(path, "a logical id must be alphanumeric (A-Z, a-z, 0-9)")
        resource = as_mapping(value, path)
        kind = as_str(resource.get("Type"), child(path, "Type"))
        if "Condition" in resource and kind in (FUNCTION_TYPE, API_TYPE, ALARM_TYPE):
            raise fail(
                child(path, "Condition"),
                "conditions are not evaluated by the local engine; remove the Condition",
            )
        resources[lid] = resource
    return resources


def _check_transform(template: Mapping[str, Any], resources: Mapping[str, Any]) -> None:
    raw = template.get("Transform")
    transforms = [] if raw is None else [raw] if isinstance(raw, str) else raw
    for i, name in enumerate(as_list(transforms, "Transform")):
        if name != SAM_TRANSFORM:
            where = "Transform" if isinstance(raw, str) else child("Transform", i)
            raise fail(where, f"{show(name)} is not supported locally: allowed is {SAM_TRANSFORM}")
    serverless = [lid for lid, r in resources.items() if r["Type"].startswith("AWS::Serverless::")]
    if serverless and SAM_TRANSFORM not in transforms:
        raise fail(
            "Transform",
            f"{SAM_TRANSFORM} is required for {resources[serverless[0]]['Type']} "
            f"(Resources.{serverless[0]})",
        )


def _uses_implicit_api(function_props: Mapping[str, Mapping[str, Any]]) -> bool:
    for props in function_props.values():
        events = props.get("Events")
        if not isinstance(events, Mapping):
            continue
        for event in events.values():
            if isinstance(event, Mapping) and event.get("Type") == "Api":
                event_props = event.get("Properties")
                if not isinstance(event_props, Mapping) or "RestApiId" not in event_props:
                    return True
    return False


def _optional_int(props: _Props, key: str, default: int, low: int, high: int, unit: str) -> int:
    value = props.get(key)
    if value is None:
        return default
    return as_int(value, props.path(key), low=low, high=high, unit=unit)


def _optional_str(value: Any, path: str) -> str | None:
    return None if value is None else as_str(value, path)


def _stage_variables(value: Any, path: str) -> dict[str, str]:
    return as_str_map(
        value,
        path,
        key_pattern=_STAGE_VAR_KEY,
        key_allowed="1-64 letters, digits or '_'",
        value_pattern=_STAGE_VAR_VALUE,
        value_allowed="1-512 characters from A-Z a-z 0-9 - . _ ~ : / ? # & = ,",
    )


def _canary_setting(value: Any, path: str) -> CanarySettingSpec | None:
    if value is None:
        return None
    setting = as_mapping(value, path)
    extra = sorted(set(setting) - _CANARY_KEYS)
    if extra:
        raise fail(
            child(path, extra[0]),
            f"is not a CanarySetting property: allowed are {', '.join(sorted(_CANARY_KEYS))}",
        )
    percent = setting.get("PercentTraffic", 0.0)
    return CanarySettingSpec(
        percent_traffic=as_float(percent, child(path, "PercentTraffic"), low=0.0, high=100.0),
        stage_variable_overrides=_stage_variables(
            setting.get("StageVariableOverrides") or {}, child(path, "StageVariableOverrides")
        ),
        use_stage_cache=as_bool(setting.get("UseStageCache", False), child(path, "UseStageCache")),
    )


def _check_unique(names: list[str], field: str, specs: tuple[Any, ...]) -> None:
    for i, name in enumerate(names):
        if name in names[:i]:
            first = specs[names.index(name)].logical_id
            raise fail(
                f"Resources.{specs[i].logical_id}.Properties.{field}",
                f"{show(name)} is already the name of {first}: names must be unique",
            )
