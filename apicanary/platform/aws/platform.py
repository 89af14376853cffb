"""``AwsPlatform``: the :class:`~apicanary.platform.base.Platform` protocol over boto3.

Drives real Lambda aliases, API Gateway REST stage canaries, CloudWatch metrics and alarms —
or any AWS-compatible endpoint (``endpoint_url``: the local engine's control port, a test
double). Credentials, region and profile come from the standard boto3 chain; botocore's
``standard`` retry mode absorbs throttling and transient 5xx. Every SDK exception is translated
by :mod:`apicanary.platform.aws.errors`: no botocore exception escapes this class.

Calls made, and the contract of each method:

* ``publish_version`` — PublishVersion (``CodeSha256`` precondition, ``Description``).
* ``get_alias`` / ``write_alias`` — GetAlias / UpdateAlias with the *whole* routing config
  (``{}`` clears the weights, so promotion is one call) and ``RevisionId`` when the caller
  gives ``expected_revision`` (a concurrent writer makes it fail with
  ``PreconditionFailedException`` instead of being overwritten). The state returned is a
  fresh GetAlias after the write, not the UpdateAlias answer.
* ``write_stage_canary`` — no canary yet: CreateDeployment(stageName, canarySettings) (a new
  snapshot of the API becomes the canary); a canary already: one UpdateStage with the
  ``replace``/``remove`` operations that make percent and overrides exactly as asked (none when
  they already are: no call).
* ``promote_stage_canary`` — UpdateStage with the three promotion operations, then UpdateStage
  ``remove /canarySettings``; a stage without a canary is returned as it is (a re-run after a
  crash between the two calls finishes the removal).
* ``remove_stage_canary`` — UpdateStage ``remove /canarySettings`` (rollback), only if present.
* ``read_telemetry`` — per request from CloudWatch Logs (Live Tail + FilterLogEvents, made by
  :mod:`apicanary.platform.aws.logs`); ``evidence="metrics"``, or a target logs cannot serve,
  reads GetMetricData (+ ListMetrics for the stage canary's dimension) through
  :mod:`apicanary.platform.aws.cloudwatch`, whose cursor is the epoch second up to which
  windows were delivered.
* ``alarm_states`` — DescribeAlarms (metric and composite alarms), unknown names raise.

Clients: :mod:`apicanary.platform.aws.clients`; answers read as states and the stage-canary
patch operations: :mod:`apicanary.platform.shapes`.
* ``invoke_hook`` — Invoke (RequestResponse) with the hook's own read timeout and no retries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ReadTimeoutError

from apicanary.clock import Clock, SystemClock
from apicanary.errors import BadInputError
from apicanary.platform.aws import telemetry as tm
from apicanary.platform.aws.clients import (
    DEFAULT_MAX_ATTEMPTS,
    AwsClients,
    make_clients,
    make_session,
)
from apicanary.platform.aws.cloudwatch import CloudWatchReader
from apicanary.platform.aws.errors import aws_call, paginate, translate
from apicanary.platform.aws.logs.service import LogsTelemetry
from apicanary.platform.base import (
    AliasState,
    HookResult,
    StageCanaryState,
    TelemetryBatch,
    TelemetryTarget,
)
from apicanary.platform.marker import Marker, decode
from apicanary.platform.shapes import (
    PROMOTION_OPS,
    REMOVE_CANARY_OPS,
    alias_state,
    canary_patch,
    http_api_has_no_stage_canary,
    stage_state,
)

_HOOK_DETAIL_LIMIT = 500


class AwsPlatform:
    """The Platform protocol over boto3 clients. See the module docstring for the calls.

    ``telemetry_delay_s``: how long after a minute ends its CloudWatch datapoints are taken
    as complete (``TelemetryBatch.fresh_until`` lags ``now`` by this much). Reading CloudWatch
    is :attr:`cloudwatch`'s work (:class:`~apicanary.platform.aws.cloudwatch.CloudWatchReader`).
    """

    name = "aws"

    def __init__(
        self,
        clients: AwsClients,
        *,
        clock: Clock | None = None,
        telemetry_delay_s: float = tm.DEFAULT_DELAY_S,
        evidence: str = "logs",
    ) -> None:
        self.clients = clients
        self.clock: Clock = clock or SystemClock()
        self.cloudwatch = CloudWatchReader(clients, self.clock, telemetry_delay_s)
        self.logs: LogsTelemetry | None = None
        if evidence == "logs" and clients.logs is not None:
            self.logs = LogsTelemetry(
                clients.logs,
                clients.lambda_,
                clients.apigateway,
                self.clock,
                self.cloudwatch.read_telemetry,
            )

    @classmethod
    def connect(
        cls,
        *,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        clock: Clock | None = None,
        telemetry_delay_s: float = tm.DEFAULT_DELAY_S,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        evidence: str = "logs",
    ) -> AwsPlatform:
        """An AwsPlatform on the standard credential chain (no call is made yet)."""
        session = make_session(region=region, profile=profile)
        clients = make_clients(session, endpoint_url=endpoint_url, max_attempts=max_attempts)
        return cls(clients, clock=clock, telemetry_delay_s=telemetry_delay_s, evidence=evidence)

    def wait_for_evidence(self, timeout_s: float) -> None:
        """Sleep up to ``timeout_s``, less when Live Tail brings new log events (the next
        tick then judges them at once instead of up to a tick later)."""
        if self.logs is None or not self.logs.readers:
            self.clock.sleep(timeout_s)
            return
        self.logs.wait(timeout_s)

    def close(self) -> None:
        """Stop the Live Tail sessions (background threads) this platform started."""
        if self.logs is not None:
            self.logs.close()

    # -- versions and aliases -------------------------------------------------------------------

    def publish_version(
        self, function: str, *, code_sha256: str | None = None, description: str | None = None
    ) -> str:
        """PublishVersion; a no-op publish returns the existing latest version (AWS does)."""
        data = aws_call(
            self.clients.lambda_,
            "publish_version",
            FunctionName=function,
            CodeSha256=code_sha256,
            Description=description,
        )
        return str(data["Version"])

    def get_alias(self, function: str, alias: str) -> AliasState:
        data = aws_call(self.clients.lambda_, "get_alias", FunctionName=function, Name=alias)
        return alias_state(function, data)

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
        """UpdateAlias to exactly ``primary`` (+ ``canary`` at ``weight``), then a fresh
        GetAlias: what is in force, not what the write said.

        ``description`` (the rollout marker, :mod:`apicanary.platform.marker`) is left
        unchanged when None.
        """
        weights = {} if canary is None else {canary: float(weight)}
        aws_call(
            self.clients.lambda_,
            "update_alias",
            FunctionName=function,
            Name=alias,
            FunctionVersion=primary,
            RoutingConfig={"AdditionalVersionWeights": weights},
            RevisionId=expected_revision,
            Description=description,
        )
        return self.get_alias(function, alias)

    def read_marker(self, function: str, alias: str) -> Marker | None:
        """The rollout marker on the alias (:func:`apicanary.platform.marker.read_marker`)."""
        from apicanary.platform.marker import read_marker

        return read_marker(self, function, alias)

    def marker_of(self, state: AliasState) -> Marker | None:
        """The marker in an alias already read; ``None`` if absent or unreadable."""
        try:
            return decode(state.description)
        except ValueError:
            return None

    # -- stage canaries ---------------------------------------------------------------------------

    def get_stage(self, api_id: str, stage: str) -> StageCanaryState:
        data = aws_call(self.clients.apigateway, "get_stage", restApiId=api_id, stageName=stage)
        return stage_state(api_id, data)

    def _update_stage(
        self, api_id: str, stage: str, ops: Sequence[Mapping[str, str]]
    ) -> StageCanaryState:
        """UpdateStage, then a fresh GetStage (what is in force, not what the write said)."""
        aws_call(
            self.clients.apigateway,
            "update_stage",
            restApiId=api_id,
            stageName=stage,
            patchOperations=[dict(op) for op in ops],
        )
        return self.get_stage(api_id, stage)

    def write_stage_canary(
        self, api_id: str, stage: str, *, percent: float, overrides: Mapping[str, str]
    ) -> StageCanaryState:
        """Make the canary exactly ``percent`` with ``overrides`` (CreateDeployment if none)."""
        if not 0.0 <= percent <= 100.0:
            raise BadInputError(f"canary percent {percent} is out of range: 0 to 100")
        current = self.get_stage(api_id, stage)
        if current.canary_percent is None:
            aws_call(
                self.clients.apigateway,
                "create_deployment",
                restApiId=api_id,
                stageName=stage,
                description="apicanary canary deployment",
                canarySettings={
                    "percentTraffic": float(percent),
                    "stageVariableOverrides": dict(overrides),
                    "useStageCache": False,
                },
            )
            return self.get_stage(api_id, stage)
        ops = canary_patch(current, percent, overrides)
        return self._update_stage(api_id, stage, ops) if ops else current

    def promote_stage_canary(self, api_id: str, stage: str) -> StageCanaryState:
        """The three promotion operations, then ``remove /canarySettings`` (two UpdateStage)."""
        current = self.get_stage(api_id, stage)
        if current.canary_percent is None:
            return current
        self._update_stage(api_id, stage, PROMOTION_OPS)
        return self._update_stage(api_id, stage, REMOVE_CANARY_OPS)

    def remove_stage_canary(self, api_id: str, stage: str) -> StageCanaryState:
        """``remove /canarySettings`` if the stage has a canary; otherwise the stage as it is."""
        current = self.get_stage(api_id, stage)
        if current.canary_percent is None:
            return current
        return self._update_stage(api_id, stage, REMOVE_CANARY_OPS)

    def find_api(self, name_or_id: str) -> str:
        """The id of the REST API whose id, or else whose name, is ``name_or_id``."""
        apis = paginate(self.clients.apigateway, "get_rest_apis", "items")
        for api in apis:
            if api.get("id") == name_or_id:
                self.cloudwatch.api_names[str(api["id"])] = str(api.get("name") or "")
                return str(api["id"])
        named = [api for api in apis if api.get("name") == name_or_id]
        if len(named) == 1:
            self.cloudwatch.api_names[str(named[0]["id"])] = name_or_id
            return str(named[0]["id"])
        if named:
            ids = ", ".join(sorted(str(api["id"]) for api in named))
            raise BadInputError(
                f"{len(named)} REST APIs are named {name_or_id!r} ({ids})",
                hint="pass the API id with --api",
            )
        if self.clients.apigatewayv2 is not None:
            for http_api in paginate(self.clients.apigatewayv2, "get_apis", "Items"):
                if name_or_id in (http_api.get("ApiId"), http_api.get("Name")):
                    raise http_api_has_no_stage_canary(name_or_id, str(http_api.get("ApiId")))
        known = ", ".join(sorted(f"{api.get('name')} ({api.get('id')})" for api in apis)) or "none"
        raise BadInputError(
            f"no REST API is named or has the id {name_or_id!r}; the APIs here: {known}",
            hint="check --api and --region",
        )

    # -- telemetry, alarms and hooks ------------------------------------------------------------

    def read_telemetry(self, target: TelemetryTarget, cursor: Any) -> TelemetryBatch:
        """Per-request evidence from CloudWatch Logs (:class:`LogsTelemetry`), or with
        ``evidence="metrics"`` (or where logs cannot serve) from CloudWatch metrics
        (:meth:`CloudWatchReader.read_telemetry`)."""
        if self.logs is not None:
            return self.logs.read(target, cursor)
        return self.cloudwatch.read_telemetry(target, cursor)

    def alarm_states(self, names: Sequence[str]) -> Mapping[str, str]:
        """See :meth:`CloudWatchReader.alarm_states`."""
        return self.cloudwatch.alarm_states(names)

    def invoke_hook(
        self, function: str, payload: Mapping[str, Any], timeout_s: float
    ) -> HookResult:
        """Invoke ``function`` synchronously; a function error, a non-2xx answer or a timeout
        is a failed result. Other failures (no permission, no such function) raise."""
        client = (
            self.clients.hook_client(timeout_s) if self.clients.hook_client else None
        ) or self.clients.lambda_
        try:
            data = client.invoke(
                FunctionName=function,
                InvocationType="RequestResponse",
                Payload=json.dumps(dict(payload)).encode(),
            )
        except Exception as exc:
            if isinstance(exc, ReadTimeoutError):
                return HookResult(False, f"hook {function} did not answer within {timeout_s:g}s")
            raise translate(exc, "invoke") from exc
        body = data.get("Payload")
        text = body.read().decode("utf-8", "replace") if hasattr(body, "read") else str(body or "")
        detail = text[:_HOOK_DETAIL_LIMIT]
        if data.get("FunctionError"):
            return HookResult(False, f"hook {function} failed ({data['FunctionError']}): {detail}")
        status = int(data.get("StatusCode") or 200)
        if not 200 <= status < 300:
            return HookResult(False, f"hook {function} answered HTTP {status}: {detail}")
        return HookResult(True, detail)


__all__ = ["AwsPlatform"]
