"""The Lambda subsystem's state as frozen values: configurations, versions, aliases, functions,
the view the invoke path reads, and the records an invocation leaves.

Everything here is immutable: a committed write builds new values (see :mod:`.tables`) and
installs a new :class:`LambdaView`, so readers never lock and never see half an update.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson

from apicanary.arns import DEFAULT_ACCOUNT
from apicanary.engine.functions.runtime import ExecutionSpec

LATEST = "$LATEST"
DEFAULT_ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/apicanary-local"


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """The configuration a version snapshots together with its code."""

    runtime: str
    handler: str
    timeout: int = 3
    memory_size: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    role: str = DEFAULT_ROLE
    #: ``LoggingConfig`` as given (``LogFormat``, ``ApplicationLogLevel``, ``SystemLogLevel``,
    #: ``LogGroup``); empty means Lambda's defaults (Text into ``/aws/lambda/<function>``)
    logging: Mapping[str, str] = field(default_factory=dict)

    @property
    def log_format(self) -> str:
        return self.logging.get("LogFormat", "Text")

    def log_group(self, function_name: str) -> str:
        return self.logging.get("LogGroup") or f"/aws/lambda/{function_name}"

    def to_json(self) -> bytes:
        data: dict[str, object] = {
            "Runtime": self.runtime,
            "Handler": self.handler,
            "Timeout": self.timeout,
            "MemorySize": self.memory_size,
            "Environment": dict(sorted(self.environment.items())),
            "Description": self.description,
            "Role": self.role,
        }
        if self.logging:  # absent when default: configurations stored before it read the same
            data["LoggingConfig"] = dict(sorted(self.logging.items()))
        return orjson.dumps(data)

    @classmethod
    def from_json(cls, raw: str | bytes) -> FunctionConfig:
        data = orjson.loads(raw)
        return cls(
            runtime=data["Runtime"],
            handler=data["Handler"],
            timeout=data["Timeout"],
            memory_size=data["MemorySize"],
            environment=data["Environment"],
            description=data["Description"],
            role=data["Role"],
            logging=data.get("LoggingConfig", {}),
        )


@dataclass(frozen=True, slots=True)
class Transition:
    """A create, update or publish Lambda is still applying (AWS applies them asynchronously).

    Until ``until`` (epoch seconds on the engine's clock) the version is ``Pending``
    (``kind`` ``create`` or ``publish``) or its ``LastUpdateStatus`` is ``InProgress``
    (``update``), and its RevisionId is ``revision_id``; after it, the version is settled and
    its RevisionId is :attr:`VersionState.revision_id`. ``revision_id`` is ``None`` when
    settling does not change the RevisionId (a published version). See :mod:`.states`.
    """

    kind: str
    until: float
    revision_id: str | None = None


@dataclass(frozen=True, slots=True)
class VersionState:
    """``$LATEST`` or a published version of one function.

    ``revision_id`` is the RevisionId once settled; while ``transition`` lasts, the API shows
    the transition's state and RevisionId instead (:mod:`.states`).
    """

    function_name: str
    version: str
    code_hex: str
    code_sha256: str
    code_size: int
    config: FunctionConfig
    revision_id: str
    last_modified: str
    transition: Transition | None = None


@dataclass(frozen=True, slots=True)
class AliasState:
    function_name: str
    name: str
    function_version: str
    weights: Mapping[str, float]
    description: str
    revision_id: str


@dataclass(frozen=True, slots=True)
class FunctionState:
    name: str
    latest: VersionState
    versions: Mapping[str, VersionState]
    aliases: Mapping[str, AliasState]
    reserved_concurrency: int | None
    source_dir: str | None
    source_fingerprint: str | None

    def version_of(self, version: str) -> VersionState:
        """``$LATEST`` or the published ``version`` (``KeyError`` when there is none)."""
        return self.latest if version == LATEST else self.versions[version]


@dataclass(frozen=True, slots=True)
class LambdaView:
    """An immutable picture of every function, read by the invoke path without locks."""

    functions: Mapping[str, FunctionState]


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """What one invocation will run: the executed version and its execution spec."""

    function_name: str
    qualifier: str | None
    executed_version: str
    invoked_arn: str
    spec: ExecutionSpec
    reserved_concurrency: int | None


@dataclass(frozen=True, slots=True)
class LambdaInvocation:
    """One invocation as the metrics and the rollout analysis see it."""

    timestamp: float
    request_id: str
    function_name: str
    qualifier: str | None
    executed_version: str | None
    duration_ms: float
    function_error: str | None
    error_type: str | None
    throttled: bool
    cold_start: bool
    init_duration_ms: float | None
    # invoked for an API Gateway request, whose gateway record says what the client got; a
    # direct invoke (the Invoke API, a hook) is its own evidence
    via_gateway: bool = False


InvocationListener = Callable[[LambdaInvocation], None]
