"""A SAM template's APIs as :class:`ApiSpec`: ``AWS::Serverless::Api`` resources and SAM's
implicit ``ServerlessRestApi``.

An API's routes come from its OpenAPI definition (``DefinitionBody`` inline, or a local
``DefinitionUri`` file; read by :mod:`apicanary.project.openapi`, intrinsics resolved in the
integration fields) and from the ``Api`` events of the template's functions. A method defined
both in the definition and by an event keeps the definition's integration, as SAM does; the
same method from two events is an error. Stage name, stage variables, ``CanarySetting`` and
binary media types are checked against API Gateway's limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from apicanary.arns import function_arn, integration_target, integration_uri
from apicanary.project.cfn_yaml import load_cfn_yaml
from apicanary.project.fields import (
    as_bool,
    as_float,
    as_int,
    as_list,
    as_mapping,
    as_str,
    as_str_list,
    as_str_map,
    child,
    fail,
    show,
)
from apicanary.project.intrinsics import Resolver, StackContext
from apicanary.project.openapi import BINARY_KEY, INTEGRATION_KEY, Operation, read_definition
from apicanary.project.props import Props
from apicanary.project.sam_template import SamTemplate
from apicanary.project.specs import (
    IMPLICIT_API_ID,
    ApiSpec,
    CanarySettingSpec,
    FunctionSpec,
    IntegrationSpec,
    RouteSpec,
)

IMPLICIT_STAGE: Final = "Prod"
INTEGRATION_TYPES: Final = ("AWS_PROXY", "AWS", "HTTP_PROXY", "HTTP", "MOCK")
STAGE_NAME_PATTERN = r"[A-Za-z0-9_-]{1,128}"
_STAGE_VAR_KEY = r"[A-Za-z0-9_]{1,64}"
_STAGE_VAR_VALUE = r"[A-Za-z0-9\-._~:/?#&=,]{1,512}"
_CANARY_KEYS: Final = frozenset(
    {"PercentTraffic", "StageVariableOverrides", "UseStageCache", "DeploymentId"}
)


def api_spec(template: SamTemplate, lid: str, functions: tuple[FunctionSpec, ...]) -> ApiSpec:
    """The ``AWS::Serverless::Api`` ``lid``: its stage, canary, definition and event routes."""
    props = template.props(lid, "Api")
    stage = as_str(
        props.require("StageName", " for an AWS::Serverless::Api"),
        props.path("StageName"),
        pattern=STAGE_NAME_PATTERN,
        allowed="1-128 letters, digits, '-' or '_'",
    )
    routes, binary, document = _definition(template, lid, props, functions)
    api = _api_spec(template, lid, props, stage, routes, binary, functions, implicit=False)
    return replace(api, definition=document)


def implicit_api_spec(template: SamTemplate, functions: tuple[FunctionSpec, ...]) -> ApiSpec:
    """SAM's ``ServerlessRestApi`` (stage ``Prod``): the routes of events naming no API."""
    props = template.props(IMPLICIT_API_ID, "Api")
    return _api_spec(
        template, IMPLICIT_API_ID, props, IMPLICIT_STAGE, [], [], functions, implicit=True
    )


def _api_spec(
    template: SamTemplate,
    lid: str,
    props: Props,
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
        variables=stage_variables(props.get("Variables") or {}, props.path("Variables")),
        canary_setting=canary_setting(props.get("CanarySetting"), props.path("CanarySetting")),
        binary_media_types=tuple(dict.fromkeys([*binary, *media])),
        routes=tuple(_with_event_routes(template.context, lid, routes, functions)),
        implicit=implicit,
        access_log=access_log_setting(
            props.get("AccessLogSetting"), props.path("AccessLogSetting")
        ),
    )


def access_log_setting(value: Any, path: str) -> tuple[str, str] | None:
    """A stage's ``AccessLogSetting`` ``{DestinationArn, Format}`` (both required), or None."""
    if value is None:
        return None
    setting = as_mapping(value, path)
    extra = sorted(set(setting) - {"DestinationArn", "Format"})
    if extra:
        raise fail(
            child(path, extra[0]),
            "is not an AccessLogSetting property: allowed are DestinationArn, Format",
        )
    arn = as_str(setting.get("DestinationArn"), child(path, "DestinationArn"))
    if ":log-group:" not in arn:
        raise fail(child(path, "DestinationArn"), f"{show(arn)} is not a log group ARN")
    return arn, as_str(setting.get("Format"), child(path, "Format"))


def _definition(
    template: SamTemplate, lid: str, props: Props, functions: tuple[FunctionSpec, ...]
) -> tuple[list[RouteSpec], list[str], Mapping[str, Any]]:
    """The routes, binary media types and the OpenAPI document (as written) of an API."""
    by_name = {f.function_name: f.logical_id for f in functions}
    has_body = "DefinitionBody" in props.merged
    if has_body and "DefinitionUri" in props.merged:
        raise fail(props.path("DefinitionUri"), "cannot be combined with DefinitionBody: use one")
    if has_body:
        body_path = props.path("DefinitionBody")
        body = props.merged["DefinitionBody"]
        routes, binary = definition_routes(body, body_path, template.resolver, by_name)
        return routes, binary, body
    if "DefinitionUri" not in props.merged:
        return [], [], {}
    uri_path = props.path("DefinitionUri")
    uri = props.get("DefinitionUri")
    if not isinstance(uri, str) or uri.startswith("s3://"):
        raise fail(uri_path, f"{show(uri)} is not supported locally: use a local file path")
    file = (template.root / uri).resolve()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(uri_path, f"{show(uri)} cannot be read: {exc.strerror} ({file})") from None
    body = load_cfn_yaml(text, str(file.name))
    where = f"{uri} ({lid}.DefinitionUri)"
    routes, binary = definition_routes(body, where, template.resolver, by_name)
    return routes, binary, body


def _with_event_routes(
    context: StackContext, api_id: str, routes: list[RouteSpec], functions: tuple[FunctionSpec, ...]
) -> list[RouteSpec]:
    declared: dict[tuple[str, str], str] = {(r.path, r.method): "DefinitionBody" for r in routes}
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
                fn.function_name,
                fn.auto_publish_alias,
                region=context.region,
                account=context.account_id,
            )
            uri = integration_uri(arn, region=context.region)
            integration = IntegrationSpec("AWS_PROXY", uri, fn.logical_id, fn.auto_publish_alias)
            result.append(RouteSpec(event.path, event.method, integration))
    return result


# --- stages -------------------------------------------------------------------------


def stage_variables(value: Any, path: str) -> dict[str, str]:
    """Stage variables (or canary overrides) checked against API Gateway's name/value rules."""
    return as_str_map(
        value,
        path,
        key_pattern=_STAGE_VAR_KEY,
        key_allowed="1-64 letters, digits or '_'",
        value_pattern=_STAGE_VAR_VALUE,
        value_allowed="1-512 characters from A-Z a-z 0-9 - . _ ~ : / ? # & = ,",
    )


def canary_setting(value: Any, path: str) -> CanarySettingSpec | None:
    """A stage's ``CanarySetting`` (or a deployment's canary settings), resolved, or None."""
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
        stage_variable_overrides=stage_variables(
            setting.get("StageVariableOverrides") or {}, child(path, "StageVariableOverrides")
        ),
        use_stage_cache=as_bool(setting.get("UseStageCache", False), child(path, "UseStageCache")),
    )


# --- the OpenAPI definition -------------------------------------------------------------------


def definition_routes(
    body: Any, path: str, resolver: Resolver, functions_by_name: Mapping[str, str]
) -> tuple[list[RouteSpec], list[str]]:
    """The routes and binary media types declared by an OpenAPI document at ``path``."""
    document = as_mapping(body, path)
    if len(document) == 1 and next(iter(document)).startswith("Fn::"):
        raise fail(
            path,
            f"{next(iter(document))} is not supported in a DefinitionBody by the local engine; "
            "inline the OpenAPI document",
        )
    binary_path = child(path, BINARY_KEY)
    binary = as_str_list(resolver.resolve(document.get(BINARY_KEY, []), binary_path), binary_path)
    routes = [
        RouteSpec(op.path, op.method, _integration(op, resolver, functions_by_name))
        for op in read_definition(document, path).operations
    ]
    return routes, binary


def lambda_target(uri: str, functions_by_name: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``(function logical id, qualifier)`` invoked by a Lambda integration ``uri``.

    The logical id is None when the function is not one of ``functions_by_name`` (function
    name → logical id), e.g. a name taken from a stage variable. The qualifier is kept as
    written (``live``, ``7`` or ``${stageVariables.lambdaAlias}``).
    """
    target = integration_target(uri)
    if target is None:
        return None, None
    return functions_by_name.get(target.name), target.qualifier


def _integration(
    operation: Operation, resolver: Resolver, functions_by_name: Mapping[str, str]
) -> IntegrationSpec:
    if operation.integration is None:
        raise fail(
            operation.location, f"has no {INTEGRATION_KEY}: every method needs an integration"
        )
    integration = operation.integration
    int_path = child(operation.location, INTEGRATION_KEY)
    type_path = child(int_path, "type")
    kind = as_str(resolver.resolve(integration.get("type", ""), type_path), type_path).upper()
    if kind not in INTEGRATION_TYPES:
        raise fail(
            type_path,
            f"{show(kind.lower())} is not an integration type: must be one of "
            f"{', '.join(t.lower() for t in INTEGRATION_TYPES)}",
        )
    uri_path = child(int_path, "uri")
    if "uri" not in integration:
        if kind != "MOCK":
            raise fail(uri_path, f"is required for a {kind.lower()} integration")
        return IntegrationSpec(kind, None)
    uri = as_str(resolver.resolve(integration["uri"], uri_path), uri_path)
    function, qualifier = (None, None)
    if kind in ("AWS_PROXY", "AWS"):
        function, qualifier = lambda_target(uri, functions_by_name)
    timeout = None
    if "timeoutInMillis" in integration:
        timeout_path = child(int_path, "timeoutInMillis")
        raw = resolver.resolve(integration["timeoutInMillis"], timeout_path)
        timeout = as_int(raw, timeout_path, low=50, high=29_000, unit="milliseconds")
    return IntegrationSpec(kind, uri, function, qualifier, timeout)
