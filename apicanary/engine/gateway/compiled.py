"""The gateway's compiled view of API Gateway's state: what the request path reads.

:func:`compile_gateway` turns the control plane's immutable :class:`GatewaySnapshot` into
lookup structures: per API its stages, per stage its deployment's route table and its canary
arm (deployment, percentage, stage variables with the overrides merged in), per route its
integration parsed once (the Lambda function reference, or why it cannot run), and the
gateway's fixed answers as the API's customized gateway responses make them. Deployments
never change, so their route tables are compiled once and reused across snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from apicanary.arns import parse_integration_uri
from apicanary.engine.apigateway.snapshot import ApiSnapshot, DeploymentSnapshot, GatewaySnapshot
from apicanary.engine.gateway.custom_responses import customized_answers
from apicanary.engine.gateway.invocation import FixedAnswers
from apicanary.engine.gateway.media_types import BinaryMediaTypes
from apicanary.engine.gateway.responses import (
    FUNCTION_ERROR,
    INTEGRATION_REJECTED,
    INTEGRATION_TIMEOUT,
    GatewayResponse,
)
from apicanary.engine.gateway.routes import Route, RouteTable, compile_routes

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Integration:
    """A route's integration, parsed once: the Lambda function reference or why it cannot run."""

    function_ref: str | None  # function name/ARN text, may hold ${stageVariables.x}
    templated: bool
    timeout_s: float
    unsupported: str | None  # a reason this integration answers 500, or None


@dataclass(frozen=True, slots=True)
class CompiledDeployment:
    id: str
    table: RouteTable[Integration]
    binary: BinaryMediaTypes | None = None  # None: the API's current binaryMediaTypes apply


@dataclass(frozen=True, slots=True)
class CanaryArm:
    percent: float
    deployment: CompiledDeployment
    variables: Mapping[str, str]  # stage variables with the overrides merged in


@dataclass(frozen=True, slots=True)
class CompiledStage:
    name: str
    deployment: CompiledDeployment
    variables: Mapping[str, str]
    canary: CanaryArm | None


@dataclass(frozen=True, slots=True)
class CompiledApi:
    id: str
    name: str
    binary: BinaryMediaTypes
    stages: Mapping[str, CompiledStage]
    #: the gateway's fixed answers this API customized (:mod:`.custom_responses`)
    answers: Mapping[GatewayResponse, GatewayResponse] = field(default_factory=dict)
    #: the answers to a failed invocation, customized (what :mod:`.invocation` sends)
    fixed: FixedAnswers = field(init=False)

    def __post_init__(self) -> None:
        failed = (INTEGRATION_REJECTED, FUNCTION_ERROR, INTEGRATION_TIMEOUT)
        object.__setattr__(self, "fixed", FixedAnswers(*map(self.answer, failed)))

    def answer(self, response: GatewayResponse) -> GatewayResponse:
        """``response`` as this API's gateway responses say it is sent."""
        return self.answers.get(response, response) if self.answers else response


@dataclass(frozen=True, slots=True)
class CompiledGateway:
    revision: int
    apis: Mapping[str, CompiledApi]
    deployments: Mapping[str, CompiledDeployment]


EMPTY_GATEWAY = CompiledGateway(-1, _EMPTY, _EMPTY)  # type: ignore[arg-type]


def compile_gateway(snapshot: GatewaySnapshot, previous: CompiledGateway) -> CompiledGateway:
    """Compile ``snapshot``, reusing route tables of deployments already compiled."""
    deployments: dict[str, CompiledDeployment] = {}
    apis: dict[str, CompiledApi] = {}
    for api in snapshot.apis.values():
        for deployment in api.deployments.values():
            key = f"{api.id}/{deployment.id}"
            deployments[key] = previous.deployments.get(key) or _compile_deployment(deployment)
        apis[api.id] = _compile_api(api, deployments)
    return CompiledGateway(snapshot.revision, MappingProxyType(apis), MappingProxyType(deployments))


def _compile_deployment(deployment: DeploymentSnapshot) -> CompiledDeployment:
    routes = [
        Route(
            resource=route.resource_path,
            method=route.http_method,
            integration=_parse_integration(
                route.integration_type,
                route.integration_uri,
                route.integration_http_method,
                route.timeout_in_millis,
            ),
            resource_id=route.resource_id,
        )
        for route in deployment.routes
    ]
    types = deployment.binary_media_types
    binary = None if types is None else BinaryMediaTypes.of(types)
    return CompiledDeployment(deployment.id, compile_routes(routes), binary)


def _compile_api(api: ApiSnapshot, deployments: Mapping[str, CompiledDeployment]) -> CompiledApi:
    stages: dict[str, CompiledStage] = {}
    for stage in api.stages.values():
        variables = MappingProxyType(dict(stage.variables))
        canary = None
        if stage.canary is not None:
            merged = {**stage.variables, **stage.canary.stage_variable_overrides}
            canary = CanaryArm(
                percent=stage.canary.percent_traffic,
                deployment=deployments[f"{api.id}/{stage.canary.deployment_id}"],
                variables=MappingProxyType(merged),
            )
        stages[stage.name] = CompiledStage(
            stage.name, deployments[f"{api.id}/{stage.deployment_id}"], variables, canary
        )
    return CompiledApi(
        api.id,
        api.name,
        BinaryMediaTypes.of(api.binary_media_types),
        MappingProxyType(stages),
        customized_answers(api.gateway_responses),
    )


def _parse_integration(
    kind: str, uri: str | None, http_method: str | None, timeout_ms: int
) -> Integration:
    timeout_s = max(0.05, timeout_ms / 1000.0)
    if kind != "AWS_PROXY":
        reason = f"integration type {kind} is not emulated (only AWS_PROXY to Lambda)"
        return Integration(None, False, timeout_s, reason)
    target = parse_integration_uri(uri or "")
    if target is None:
        return Integration(None, False, timeout_s, f"integration URI {uri!r} is not a Lambda URI")
    if http_method and http_method.upper() != "POST":
        return Integration(None, False, timeout_s, "a Lambda integration must use POST")
    ref = target.function
    return Integration(ref, "${stageVariables." in ref, timeout_s, None)
