"""What the engine needs from a project (SAM, CloudFormation or CDK), as frozen value types.

Every loader (:mod:`~apicanary.project.sam`, :mod:`~apicanary.project.cloudformation`, CDK
through :mod:`~apicanary.project.cdk`) produces the same specs, so provisioning, deploy, doctor
and rollouts never ask which tool wrote the template.

Every value is resolved (no intrinsics left) and validated; mappings are plain dicts typed
read-only (``Mapping``) and left out of hashing, so specs stay JSON-friendly and hashable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from apicanary.errors import BadInputError

#: SAM ``DeploymentPreference.Type`` short names of CodeDeploy's predefined Lambda configs.
PREDEFINED_DEPLOYMENT_TYPES: Final = (
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
    "AllAtOnce",
)

IMPLICIT_API_ID: Final = "ServerlessRestApi"
IMPLICIT_HTTP_API_ID: Final = "ServerlessHttpApi"


@dataclass(frozen=True)
class ApiEventSpec:
    """One ``Events.<name>`` of ``Type: Api`` on a function."""

    name: str
    rest_api: str  # logical id of the API; "ServerlessRestApi" when RestApiId is absent
    path: str
    method: str  # upper case: GET, POST, ..., ANY
    timeout_in_millis: int | None = None  # Properties.TimeoutInMillis (50..29000)


@dataclass(frozen=True)
class DeploymentPreferenceSpec:
    """A function's SAM ``DeploymentPreference`` (see aws-semantics §5.5)."""

    type: str  # "Canary10Percent5Minutes"..., or a custom CodeDeploy config name
    alarms: tuple[str, ...] = ()  # CloudWatch alarm names
    pre_traffic: str | None = None  # hook function names
    post_traffic: str | None = None
    enabled: bool = True
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False)  # other keys, unresolved

    @property
    def is_predefined(self) -> bool:
        """Whether ``type`` names one of CodeDeploy's predefined configurations."""
        return self.type in PREDEFINED_DEPLOYMENT_TYPES

    @property
    def deployment_config_name(self) -> str:
        """The CodeDeploy config name SAM generates (``CodeDeployDefault.Lambda<Type>``)."""
        return f"CodeDeployDefault.Lambda{self.type}" if self.is_predefined else self.type


@dataclass(frozen=True)
class FunctionSpec:
    """A function the engine runs: an ``AWS::Serverless::Function`` after Globals were merged,
    or an ``AWS::Lambda::Function`` with its version, alias and deployment group.

    ``auto_publish_alias`` is the alias that follows each newly published version (SAM's
    ``AutoPublishAlias``; in CloudFormation the alias whose ``FunctionVersion`` is a Version
    resource of the function). ``alias_weights`` are the alias's initial
    ``AdditionalVersionWeights`` (version → weight 0..1), applied when the alias is created.
    """

    logical_id: str
    function_name: str  # FunctionName, else the logical id
    code_dir: Path  # absolute
    handler: str  # "module.function"
    runtime: str  # "python3.x"
    timeout: int = 3  # seconds, 1..900
    memory_size: int = 128  # MB, 128..10240
    environment: Mapping[str, str] = field(default_factory=dict, hash=False)
    description: str = ""
    #: ``LoggingConfig`` as written (LogFormat, ApplicationLogLevel, SystemLogLevel, LogGroup)
    logging_config: Mapping[str, str] = field(default_factory=dict, hash=False)
    reserved_concurrency: int | None = None
    auto_publish_alias: str | None = None
    deployment_preference: DeploymentPreferenceSpec | None = None
    api_events: tuple[ApiEventSpec, ...] = ()
    alias_weights: Mapping[str, float] = field(default_factory=dict, hash=False)
    #: SAM ``ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions`` (on the alias);
    #: read for ``doctor`` only: the engine does not emulate provisioned concurrency
    provisioned_concurrency: int | None = None


@dataclass(frozen=True)
class IntegrationSpec:
    """Where a route sends requests.

    ``uri`` is the resolved integration URI with ``${stageVariables.x}`` kept for per-request
    substitution. ``function`` is the logical id of the template function the URI invokes
    when it can be told statically (None for non-Lambda integrations, functions outside the
    template, or a function name taken from a stage variable); ``qualifier`` is the alias,
    version or ``${stageVariables.x}`` template after the function name, if any.
    """

    type: str  # AWS_PROXY, AWS, HTTP_PROXY, HTTP, MOCK
    uri: str | None
    function: str | None = None
    qualifier: str | None = None
    timeout_in_millis: int | None = None  # x-amazon-apigateway-integration timeoutInMillis


@dataclass(frozen=True)
class RouteSpec:
    """One method on one resource path of an API."""

    path: str  # "/orders/{id}", "/{proxy+}"
    method: str  # GET ... or ANY
    integration: IntegrationSpec


@dataclass(frozen=True)
class CanarySettingSpec:
    """An API stage's ``CanarySetting``; ``deployment_id`` is set by the engine, not SAM."""

    percent_traffic: float = 0.0
    stage_variable_overrides: Mapping[str, str] = field(default_factory=dict, hash=False)
    use_stage_cache: bool = False
    deployment_id: str | None = None


@dataclass(frozen=True)
class ApiSpec:
    """A REST API with its one stage: an ``AWS::Serverless::Api`` or SAM's implicit API."""

    logical_id: str
    name: str
    stage_name: str
    variables: Mapping[str, str] = field(default_factory=dict, hash=False)
    canary_setting: CanarySettingSpec | None = None
    binary_media_types: tuple[str, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    implicit: bool = False  # True for SAM's generated ServerlessRestApi
    #: the stage's ``AccessLogSetting``: (DestinationArn, Format), or None
    access_log: tuple[str, str] | None = None
    #: the OpenAPI document the routes were read from, as written (parameters, examples and
    #: schemas for synthetic traffic); empty when the routes come from events only
    definition: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def route(self, path: str, method: str) -> RouteSpec | None:
        """The route declared for exactly ``path`` and ``method`` (not a request match)."""
        method = method.upper()
        return next((r for r in self.routes if r.path == path and r.method == method), None)


@dataclass(frozen=True)
class HttpRouteSpec:
    """One route of an HTTP API: its key and integration.

    ``route_key`` is ``"GET /items/{id}"``, ``"ANY /{proxy+}"`` or ``"$default"``;
    ``payload_format_version`` is ``"2.0"`` (SAM's default for ``HttpApi`` events) or ``"1.0"``.
    """

    route_key: str
    integration: IntegrationSpec
    payload_format_version: str = "2.0"


@dataclass(frozen=True)
class HttpApiSpec:
    """An HTTP API (API Gateway v2) with its one stage: an ``AWS::Serverless::HttpApi``, SAM's
    implicit ``ServerlessHttpApi``, or ``AWS::ApiGatewayV2::*`` resources.

    ``stage_name`` is ``$default`` unless the template names one (served without a path
    prefix then). HTTP API stages have no canary: release by alias weights.
    """

    logical_id: str
    name: str
    stage_name: str = "$default"
    variables: Mapping[str, str] = field(default_factory=dict, hash=False)
    routes: tuple[HttpRouteSpec, ...] = ()
    implicit: bool = False
    #: the OpenAPI document the routes were read from (``DefinitionBody``, ``Body``), as
    #: written, for synthetic traffic's parameters; empty when the routes come from events
    definition: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class AlarmSpec:
    """An ``AWS::CloudWatch::Alarm``; ``put_metric_alarm`` is PutMetricAlarm's input."""

    logical_id: str
    alarm_name: str
    put_metric_alarm: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class PermissionSpec:
    """An ``AWS::Lambda::Permission``: who may invoke which function, version or alias.

    ``function`` is the template function's logical id (None when the permission names a
    function outside the template); ``qualifier`` the alias or version the statement is scoped
    to (None: the unqualified function, which does not cover invocations of an alias).
    """

    logical_id: str
    function: str | None
    function_name: str
    qualifier: str | None
    principal: str
    action: str = "lambda:InvokeFunction"
    source_arn: str | None = None


PROJECT_KINDS: Final = ("sam", "cloudformation", "cdk")


@dataclass(frozen=True)
class Project:
    """A loaded project: everything the local engine builds from its template.

    ``kind`` says which tool wrote it (one of :data:`PROJECT_KINDS`); ``warnings`` are what the
    loader skipped (resource types the engine does not emulate, functions it cannot run), to be
    shown once at start; ``permissions`` are the template's explicit Lambda permissions (SAM
    generates its own, so a SAM project has none), kept for ``doctor``.
    """

    template_path: Path  # absolute
    root: Path  # the template's directory
    functions: tuple[FunctionSpec, ...] = ()
    apis: tuple[ApiSpec, ...] = ()
    alarms: tuple[AlarmSpec, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict, hash=False)
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT
    kind: str = "sam"
    permissions: tuple[PermissionSpec, ...] = ()
    warnings: tuple[str, ...] = ()
    http_apis: tuple[HttpApiSpec, ...] = ()

    def function(self, name: str) -> FunctionSpec:
        """The function whose logical id or function name is ``name`` (BadInputError if none)."""
        for spec in self.functions:
            if name in (spec.logical_id, spec.function_name):
                return spec
        raise _missing("function", name, [f.logical_id for f in self.functions], self)

    def api(self, name: str) -> ApiSpec:
        """The API whose logical id or name is ``name`` (BadInputError if none)."""
        for spec in self.apis:
            if name in (spec.logical_id, spec.name):
                return spec
        raise _missing("API", name, [a.logical_id for a in self.apis], self)

    def http_api(self, name: str) -> HttpApiSpec | None:
        """The HTTP API whose logical id or name is ``name``, or None."""
        return next((a for a in self.http_apis if name in (a.logical_id, a.name)), None)

    def alarm(self, name: str) -> AlarmSpec:
        """The alarm whose logical id or alarm name is ``name`` (BadInputError if none)."""
        for spec in self.alarms:
            if name in (spec.logical_id, spec.alarm_name):
                return spec
        raise _missing("alarm", name, [a.logical_id for a in self.alarms], self)


def _missing(kind: str, name: str, known: list[str], project: Project) -> BadInputError:
    listing = ", ".join(known) if known else "none"
    return BadInputError(
        f"{kind} {name!r} is not in {project.template_path.name} ({kind}s: {listing})"
    )
