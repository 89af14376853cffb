"""A SAM template's ``AWS::Serverless::Function`` resources as :class:`FunctionSpec`.

What the local engine runs is checked here: Zip packages with code in a directory next to the
template (``CodeUri``), ``python3.x`` runtimes, a ``module.function`` handler, Timeout and
MemorySize within Lambda's limits, environment variable names; plus what a rollout needs from
SAM: ``AutoPublishAlias``, ``DeploymentPreference`` (Type, Alarms, Hooks, Enabled) and the
function's ``Api`` events (routes of the implicit or a named API).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from apicanary.project.fields import (
    as_bool,
    as_int,
    as_list,
    as_mapping,
    as_str,
    as_str_map,
    child,
    fail,
    show,
)
from apicanary.project.intrinsics import API_TYPE, NO_VALUE, Resolver
from apicanary.project.openapi import METHODS
from apicanary.project.props import Props
from apicanary.project.sam_template import SamTemplate
from apicanary.project.specs import (
    IMPLICIT_API_ID,
    ApiEventSpec,
    DeploymentPreferenceSpec,
    FunctionSpec,
)

_RUNTIME = r"python3\.\d+"
_HANDLER = r"(?:[\w-]+/)*[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\.[A-Za-z_]\w*"
_FUNCTION_NAME = r"[a-zA-Z0-9_-]{1,64}"
_ENV_KEY = r"[a-zA-Z][a-zA-Z0-9_]+"
_EVENT_METHODS: Final = {"any": "ANY", **{k: v for k, v in METHODS.items() if v != "ANY"}}
_DEPLOYMENT_PREFERENCE_KEYS: Final = frozenset({"Type", "Alarms", "Hooks", "Enabled"})


def function_spec(template: SamTemplate, lid: str) -> FunctionSpec:
    """The function ``lid`` as the engine runs it (Globals merged, intrinsics resolved)."""
    props = template.props(lid, "Function")
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
    name = checked_function_name(template.resolver, lid, props)
    alias = template.resolver.function_alias(lid)
    return FunctionSpec(
        logical_id=lid,
        function_name=name,
        code_dir=_code_dir(template.root, props),
        **runtime_fields(props),
        auto_publish_alias=alias,
        deployment_preference=_deployment_preference(template.resolver, props, alias),
        api_events=_api_events(template, props),
        provisioned_concurrency=_provisioned_concurrency(props),
    )


def _provisioned_concurrency(props: Props) -> int | None:
    config = props.get("ProvisionedConcurrencyConfig")
    if config is None:
        return None
    path = props.path("ProvisionedConcurrencyConfig")
    value = as_mapping(config, path).get("ProvisionedConcurrentExecutions")
    return as_int(value, child(path, "ProvisionedConcurrentExecutions"), low=1)


def checked_function_name(resolver: Resolver, lid: str, props: Props) -> str:
    """Function ``lid``'s local name (``FunctionName`` or the logical id), checked."""
    return as_str(
        resolver.function_name(lid),
        props.path("FunctionName"),
        pattern=_FUNCTION_NAME,
        allowed="1-64 letters, digits, '-' or '_'",
    )


def runtime_fields(props: Props) -> dict[str, Any]:
    """What the engine runs a function with, read and checked: the :class:`FunctionSpec`
    fields ``handler``, ``runtime``, ``timeout``, ``memory_size``, ``environment``,
    ``description``, ``logging_config`` and ``reserved_concurrency`` (the same properties in
    SAM and CloudFormation).
    """
    return dict(
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
        environment=_environment(props),
        description=as_str(props.get("Description") or "", props.path("Description")),
        logging_config=logging_config(props.get("LoggingConfig"), props.path("LoggingConfig")),
        reserved_concurrency=(
            None
            if props.get("ReservedConcurrentExecutions") is None
            else as_int(
                props.get("ReservedConcurrentExecutions"),
                props.path("ReservedConcurrentExecutions"),
                low=0,
            )
        ),
    )


_LOGGING_VALUES: Final = {
    "LogFormat": ("Text", "JSON"),
    "ApplicationLogLevel": ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"),
    "SystemLogLevel": ("DEBUG", "INFO", "WARN"),
    "LogGroup": None,
}


def logging_config(value: Any, path: str) -> dict[str, str]:
    """``LoggingConfig`` (``LogFormat`` Text|JSON, the two log levels with JSON only,
    ``LogGroup``), checked; empty when absent."""
    if value is None:
        return {}
    config = as_str_map(value, path)
    for key, text in config.items():
        if key not in _LOGGING_VALUES:
            raise fail(
                child(path, key),
                f"is not a LoggingConfig property: allowed are {', '.join(_LOGGING_VALUES)}",
            )
        allowed = _LOGGING_VALUES[key]
        if allowed is not None and text not in allowed:
            raise fail(child(path, key), f"{show(text)} must be one of {', '.join(allowed)}")
    levels = [k for k in ("ApplicationLogLevel", "SystemLogLevel") if k in config]
    if levels and config.get("LogFormat") != "JSON":
        raise fail(child(path, levels[0]), "log levels need LogFormat: JSON")
    return config


def _code_dir(root: Path, props: Props) -> Path:
    path = props.path("CodeUri")
    code_uri = props.require(
        "CodeUri", ": the local engine runs code from a directory next to the template"
    )
    if isinstance(code_uri, Mapping) or (
        isinstance(code_uri, str) and code_uri.startswith("s3://")
    ):
        raise fail(path, f"{show(code_uri)} is not supported locally: use a local directory")
    code_dir = (root / as_str(code_uri, path)).resolve()
    if not code_dir.is_dir():
        what = "is not a directory" if code_dir.exists() else "does not exist"
        raise fail(path, f"{show(code_uri)} {what} ({code_dir})")
    return code_dir


def _environment(props: Props) -> dict[str, str]:
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
    resolver: Resolver, props: Props, alias: str | None
) -> DeploymentPreferenceSpec | None:
    raw_value = props.merged.get("DeploymentPreference")
    if raw_value is None:
        return None
    path = props.path("DeploymentPreference")
    raw = as_mapping(raw_value, path)
    if alias is None:
        raise fail(path, "requires AutoPublishAlias on the function (the alias it shifts)")

    def resolved(key: str) -> Any:
        value = resolver.resolve(raw.get(key), child(path, key))
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


def _api_events(template: SamTemplate, props: Props) -> tuple[ApiEventSpec, ...]:
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
            template.resolver.resolve(event_props.get("Path"), child(props_path, "Path")),
            child(props_path, "Path"),
            pattern=r"/\S*",
            allowed="must start with '/'",
        )
        method_path = child(props_path, "Method")
        method = as_str(
            template.resolver.resolve(event_props.get("Method"), method_path), method_path
        )
        if method.lower() not in _EVENT_METHODS:
            raise fail(
                method_path,
                f"{show(method)} is not an HTTP method: allowed are "
                f"{', '.join(m.lower() for m in _EVENT_METHODS.values())}",
            )
        api = _rest_api_id(template, event_props.get("RestApiId"), child(props_path, "RestApiId"))
        specs.append(ApiEventSpec(name, api, route_path, _EVENT_METHODS[method.lower()]))
    return tuple(specs)


def _rest_api_id(template: SamTemplate, value: Any, path: str) -> str:
    if value is None:
        return IMPLICIT_API_ID
    target = value.get("Ref") if isinstance(value, Mapping) and len(value) == 1 else value
    if isinstance(target, str) and template.resources.get(target, {}).get("Type") == API_TYPE:
        return target
    raise fail(path, f"{show(value)} must be a Ref to an AWS::Serverless::Api of this template")


def _optional_int(props: Props, key: str, default: int, low: int, high: int, unit: str) -> int:
    value = props.get(key)
    if value is None:
        return default
    return as_int(value, props.path(key), low=low, high=high, unit=unit)


def _optional_str(value: Any, path: str) -> str | None:
    return None if value is None else as_str(value, path)
