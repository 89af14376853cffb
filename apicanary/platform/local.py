"""LocalPlatform: the Platform protocol over the embedded engine, in-process (no HTTP).

Calls go straight to the engine's services, so they get the same validation and errors as
the AWS-compatible endpoints. Telemetry is exact: every gateway request and direct Invoke is
in the engine's telemetry log, and arms are told apart by executed version (alias mode) or by
the canary flag (stage mode). Requests seen by the gateway are judged by the status the
client got (a malformed proxy response is a failure even though Lambda reports none); direct
invokes by their function error. The Lambda record of a gateway request (``via_gateway``) is
never evidence: its gateway record is, written before the client's answer, so each request
counts once however reads split its records, and a request cut off by a crash of ``serve``
(no answer reached its client: no gateway record) counts nowhere, even if its function had
ended. The batch's ``fresh_until`` is the watermark (the oldest request in flight or not yet
read); a reader that fell behind the log's buffer gets the gap per arm and reads on.

The cursor ``{"log": uid, "at": n, "arms": [stable, canary]}`` is journalled by the controller
with the state it judged; the engine's log is on file (:mod:`apicanary.engine.telemetry`), so
after a restart the same cursor resumes at the same record: nothing lost, nothing read twice.
``arms``: the log's gateway records of each arm before ``n``, which sizes a gap exactly even
for a reader that just restarted.

Hooks run on the engine's event loop (workers are bound to it); the controller calls from its
own thread and waits for the result.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from apicanary.engine.engine import Engine
from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.gateway.messages import RequestRecord
from apicanary.engine.telemetry import GatewayKey, TelemetrySlice
from apicanary.errors import AwsApiError, BadInputError
from apicanary.model import Invocation
from apicanary.platform.base import (
    AliasState,
    HookResult,
    StageCanaryState,
    TelemetryBatch,
    TelemetryTarget,
)
from apicanary.platform.shapes import (
    PROMOTION_OPS,
    REMOVE_CANARY_OPS,
    alias_state,
    http_api_has_no_stage_canary,
    stage_state,
)


class LocalPlatform:
    """The local engine as a rollout target."""

    name = "local"

    def __init__(self, engine: Engine, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.engine = engine
        self.loop = loop

    # -- versions and aliases -------------------------------------------------------------------

    def publish_version(
        self, function: str, *, code_sha256: str | None = None, description: str | None = None
    ) -> str:
        params: dict[str, Any] = {}
        if code_sha256:
            params["CodeSha256"] = code_sha256
        if description:
            params["Description"] = description
        self.engine.lambdas.wait_settled(function)  # PublishVersion fails while one is applied
        return str(self.engine.lambdas.publish_version(function, params)["Version"])

    def get_alias(self, function: str, alias: str) -> AliasState:
        return alias_state(function, self.engine.lambdas.get_alias(function, alias))

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
        weights = {canary: weight} if canary is not None and weight > 0 else {}
        params: dict[str, Any] = {
            "FunctionVersion": primary,
            "RoutingConfig": {"AdditionalVersionWeights": weights},
        }
        if expected_revision:
            params["RevisionId"] = expected_revision
        if description is not None:
            params["Description"] = description
        self.engine.lambdas.update_alias(function, alias, params)
        return self.get_alias(function, alias)

    # -- stage canaries ---------------------------------------------------------------------------

    def find_api(self, name_or_id: str) -> str:
        apis = self.engine.apigateway.get_rest_apis(limit=500)["item"]
        for api in apis:
            if name_or_id in (api["id"], api["name"]):
                return str(api["id"])
        for http_api in self.engine.http_apis.get_apis()["items"]:
            if name_or_id in (http_api["apiId"], http_api["name"]):
                raise http_api_has_no_stage_canary(name_or_id, str(http_api["apiId"]))
        known = ", ".join(f"{a['name']} ({a['id']})" for a in apis) or "none"
        raise BadInputError(f"no REST API named or identified {name_or_id!r}; known: {known}")

    def get_stage(self, api_id: str, stage: str) -> StageCanaryState:
        return stage_state(api_id, self.engine.apigateway.get_stage(api_id, stage))

    def write_stage_canary(
        self, api_id: str, stage: str, *, percent: float, overrides: Mapping[str, str]
    ) -> StageCanaryState:
        gateway = self.engine.apigateway
        current = gateway.get_stage(api_id, stage)
        if not current.get("canarySettings"):
            gateway.create_deployment(
                api_id,
                {
                    "stageName": stage,
                    "description": "apicanary canary deployment",
                    "canarySettings": {
                        "percentTraffic": percent,
                        "stageVariableOverrides": dict(overrides),
                        "useStageCache": False,
                    },
                },
            )
        else:
            operations = [
                {"op": "replace", "path": "/canarySettings/percentTraffic", "value": str(percent)}
            ]
            operations += [
                {"op": "replace", "path": f"/canarySettings/stageVariableOverrides/{k}", "value": v}
                for k, v in overrides.items()
            ]
            gateway.update_stage(api_id, stage, operations)
        return self.get_stage(api_id, stage)

    def promote_stage_canary(self, api_id: str, stage: str) -> StageCanaryState:
        gateway = self.engine.apigateway
        if gateway.get_stage(api_id, stage).get("canarySettings"):
            gateway.update_stage(api_id, stage, PROMOTION_OPS)
            gateway.update_stage(api_id, stage, REMOVE_CANARY_OPS)
        return self.get_stage(api_id, stage)

    def remove_stage_canary(self, api_id: str, stage: str) -> StageCanaryState:
        gateway = self.engine.apigateway
        if gateway.get_stage(api_id, stage).get("canarySettings"):
            gateway.update_stage(api_id, stage, REMOVE_CANARY_OPS)
        return self.get_stage(api_id, stage)

    # -- telemetry, alarms, hooks -------------------------------------------------------------

    def read_telemetry(self, target: TelemetryTarget, cursor: Any) -> TelemetryBatch:
        """New evidence since ``cursor``, each request counted once (module docstring).

        The cursor is ``{"log": uid, "at": n, "arms": [stable, canary]}`` (module docstring);
        one from another log reads the new log from its start. Order matters for the
        watermark: the log is read, then the requests in flight (with the clock, atomically),
        then the log's tail written meanwhile, which is not consumed but holds the watermark
        at its oldest request.
        """
        log = self.engine.telemetry
        start = read_position(cursor, log.uid, log.cursor)
        chunk = log.since(start)
        now, in_flight = self.engine.gateway.inflight.snapshot()
        tail = log.since(chunk.cursor).records
        lost = (0, 0)
        if chunk.dropped:
            same_log = isinstance(cursor, dict) and cursor.get("log") == log.uid
            lost = lost_per_arm(chunk, target, arms_before(cursor) if same_log else (0, 0))
        invocations = [i for i in (_invocation(r, target) for r in chunk.records) if i]
        watermark = min([now, *in_flight.values(), *(r.timestamp for r in tail)])
        return TelemetryBatch(
            {"log": log.uid, "at": chunk.cursor, "arms": arm_counts(chunk.appended, target)},
            watermark,
            invocations=invocations,
            lost_stable=lost[0],
            lost_canary=lost[1],
        )

    def alarm_states(self, names: Sequence[str]) -> Mapping[str, str]:
        return {name: self.engine.alarms.state_of(name) for name in names}

    def invoke_hook(
        self, function: str, payload: Mapping[str, Any], timeout_s: float
    ) -> HookResult:
        coroutine = self.engine.lambdas.invoker.invoke(function, None, orjson.dumps(dict(payload)))
        try:
            if self.loop is not None and self.loop.is_running():
                future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
                result = future.result(timeout=timeout_s)
            elif self.loop is not None:
                result = self.loop.run_until_complete(asyncio.wait_for(coroutine, timeout_s))
            else:
                result = asyncio.run(asyncio.wait_for(coroutine, timeout_s))
        except TimeoutError:
            return HookResult(False, f"{function} did not answer within {timeout_s:g} s")
        except AwsApiError as error:
            return HookResult(False, f"{function}: {error}")
        if result.function_error:
            return HookResult(False, f"{function} failed: {result.payload.decode()[:300]}")
        return HookResult(True, f"{function} succeeded")


def arm_counts(appended: Counter[GatewayKey], target: TelemetryTarget) -> list[int]:
    """``[stable, canary]``: the gateway records of each arm in ``appended`` (by key)."""
    arms = [0, 0]
    for key, count in appended.items():
        arm = _arm_of_key(key, target)
        if arm is not None:
            arms[arm] += count
    return arms


def arms_before(cursor: Any) -> tuple[int, int]:
    """The per-arm counts a cursor carries (0, 0 for one without them)."""
    arms = cursor.get("arms") if isinstance(cursor, dict) else None
    if not (isinstance(arms, list) and len(arms) == 2):
        return 0, 0
    return int(arms[0]), int(arms[1])


def lost_per_arm(
    chunk: TelemetrySlice, target: TelemetryTarget, before: tuple[int, int]
) -> tuple[int, int]:
    """Gateway requests of each arm evicted before the reader saw them: evicted so far minus
    appended before its cursor (both cumulative since the log began; the cursor is older than
    the oldest record held, so per key the difference is what it missed)."""
    evicted = arm_counts(chunk.evicted or Counter(), target)
    return max(0, evicted[0] - before[0]), max(0, evicted[1] - before[1])


def read_position(cursor: Any, uid: str, now_at: int) -> int:
    """Where to read from: the cursor's position in this log, 0 in a newer log, or now."""
    if cursor is None:
        return now_at
    if isinstance(cursor, dict):
        return int(cursor.get("at") or 0) if cursor.get("log") == uid else 0
    return 0  # an integer cursor is from an older engine's log


def _arm_of_key(key: GatewayKey, target: TelemetryTarget) -> bool | None:
    function, qualifier, version, api_id, stage, is_canary, _ = key
    if target.mode == "stage":
        return is_canary if (api_id, stage) == (target.api_id, target.stage) else None
    if (function, qualifier) != (target.function, target.alias):
        return None
    if version not in (target.stable_version, target.canary_version):
        return None
    return version == target.canary_version


def _invocation(
    record: RequestRecord | LambdaInvocation, target: TelemetryTarget
) -> Invocation | None:
    """The evidence one record is for ``target``: a gateway record, or a direct invoke's."""
    if isinstance(record, RequestRecord):
        return _from_gateway(record, target)
    if record.via_gateway:
        return None  # its gateway record is the evidence (module docstring)
    return _from_lambda(record, target)


def _from_gateway(record: RequestRecord, target: TelemetryTarget) -> Invocation | None:
    if target.mode == "stage":
        if record.api_id != target.api_id or record.stage != target.stage:
            return None
        canary = record.is_canary
    else:
        if record.function_name != target.function or record.qualifier != target.alias:
            return None
        if record.executed_version not in (target.stable_version, target.canary_version):
            return None
        canary = record.executed_version == target.canary_version
    return Invocation(
        canary=canary,
        failed=record.status >= 500,
        duration_ms=record.latency_ms,
        cold_start=record.cold_start,
        request_id=record.request_id,
    )


def _from_lambda(record: LambdaInvocation, target: TelemetryTarget) -> Invocation | None:
    if target.mode == "stage" or record.function_name != target.function:
        return None
    if record.qualifier != target.alias:
        return None
    if record.executed_version not in (target.stable_version, target.canary_version):
        return None
    return Invocation(
        canary=record.executed_version == target.canary_version,
        failed=record.function_error is not None,
        duration_ms=record.duration_ms,
        cold_start=record.cold_start,
        request_id=record.request_id,
    )
