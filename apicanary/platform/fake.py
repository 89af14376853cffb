"""FakePlatform: the whole :class:`~apicanary.platform.base.Platform` protocol in memory,
deterministic, with telemetry and failures a test scripts.

For testing the controller's decisions in milliseconds, without workers or HTTP. It keeps the
protocol's contracts (absolute writes that return the state read back, AWS error codes for
unknown names and stale revisions) and lets a test say what the outside world does:

* traffic: :meth:`send` per-request :class:`~apicanary.model.Invocation` records (or, built
  with ``telemetry="windows"``, :meth:`send_window` aggregates as CloudWatch would), read
  exactly once through the cursor; records sent before the first read are not seen (like
  the engine's log, a cursor starts at the end);
* alarms: :meth:`set_alarm`; hooks: :meth:`script_hook` (default: a hook function that
  does not exist fails);
* failures: :meth:`fail_next` (the next call of a method raises), :meth:`drop_next` (the
  next write is accepted but does not take, so the read-back differs) and
  :meth:`tamper_alias` (someone else changes the alias behind the controller's back).

Every call is logged in :attr:`calls` (method name and its main arguments) so a test can
check the order of traffic writes.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from apicanary.errors import ApicanaryError, AwsApiError, BadInputError, not_found
from apicanary.model import Invocation, Window
from apicanary.platform.base import (
    AliasState,
    HookResult,
    StageCanaryState,
    TelemetryBatch,
    TelemetryTarget,
)

WRITES = ("write_alias", "write_stage_canary", "promote_stage_canary", "remove_stage_canary")


@dataclass
class _Stage:
    deployment_id: str
    variables: dict[str, str] = field(default_factory=dict)
    canary_percent: float | None = None
    canary_deployment_id: str | None = None
    canary_overrides: dict[str, str] = field(default_factory=dict)


class FakePlatform:
    """An in-memory platform; see the module docstring."""

    name = "fake"

    def __init__(
        self, *, telemetry: Literal["invocations", "windows"] = "invocations", now: float = 0.0
    ) -> None:
        self.telemetry = telemetry
        self.now = now  # what TelemetryBatch.fresh_until says; tests may move it
        self.calls: list[tuple[Any, ...]] = []
        self.hook_payloads: list[tuple[str, dict[str, Any]]] = []
        self._versions: dict[str, list[str | None]] = {}  # function → code sha per version
        self._aliases: dict[tuple[str, str], AliasState] = {}
        self._apis: dict[str, str] = {}  # api id → name
        self._stages: dict[tuple[str, str], _Stage] = {}
        self._records: list[Invocation | Window] = []
        self._alarms: dict[str, str] = {}
        self._hooks: dict[str, HookResult] = {}
        self._failures: dict[str, list[ApicanaryError]] = defaultdict(list)
        self._drops: dict[str, int] = defaultdict(int)
        self._serial = 0

    # -- setting the scene ----------------------------------------------------------------------

    def add_function(self, function: str, versions: int = 1) -> None:
        """A function with ``versions`` published versions ("1", "2", ...)."""
        self._versions[function] = [None] * versions

    def add_alias(self, function: str, alias: str, version: str, description: str = "") -> None:
        self._version(function, version)
        self._aliases[(function, alias)] = AliasState(
            function, alias, version, None, 0.0, self._revision(), description
        )

    def add_stage(self, api_name: str, api_id: str, stage: str, **variables: str) -> None:
        """A REST API (``api_id``, named ``api_name``) with ``stage`` and its variables."""
        self._apis[api_id] = api_name
        self._stages[(api_id, stage)] = _Stage(self._revision(), dict(variables))

    def send(self, invocations: Iterable[Invocation]) -> None:
        """Requests served since the last read, in arrival order."""
        assert self.telemetry == "invocations", "this fake delivers windows"
        self._records.extend(invocations)

    def send_window(self, window: Window) -> None:
        """One CloudWatch-style aggregate."""
        assert self.telemetry == "windows", "this fake delivers invocations"
        self._records.append(window)

    def set_alarm(self, name: str, state: str) -> None:
        self._alarms[name] = state

    def script_hook(self, function: str, succeeded: bool, detail: str = "") -> None:
        self._hooks[function] = HookResult(succeeded, detail or f"{function} answered")

    def fail_next(self, method: str, error: ApicanaryError | None = None, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` raise ``error`` (default: a throttle)."""
        error = error or AwsApiError("TooManyRequestsException", "Rate exceeded", 429)
        self._failures[method].extend([error] * times)

    def drop_next(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of the write ``method`` are answered but do not take."""
        assert method in WRITES, f"{method} is not a write"
        self._drops[method] += times

    def tamper_alias(self, function: str, alias: str, **changes: Any) -> None:
        """Someone else changes the alias (a console click, a crashed write)."""
        current = self.get_alias(function, alias)
        self._aliases[(function, alias)] = dataclasses.replace(
            current, revision_id=self._revision(), **changes
        )

    # -- versions and aliases -------------------------------------------------------------------

    def publish_version(
        self, function: str, *, code_sha256: str | None = None, description: str | None = None
    ) -> str:
        self._enter("publish_version", function)
        versions = self._function(function)
        if code_sha256 is not None and versions and versions[-1] == code_sha256:
            return str(len(versions))  # publishing unchanged code returns the latest version
        versions.append(code_sha256)
        return str(len(versions))

    def get_alias(self, function: str, alias: str) -> AliasState:
        self._enter("get_alias", function, alias)
        try:
            return self._aliases[(function, alias)]
        except KeyError:
            raise not_found(f"Alias not found: {function}:{alias}") from None

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
        self._enter("write_alias", function, alias, primary, canary, weight)
        current = self.get_alias(function, alias)
        if expected_revision is not None and expected_revision != current.revision_id:
            raise AwsApiError(
                "PreconditionFailedException",
                f"The RevisionId provided does not match the latest RevisionId for the "
                f"Lambda function or alias. Call the GetAlias API to retrieve the latest "
                f"RevisionId for your resource: {current.revision_id}",
                412,
            )
        for version in (primary, canary):
            if version is not None:
                self._version(function, version)
        if not self._dropped("write_alias"):
            self._aliases[(function, alias)] = AliasState(
                function, alias, primary, canary if weight > 0 else None,
                weight if canary is not None else 0.0, self._revision(),
                current.description if description is None else description,
            )  # fmt: skip
        return self._aliases[(function, alias)]

    # -- stage canaries ---------------------------------------------------------------------------

    def find_api(self, name_or_id: str) -> str:
        self._enter("find_api", name_or_id)
        for api_id, name in self._apis.items():
            if name_or_id in (api_id, name):
                return api_id
        raise BadInputError(f"no REST API named or identified {name_or_id!r}")

    def get_stage(self, api_id: str, stage: str) -> StageCanaryState:
        self._enter("get_stage", api_id, stage)
        return self._stage_state(api_id, stage)

    def write_stage_canary(
        self, api_id: str, stage: str, *, percent: float, overrides: Mapping[str, str]
    ) -> StageCanaryState:
        self._enter("write_stage_canary", api_id, stage, percent)
        current = self._stage(api_id, stage)
        if not self._dropped("write_stage_canary"):
            if current.canary_percent is None:
                current.canary_deployment_id = self._revision()
            current.canary_percent = percent
            current.canary_overrides.update(overrides)
        return self._stage_state(api_id, stage)

    def promote_stage_canary(self, api_id: str, stage: str) -> StageCanaryState:
        self._enter("promote_stage_canary", api_id, stage)
        current = self._stage(api_id, stage)
        if current.canary_percent is not None and not self._dropped("promote_stage_canary"):
            current.variables.update(current.canary_overrides)
            current.deployment_id = current.canary_deployment_id or current.deployment_id
            self._stages[(api_id, stage)] = _Stage(current.deployment_id, current.variables)
        return self._stage_state(api_id, stage)

    def remove_stage_canary(self, api_id: str, stage: str) -> StageCanaryState:
        self._enter("remove_stage_canary", api_id, stage)
        current = self._stage(api_id, stage)
        if not self._dropped("remove_stage_canary"):
            self._stages[(api_id, stage)] = _Stage(current.deployment_id, current.variables)
        return self._stage_state(api_id, stage)

    # -- telemetry, alarms, hooks -------------------------------------------------------------

    def read_telemetry(self, target: TelemetryTarget, cursor: Any) -> TelemetryBatch:
        self._enter("read_telemetry", target.mode, cursor)
        start = len(self._records) if cursor is None else int(cursor)
        new = self._records[start:]
        if self.telemetry == "windows":
            windows = [w for w in new if isinstance(w, Window)]
            return TelemetryBatch(len(self._records), self.now, windows=windows)
        invocations = [i for i in new if isinstance(i, Invocation)]
        return TelemetryBatch(len(self._records), self.now, invocations=invocations)

    def alarm_states(self, names: Sequence[str]) -> Mapping[str, str]:
        self._enter("alarm_states", tuple(names))
        unknown = [name for name in names if name not in self._alarms]
        if unknown:
            raise not_found(f"alarm(s) do not exist: {', '.join(unknown)}")
        return {name: self._alarms[name] for name in names}

    def invoke_hook(
        self, function: str, payload: Mapping[str, Any], timeout_s: float
    ) -> HookResult:
        self._enter("invoke_hook", function)
        self.hook_payloads.append((function, dict(payload)))
        scripted = self._hooks.get(function)
        if scripted is None:
            return HookResult(False, f"{function}: ResourceNotFoundException: no such function")
        return scripted

    # -- plumbing -------------------------------------------------------------------------------

    def _enter(self, method: str, *args: Any) -> None:
        self.calls.append((method, *args))
        if self._failures[method]:
            raise self._failures[method].pop(0)

    def _dropped(self, method: str) -> bool:
        if self._drops[method] > 0:
            self._drops[method] -= 1
            return True
        return False

    def _revision(self) -> str:
        self._serial += 1
        return f"rev-{self._serial}"

    def _function(self, function: str) -> list[str | None]:
        if function not in self._versions:
            raise not_found(f"Function not found: {function}")
        return self._versions[function]

    def _version(self, function: str, version: str) -> None:
        versions = self._function(function)
        if not version.isdigit() or not 1 <= int(version) <= len(versions):
            raise not_found(f"Function not found: {function}:{version}")

    def _stage(self, api_id: str, stage: str) -> _Stage:
        try:
            return self._stages[(api_id, stage)]
        except KeyError:
            raise AwsApiError(
                "NotFoundException", "Invalid stage identifier specified", 404
            ) from None

    def _stage_state(self, api_id: str, stage: str) -> StageCanaryState:
        s = self._stage(api_id, stage)
        return StageCanaryState(
            api_id, stage, s.deployment_id, dict(s.variables), s.canary_percent,
            s.canary_deployment_id, dict(s.canary_overrides),
        )  # fmt: skip


__all__ = ["FakePlatform"]
