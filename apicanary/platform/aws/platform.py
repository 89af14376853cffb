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
  ``PreconditionFailedException`` instead of being overwritten). The UpdateAlias answer is
  the state read back.
* ``write_stage_canary`` — no canary yet: CreateDeployment(stageName, canarySettings) (a new
  snapshot of the API becomes the canary); a canary already: one UpdateStage with the
  ``replace``/``remove`` operations that make percent and overrides exactly as asked (none when
  they already are: no call).
* ``promote_stage_canary`` — UpdateStage with the three promotion operations, then UpdateStage
  ``remove /canarySettings``; a stage without a canary is returned as it is (a re-run after a
  crash between the two calls finishes the removal).
* ``remove_stage_canary`` — UpdateStage ``remove /canarySettings`` (rollback), only if present.
* ``read_telemetry`` — GetMetricData (+ ListMetrics for the stage canary's dimension), see
  :mod:`apicanary.platform.aws.telemetry`; the cursor is the epoch second up to which windows
  were delivered.
* ``alarm_states`` — DescribeAlarms (metric and composite alarms), unknown names raise.
* ``invoke_hook`` — Invoke (RequestResponse) with the hook's own read timeout and no retries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ReadTimeoutError

from apicanary.clock import Clock, SystemClock
from apicanary.errors import AwsApiError, BadInputError
from apicanary.platform.aws import telemetry as tm
from apicanary.platform.aws.errors import aws_call, paginate, translate
from apicanary.platform.base import (
    AliasState,
    HookResult,
    StageCanaryState,
    TelemetryBatch,
    TelemetryTarget,
)
from apicanary.platform.marker import Marker, decode

USER_AGENT = "apicanary"
DEFAULT_MAX_ATTEMPTS = 5
_HOOK_DETAIL_LIMIT = 500


@dataclass(frozen=True, slots=True)
class AwsClients:
    """The boto3 clients ``AwsPlatform`` uses (any object with the same methods will do).

    ``hooks`` invokes hook functions; it needs its own read timeout and no retries, so
    :func:`make_clients` builds it per timeout through ``hook_client``.
    """

    lambda_: Any
    apigateway: Any
    cloudwatch: Any
    hook_client: Callable[[float], Any] | None = None


def make_session(*, region: str | None = None, profile: str | None = None) -> Any:
    """A boto3 Session from the standard chain (``profile`` / ``region`` override it)."""
    import boto3

    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except Exception as exc:
        raise translate(exc, "Session") from exc


def make_clients(
    session: Any,
    *,
    endpoint_url: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> AwsClients:
    """Lambda, API Gateway and CloudWatch clients with botocore's standard retry mode."""
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        user_agent_extra=USER_AGENT,
    )

    def client(service: str, cfg: Any = config) -> Any:
        try:
            return session.client(service, endpoint_url=endpoint_url, config=cfg)
        except Exception as exc:
            raise translate(exc, f"{service} client") from exc

    def hook_client(timeout_s: float) -> Any:
        hook_config = Config(
            retries={"mode": "standard", "max_attempts": 1},
            read_timeout=max(1.0, timeout_s),
            connect_timeout=min(10.0, max(1.0, timeout_s)),
            user_agent_extra=USER_AGENT,
        )
        return client("lambda", hook_config)

    return AwsClients(
        lambda_=client("lambda"),
        apigateway=client("apigateway"),
        cloudwatch=client("cloudwatch"),
        hook_client=hook_client,
    )


def alias_state(function: str, data: Mapping[str, Any]) -> AliasState:
    """An :class:`AliasState` from a GetAlias/UpdateAlias answer."""
    weights: Mapping[str, float] = (data.get("RoutingConfig") or {}).get(
        "AdditionalVersionWeights"
    ) or {}
    canary, weight = next(iter(weights.items()), (None, 0.0))
    return AliasState(
        function=function,
        alias=str(data["Name"]),
        primary=str(data["FunctionVersion"]),
        canary=None if canary is None else str(canary),
        weight=float(weight),
        revision_id=str(data.get("RevisionId") or ""),
        description=str(data.get("Description") or ""),
    )


def stage_state(api_id: str, data: Mapping[str, Any]) -> StageCanaryState:
    """A :class:`StageCanaryState` from a GetStage/UpdateStage answer."""
    canary = data.get("canarySettings")
    return StageCanaryState(
        api_id=api_id,
        stage=str(data["stageName"]),
        deployment_id=str(data.get("deploymentId") or ""),
        variables=dict(data.get("variables") or {}),
        canary_percent=None if canary is None else float(canary.get("percentTraffic") or 0.0),
        canary_deployment_id=None if canary is None else canary.get("deploymentId"),
        canary_overrides={} if canary is None else dict(canary.get("stageVariableOverrides") or {}),
    )


def _pointer(key: str) -> str:
    """A JSON-pointer segment (RFC 6901 escaping)."""
    return key.replace("~", "~0").replace("/", "~1")


def _percent_text(percent: float) -> str:
    return repr(float(percent))


def canary_patch(
    current: StageCanaryState, percent: float, overrides: Mapping[str, str]
) -> list[dict[str, str]]:
    """The UpdateStage operations that make an existing canary exactly ``percent`` +
    ``overrides`` (empty when it already is)."""
    ops: list[dict[str, str]] = []
    if current.canary_percent is None or current.canary_percent != float(percent):
        ops.append(
            {
                "op": "replace",
                "path": "/canarySettings/percentTraffic",
                "value": _percent_text(percent),
            }
        )
    base = "/canarySettings/stageVariableOverrides/"
    for key, value in sorted(overrides.items()):
        if current.canary_overrides.get(key) != value:
            ops.append({"op": "replace", "path": base + _pointer(key), "value": value})
    for key in sorted(set(current.canary_overrides) - set(overrides)):
        ops.append({"op": "remove", "path": base + _pointer(key)})
    return ops


PROMOTION_OPS: tuple[dict[str, str], ...] = (
    {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"},
    {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
    {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
)
REMOVE_CANARY_OPS: tuple[dict[str, str], ...] = ({"op": "remove", "path": "/canarySettings"},)


class AwsPlatform:
    """The Platform protocol over boto3 clients. See the module docstring for the calls.

    ``telemetry_delay_s``: how long after a minute ends its CloudWatch datapoints are taken
    as complete (``TelemetryBatch.fresh_until`` lags ``now`` by this much).
    """

    name = "aws"

    def __init__(
        self,
        clients: AwsClients,
        *,
        clock: Clock | None = None,
        telemetry_delay_s: float = tm.DEFAULT_DELAY_S,
    ) -> None:
        self.clients = clients
        self.clock: Clock = clock or SystemClock()
        self.telemetry_delay_s = telemetry_delay_s
        self._canary_stage_dims: dict[tuple[str, str], str] = {}
        self._api_names: dict[str, str] = {}

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
    ) -> AwsPlatform:
        """An AwsPlatform on the standard credential chain (no call is made yet)."""
        session = make_session(region=region, profile=profile)
        clients = make_clients(session, endpoint_url=endpoint_url, max_attempts=max_attempts)
        return cls(clients, clock=clock, telemetry_delay_s=telemetry_delay_s)

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
        """UpdateAlias to exactly ``primary`` (+ ``canary`` at ``weight``); the answer read back.

        ``description`` (the rollout marker, :mod:`aws_marker`) is left unchanged when None.
        """
        weights = {} if canary is None else {canary: float(weight)}
        data = aws_call(
            self.clients.lambda_,
            "update_alias",
            FunctionName=function,
            Name=alias,
            FunctionVersion=primary,
            RoutingConfig={"AdditionalVersionWeights": weights},
            RevisionId=expected_revision,
            Description=description,
        )
        return alias_state(function, data)

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
        data = aws_call(
            self.clients.apigateway,
            "update_stage",
            restApiId=api_id,
            stageName=stage,
            patchOperations=[dict(op) for op in ops],
        )
        return stage_state(api_id, data)

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
                self._api_names[str(api["id"])] = str(api.get("name") or "")
                return str(api["id"])
        named = [api for api in apis if api.get("name") == name_or_id]
        if len(named) == 1:
            self._api_names[str(named[0]["id"])] = name_or_id
            return str(named[0]["id"])
        if named:
            ids = ", ".join(sorted(str(api["id"]) for api in named))
            raise BadInputError(
                f"{len(named)} REST APIs are named {name_or_id!r} ({ids})",
                hint="pass the API id with --api",
            )
        known = ", ".join(sorted(f"{api.get('name')} ({api.get('id')})" for api in apis)) or "none"
        raise BadInputError(
            f"no REST API is named or has the id {name_or_id!r}; the APIs here: {known}",
            hint="check --api and --region",
        )

    # -- telemetry --------------------------------------------------------------------------------

    def _api_name(self, target: TelemetryTarget) -> str:
        if target.api_name:
            return target.api_name
        if not target.api_id:
            raise BadInputError("stage-mode telemetry needs the API name or id")
        if target.api_id not in self._api_names:
            data = aws_call(self.clients.apigateway, "get_rest_api", restApiId=target.api_id)
            self._api_names[target.api_id] = str(data.get("name") or target.api_id)
        return self._api_names[target.api_id]

    def canary_stage_dimension(self, api_name: str, stage: str) -> str:
        """The canary's ``Stage`` dimension value: discovered with ListMetrics (then cached),
        else the conventional ``<stage>/Canary`` until CloudWatch lists one."""
        key = (api_name, stage)
        if key in self._canary_stage_dims:
            return self._canary_stage_dims[key]
        metrics = paginate(
            self.clients.cloudwatch,
            "list_metrics",
            "Metrics",
            Namespace="AWS/ApiGateway",
            MetricName="Count",
            Dimensions=[{"Name": "ApiName", "Value": api_name}],
        )
        found = tm.discover_canary_stage(metrics, stage)
        if found is None:
            return f"{stage}{tm.CANARY_STAGE_SUFFIX}"
        self._canary_stage_dims[key] = found
        return found

    def _series(self, target: TelemetryTarget) -> list[tm.Series]:
        if target.mode == "stage":
            if not target.stage:
                raise BadInputError("stage-mode telemetry needs the stage name")
            api_name = self._api_name(target)
            canary_stage = self.canary_stage_dimension(api_name, target.stage)
            return tm.stage_series(api_name, target.stage, canary_stage)
        return tm.alias_series(
            target.function, target.alias, target.stable_version, target.canary_version
        )

    def _metric_data(
        self, queries: list[dict[str, Any]], start: float, end: float
    ) -> dict[str, dict[float, float]]:
        pages: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = aws_call(
                self.clients.cloudwatch,
                "get_metric_data",
                MetricDataQueries=queries,
                StartTime=start,
                EndTime=end,
                ScanBy="TimestampAscending",
                NextToken=token,
            )
            pages.append(page)
            token = page.get("NextToken")
            if not token:
                return tm.collect_results(pages)

    def read_telemetry(self, target: TelemetryTarget, cursor: Any) -> TelemetryBatch:
        """Windows (one per CloudWatch minute with traffic) completed since ``cursor``.

        ``cursor=None`` starts at the current minute: data from before the call is not
        returned. ``fresh_until`` is the last complete period boundary (now - delay).
        """
        now = self.clock.now()
        fresh = tm.fresh_boundary(now, self.telemetry_delay_s)
        start = tm.period_floor(now) if cursor is None else float(cursor)
        if fresh <= start:
            return TelemetryBatch(cursor=start, fresh_until=fresh, windows=())
        queries = tm.metric_queries(self._series(target))
        results = self._metric_data(queries, start, fresh)
        windows = tm.fold_windows(results, start, fresh)
        return TelemetryBatch(cursor=fresh, fresh_until=fresh, windows=tuple(windows))

    def read_latency_percentiles(
        self,
        target: TelemetryTarget,
        start: float,
        end: float,
        percentiles: Sequence[float] = (90.0, 99.0),
    ) -> dict[str, dict[str, float]]:
        """``{"stable"|"canary": {"p90": ms, ...}}`` over ``[start, end)`` (whole minutes).

        Alias mode: Lambda ``Duration`` by executed version; stage mode: API Gateway
        ``Latency``. An arm without data in the range is missing from the answer.
        """
        start = tm.period_floor(start)
        span = max(tm.PERIOD_S, int(tm.period_floor(end) - start))
        series = self._series(target)
        namespace, metric = (
            ("AWS/ApiGateway", "Latency") if target.mode == "stage" else ("AWS/Lambda", "Duration")
        )
        arms = [("stable", series[0].dimensions), ("canary", series[2].dimensions)]
        wanted = tm.percentile_series(arms, namespace, metric, percentiles)
        results = self._metric_data(tm.metric_queries(wanted, span), start, start + span)
        latest = tm.latest_values(results)
        out: dict[str, dict[str, float]] = {}
        for s in wanted:
            if s.id in latest:
                out.setdefault(s.id.split("P", 1)[0], {})[s.stat] = latest[s.id]
        return out

    # -- alarms and hooks -------------------------------------------------------------------------

    def alarm_states(self, names: Sequence[str]) -> Mapping[str, str]:
        """``{name: state}`` for metric and composite alarms; unknown names raise."""
        states: dict[str, str] = {}
        wanted = list(dict.fromkeys(names))
        for at in range(0, len(wanted), 100):  # DescribeAlarms takes at most 100 names
            chunk = wanted[at : at + 100]
            for key in ("MetricAlarms", "CompositeAlarms"):
                for alarm in paginate(
                    self.clients.cloudwatch,
                    "describe_alarms",
                    key,
                    AlarmNames=chunk,
                    AlarmTypes=["MetricAlarm", "CompositeAlarm"],
                ):
                    states[str(alarm["AlarmName"])] = str(alarm["StateValue"])
        missing = [name for name in wanted if name not in states]
        if missing:
            raise AwsApiError(
                "ResourceNotFound",
                f"CloudWatch has no alarm named {', '.join(missing)}",
                404,
            )
        return {name: states[name] for name in wanted}

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


__all__ = [
    "PROMOTION_OPS",
    "REMOVE_CANARY_OPS",
    "AwsClients",
    "AwsPlatform",
    "alias_state",
    "canary_patch",
    "make_clients",
    "make_session",
    "stage_state",
]
