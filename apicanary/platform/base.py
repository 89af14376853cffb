"""The Platform protocol: where versions and traffic pointers live (the local engine or AWS).

The rollout controller talks only to this protocol. Every write is **absolute** (it states
the whole desired value, never a delta) and **idempotent**, and returns the state read back
afterwards, so a controller that crashed after any call converges by calling it again.

Traffic layers:

* alias: ``FunctionVersion = stable`` plus ``AdditionalVersionWeights = {canary: w}``;
  promotion is one UpdateAlias (new version, empty weights).
* stage: the stage's ``canarySettings`` (percentTraffic, deploymentId,
  stageVariableOverrides); promotion is the three patch operations then
  ``remove /canarySettings``; rollback is ``remove /canarySettings``.

Telemetry is per arm and measured at the same time: a :class:`TelemetryBatch` carries either
per-invocation records (the local engine knows each one) or pre-aggregated windows (CloudWatch),
plus how fresh it is. Errors raised are apicanary's (``AwsApiError`` with AWS's code kept,
``PlatformError``); no backend exception escapes an implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from apicanary.model import Invocation, Window


class Mode(StrEnum):
    """Where a rollout shifts traffic: the Lambda alias, the API Gateway stage canary, or both
    (the two weights multiply). The one definition: strategies, targets, markers and the CLI
    all use it."""

    ALIAS = "alias"
    STAGE = "stage"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class AliasState:
    """An alias as read back: primary version, optional canary version and its weight."""

    function: str
    alias: str
    primary: str
    canary: str | None
    weight: float  # share of the canary version, 0.0 when ``canary`` is None
    revision_id: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class StageCanaryState:
    """A stage as read back: its deployment and variables, and its canary if any."""

    api_id: str
    stage: str
    deployment_id: str
    variables: Mapping[str, str]
    canary_percent: float | None  # None: no canarySettings on the stage
    canary_deployment_id: str | None = None
    canary_overrides: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TelemetryTarget:
    """What to measure: the function and alias (alias mode) and/or the API stage (stage mode)."""

    function: str
    alias: str
    stable_version: str
    canary_version: str
    api_name: str | None = None
    api_id: str | None = None
    stage: str | None = None
    # ALIAS: arms told apart by executed version; STAGE (and BOTH): by the canary flag
    mode: Mode = Mode.ALIAS


@dataclass(frozen=True, slots=True)
class TelemetryBatch:
    """New telemetry since ``cursor`` (opaque, pass it back next time).

    Exactly one of ``invocations`` (per-request records) and ``windows`` (aggregates) is set.
    ``fresh_until`` is the evidence watermark: every request that started before it is in
    this batch or an earlier one (local: the oldest request still in flight or whose records
    are not all read; AWS: the end of the last CloudWatch period known to be complete).
    ``lost_stable``/``lost_canary``: requests of each arm the reader can no longer see (it fell
    behind a bounded buffer); the evidence judged is what remains.
    """

    cursor: Any
    fresh_until: float
    invocations: Sequence[Invocation] | None = None
    windows: Sequence[Window] | None = None
    lost_stable: int = 0
    lost_canary: int = 0


@dataclass(frozen=True, slots=True)
class HookResult:
    succeeded: bool
    detail: str


@runtime_checkable
class Platform(Protocol):
    """A backend the rollout controller can drive. See the module docstring for contracts."""

    name: str

    # -- versions and aliases -------------------------------------------------------------------

    def publish_version(
        self, function: str, *, code_sha256: str | None = None, description: str | None = None
    ) -> str:
        """PublishVersion (a no-op publish returns the existing version); the version number."""
        ...

    def get_alias(self, function: str, alias: str) -> AliasState: ...

    def write_alias(
        self,
        function: str,
        alias: str,
        *,
        primary: str,
        canary: str | None,
        weight: float,
        expected_revision: str | None = None,
        description: str | None = None,
    ) -> AliasState:
        """Set the alias to exactly ``primary`` (+ ``canary`` at ``weight``); read it back."""
        ...

    # -- stage canaries ---------------------------------------------------------------------------

    def get_stage(self, api_id: str, stage: str) -> StageCanaryState: ...

    def write_stage_canary(
        self, api_id: str, stage: str, *, percent: float, overrides: Mapping[str, str]
    ) -> StageCanaryState:
        """Make the stage's canary exactly ``percent`` with ``overrides`` (creating the canary
        deployment if the stage has none); read it back."""
        ...

    def promote_stage_canary(self, api_id: str, stage: str) -> StageCanaryState:
        """The three promotion patch operations, then ``remove /canarySettings``."""
        ...

    def remove_stage_canary(self, api_id: str, stage: str) -> StageCanaryState:
        """``remove /canarySettings`` (rollback); a stage without a canary is left as it is."""
        ...

    def find_api(self, name_or_id: str) -> str:
        """The id of the REST API named (or identified by) ``name_or_id``."""
        ...

    # -- telemetry, alarms, hooks -------------------------------------------------------------

    def read_telemetry(self, target: TelemetryTarget, cursor: Any) -> TelemetryBatch: ...

    def alarm_states(self, names: Sequence[str]) -> Mapping[str, str]:
        """``{name: "OK" | "ALARM" | "INSUFFICIENT_DATA"}``; unknown names raise."""
        ...

    def invoke_hook(
        self, function: str, payload: Mapping[str, Any], timeout_s: float
    ) -> HookResult:
        """Invoke a lifecycle hook function; a function error or timeout is a failed result."""
        ...
