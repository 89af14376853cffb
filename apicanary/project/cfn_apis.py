"""A CloudFormation template's REST APIs as :class:`ApiSpec`, one per stage.

An ``AWS::ApiGateway::RestApi``'s routes come from its OpenAPI ``Body``, or ``BodyS3Location``
read from a local file (the CDK asset of ``aws:asset:path`` with ``aws:asset:property:
BodyS3Location``, else the ``Key`` next to the template), and from its ``Method`` resources
(:mod:`apicanary.project.cfn_methods`); a method declared by both is an error. Its name is
``Name``, else the definition's ``info.title``, else the logical id.

Its stages are its ``AWS::ApiGateway::Stage`` resources (``StageName``, ``Variables``,
``CanarySetting``) and the stages its ``AWS::ApiGateway::Deployment`` resources create with
``StageName`` (``StageDescription.Variables``/``CanarySetting``); a deployment's
``DeploymentCanarySettings`` is the canary of a stage that must already exist, as API Gateway
requires. Each stage becomes one :class:`ApiSpec` (all with the API's logical id, so the engine
makes one API with several stages). As with SAM's ``CanarySetting``, a stage canary is read
(``doctor`` checks it) and the engine starts the stage without it: stage canaries are what
``rollout start --mode stage`` drives. An API with no stage is served nowhere, as on AWS, and
listed in the warnings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apicanary.project.cfn_code import ASSET_PATH, ASSET_PROPERTY
from apicanary.project.cfn_methods import method_routes
from apicanary.project.cfn_refs import DEPLOYMENT, REST_API, STAGE
from apicanary.project.cfn_template import CfnTemplate
from apicanary.project.cfn_yaml import load_cfn_yaml
from apicanary.project.fields import as_list, as_mapping, as_str, child, fail, show
from apicanary.project.props import Props
from apicanary.project.sam_apis import (
    STAGE_NAME_PATTERN,
    access_log_setting,
    canary_setting,
    definition_routes,
    stage_variables,
)
from apicanary.project.specs import ApiSpec, CanarySettingSpec, FunctionSpec, RouteSpec


@dataclass
class _Stage:
    name: str
    variables: dict[str, str] = field(default_factory=dict)
    canary: CanarySettingSpec | None = None
    access_log: tuple[str, str] | None = None


def rest_apis(
    template: CfnTemplate, functions: list[FunctionSpec], warnings: list[str]
) -> list[ApiSpec]:
    """Every REST API of ``template`` with a stage, as one spec per stage."""
    by_name = {f.function_name: f.logical_id for f in functions}
    specs = []
    for lid in template.ids_of(REST_API):
        props = template.props(lid)
        if props.get("CloneFrom") is not None:
            raise fail(props.path("CloneFrom"), "is not supported locally: define the API here")
        body, body_path = _body(template, lid, props)
        routes, binary = ([], []) if body is None else definition_routes(
            body, body_path, template.resolver, by_name
        )  # fmt: skip
        routes = _merged(routes, method_routes(template, lid, by_name), lid)
        media_path = props.path("BinaryMediaTypes")
        media = [
            as_str(m, child(media_path, i)).replace("~1", "/")
            for i, m in enumerate(as_list(props.get("BinaryMediaTypes") or [], media_path))
        ]
        title = body.get("info", {}).get("title") if isinstance(body, Mapping) else None
        name = as_str(props.get("Name") or title or lid, props.path("Name"))
        stages = _stages(template, lid)
        if not stages:
            warnings.append(
                f"Resources.{lid} (AWS::ApiGateway::RestApi): not served (it has no stage: "
                "add an AWS::ApiGateway::Stage, or a Deployment with StageName)"
            )
        for stage in stages:
            specs.append(
                ApiSpec(
                    logical_id=lid,
                    name=name,
                    stage_name=stage.name,
                    variables=stage.variables,
                    canary_setting=stage.canary,
                    binary_media_types=tuple(dict.fromkeys([*binary, *media])),
                    routes=tuple(routes),
                    definition=body if isinstance(body, Mapping) else {},
                    access_log=stage.access_log,
                )
            )
    return specs


def _body(template: CfnTemplate, lid: str, props: Props) -> tuple[Any, str]:
    """The API's OpenAPI document (unresolved: integrations are resolved by the reader)."""
    local = template.local_properties(lid)
    if "Body" in local and "BodyS3Location" in local:
        raise fail(props.path("BodyS3Location"), "cannot be combined with Body: use one")
    if "Body" in local:
        return local["Body"], props.path("Body")
    if "BodyS3Location" not in local:
        return None, ""
    path = props.path("BodyS3Location")
    metadata = template.metadata(lid)
    asset = metadata.get(ASSET_PATH)
    if isinstance(asset, str) and metadata.get(ASSET_PROPERTY) == "BodyS3Location":
        relative, where = asset, f"Resources.{lid}.Metadata.{ASSET_PATH}"
    else:
        location = as_mapping(props.get("BodyS3Location"), path)
        relative, where = as_str(location.get("Key"), child(path, "Key")), child(path, "Key")
    file = (template.root / relative).resolve()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(
            where,
            f"{show(relative)} cannot be read next to the template ({exc.strerror}: {file}); "
            "the local engine does not read S3",
        ) from None
    return load_cfn_yaml(text, file.name), f"{relative} ({lid}.BodyS3Location)"


def _merged(definition: list[RouteSpec], methods: list[RouteSpec], api: str) -> list[RouteSpec]:
    declared = {(r.path, r.method) for r in definition}
    for route in methods:
        if (route.path, route.method) in declared:
            raise fail(
                f"Resources.{api}",
                f"{route.method} {route.path} is declared by both the Body and a Method "
                "resource: declare it once",
            )
    return [*definition, *methods]


def _stages(template: CfnTemplate, api: str) -> list[_Stage]:
    stages: dict[str, _Stage] = {}
    deployments = [lid for lid in template.ids_of(DEPLOYMENT) if _api_of(template, lid) == api]
    for lid in template.ids_of(STAGE):
        if _api_of(template, lid) != api:
            continue
        props = template.props(lid)
        stage = _Stage(_stage_name(props))
        if stage.name in stages:
            raise fail(props.path("StageName"), f"{show(stage.name)} is a stage of {api} already")
        stage.variables = stage_variables(props.get("Variables") or {}, props.path("Variables"))
        setting = props.get("CanarySetting")
        if setting is not None:
            target = as_mapping(setting, props.path("CanarySetting")).get("DeploymentId")
            if target is not None and target not in deployments:
                raise fail(
                    child(props.path("CanarySetting"), "DeploymentId"),
                    f"{show(target)} is no AWS::ApiGateway::Deployment of {api}",
                )
        stage.canary = canary_setting(setting, props.path("CanarySetting"))
        stage.access_log = access_log_setting(
            props.get("AccessLogSetting"), props.path("AccessLogSetting")
        )
        stages[stage.name] = stage
    declared = set(stages)
    for lid in deployments:
        props = template.props(lid)
        if props.get("StageName") is None:
            continue
        name = _stage_name(props)
        canary = props.get("DeploymentCanarySettings")
        if canary is not None:
            if name not in declared:
                raise fail(
                    props.path("DeploymentCanarySettings"),
                    f"stage {name} must already be created before making a canary release "
                    "deployment: declare it as an AWS::ApiGateway::Stage",
                )
            setting = canary_setting(canary, props.path("DeploymentCanarySettings"))
            stages[name].canary = setting
            continue
        if name in stages:
            continue
        description_path = props.path("StageDescription")
        description = as_mapping(props.get("StageDescription") or {}, description_path)
        stage = _Stage(name)
        stage.variables = stage_variables(
            description.get("Variables") or {}, child(description_path, "Variables")
        )
        stage.canary = canary_setting(
            description.get("CanarySetting"), child(description_path, "CanarySetting")
        )
        stages[name] = stage
    return list(stages.values())


def _api_of(template: CfnTemplate, lid: str) -> Any:
    return template.props(lid).require("RestApiId")


def _stage_name(props: Props) -> str:
    return as_str(
        props.require("StageName"),
        props.path("StageName"),
        pattern=STAGE_NAME_PATTERN,
        allowed="1-128 letters, digits, '-' or '_'",
    )
