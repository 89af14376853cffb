"""One request through the local API Gateway (DESIGN §3), free of HTTP-server details.

The gateway holds a :class:`CompiledGateway` built from the API Gateway service's immutable
snapshot: route tables are compiled once per deployment (deployments never change) and reused
across swaps. A control-plane change builds a new compiled view and replaces the reference in
one assignment, so a canary weight change, promotion or rollback never blocks or fails a
request in flight: each request uses the view it started with.

Per request: API (``Host: {apiId}.execute-api.localhost``, the ``/restapis/{id}/{stage}/
_user_request_/`` path form, or the only API) → stage (first path segment) → canary draw
(``percentTraffic``) → route match in that deployment → stage variables (canary overrides
merged) substituted into the integration URI → alias weights → one worker invocation with the
integration timeout → strict proxy-response parsing → one :class:`RequestRecord` for the
metrics and the rollout analysis. Failures map to API Gateway's answers (aws-semantics §2.7).
Answers also carry ``x-apicanary-executed-version`` (local only, see :data:`VERSION_HEADER`).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from apicanary.arns import DEFAULT_ACCOUNT
from apicanary.clock import Clock
from apicanary.engine.apigateway.snapshot import GatewaySnapshot
from apicanary.engine.functions.invoke import FunctionInvoker
from apicanary.engine.gateway import responses
from apicanary.engine.gateway.compiled import (
    EMPTY_GATEWAY,
    CompiledApi,
    CompiledGateway,
    compile_gateway,
)
from apicanary.engine.gateway.events import build_rest_v1_event
from apicanary.engine.gateway.http_api import HttpApiGateway
from apicanary.engine.gateway.inflight import InFlight
from apicanary.engine.gateway.messages import (
    GatewayReply,
    GatewayRequest,
    RecordListener,
    RequestRecord,
    RequestTap,
    ResolvedRoute,
)
from apicanary.engine.gateway.proxy_response import MalformedResponse, parse_proxy_response
from apicanary.errors import AwsApiError

_STAGE_VAR = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
_HOST_API = re.compile(r"^([a-z0-9]+)\.execute-api\.[^:]+(?::\d+)?$", re.IGNORECASE)
#: A local-engine extension (AWS sends no such header): the Lambda version that ran, on every
#: answer where one was chosen, errors included, so clients and the demo can attribute a 502.
VERSION_HEADER = b"x-apicanary-executed-version"


class Gateway:
    """The request path over a swappable compiled view. ``handle`` never raises."""

    def __init__(
        self,
        functions: FunctionInvoker,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        account_id: str = DEFAULT_ACCOUNT,
    ) -> None:
        self._functions = functions
        self._clock = clock
        self._rng = rng or random.Random()
        self._account_id = account_id
        self._view = EMPTY_GATEWAY
        self._listeners: list[RecordListener] = []
        self._tap: RequestTap | None = None
        self.inflight = InFlight(clock)  # read by the rollout's evidence watermark
        self._http: HttpApiGateway | None = None

    @property
    def view(self) -> CompiledGateway:
        return self._view

    def swap(self, snapshot: GatewaySnapshot) -> None:
        """Install the control plane's new state; requests already running keep the old one."""
        self._view = compile_gateway(snapshot, self._view)

    def serve_http_apis(self, http: HttpApiGateway) -> None:
        """Hand requests for HTTP APIs (v2) to ``http`` (see :meth:`HttpApiGateway.select`)."""
        self._http = http

    def add_listener(self, listener: RecordListener) -> None:
        self._listeners.append(listener)

    def tap_requests(self, tap: RequestTap | None) -> None:
        """Show every request routed to an API to ``tap`` (``None``: stop)."""
        self._tap = tap

    async def handle(self, request: GatewayRequest) -> GatewayReply:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        # in flight from its start time until after its record is written
        timestamp = self.inflight.begin(request_id)
        try:
            return await self._handle(request, started, timestamp, request_id)
        finally:
            self.inflight.end(request_id)

    async def _handle(
        self, request: GatewayRequest, started: float, timestamp: float, request_id: str
    ) -> GatewayReply:
        view = self._view
        http = self._http
        if http is not None and http.view.apis:  # the one seam to the HTTP API path
            http_api = http.select(request, len(view.apis))
            if http_api is not None:
                return await http.handle(http_api, request, self._listeners, self._tap)
            if not view.apis:
                return http.unselected()
        api, path = self._select_api(view, request)
        if api is None:
            return _fixed(responses.MISSING_AUTHENTICATION_TOKEN, request_id, _api_hint(view))
        if self._tap is not None:
            self._tap(timestamp, api.name, path, request)
        stage_name, _, rest = path.lstrip("/").partition("/")
        stage = api.stages.get(stage_name)
        if stage is None:
            return _fixed(responses.MISSING_AUTHENTICATION_TOKEN, request_id)
        canary = stage.canary
        is_canary = canary is not None and self._rng.random() * 100.0 < canary.percent
        if canary is not None and is_canary:
            deployment, variables = canary.deployment, canary.variables
        else:
            deployment, variables = stage.deployment, stage.variables
        match = deployment.table.match(request.method, "/" + rest)
        if match is None:
            return _fixed(responses.MISSING_AUTHENTICATION_TOKEN, request_id)

        route = ResolvedRoute(
            api.id, api.name, api.binary, stage_name, is_canary, deployment.id, variables, path,
            match,
        )  # fmt: skip
        record = _RecordDraft(timestamp, request_id, route, request)
        integration = match.integration
        if integration.unsupported is not None or integration.function_ref is None:
            return self._finish(record, responses.INTEGRATION_REJECTED, started, "Unsupported")
        function_ref: str | None = integration.function_ref
        if integration.templated:
            function_ref = _substitute(integration.function_ref, variables)
        if function_ref is None:
            return self._finish(record, responses.INTEGRATION_REJECTED, started, "StageVariable")
        try:
            target = self._functions.resolve(function_ref)
        except AwsApiError:
            return self._finish(record, responses.INTEGRATION_REJECTED, started, "NotFound")
        record.function_name = target.function_name
        record.qualifier = target.qualifier
        record.executed_version = target.executed_version

        event = build_rest_v1_event(
            request,
            route,
            request_id=request_id,
            request_time_ms=int(timestamp * 1000),
            account_id=self._account_id,
        )
        invoke_started = time.perf_counter()
        invocation = asyncio.ensure_future(
            self._functions.invoke_target(target, orjson.dumps(event), request_id)
        )
        try:
            outcome = await asyncio.wait_for(
                asyncio.shield(invocation), timeout=integration.timeout_s
            )
        except TimeoutError:
            # API Gateway gives up; the function keeps running, as on AWS
            invocation.add_done_callback(_swallow)
            record.integration_ms = (time.perf_counter() - invoke_started) * 1000
            timeout = responses.INTEGRATION_TIMEOUT
            return self._finish(record, timeout, started, "IntegrationTimeout")
        except AwsApiError as error:
            record.integration_ms = (time.perf_counter() - invoke_started) * 1000
            kind = "Throttled" if error.code == "TooManyRequestsException" else error.code
            return self._finish(record, responses.INTEGRATION_REJECTED, started, kind)
        except Exception:  # the runtime failed: never let one request take the gateway down
            return self._finish(record, responses.INTEGRATION_REJECTED, started, "RuntimeFailure")
        record.integration_ms = (time.perf_counter() - invoke_started) * 1000
        record.cold_start = outcome.cold_start
        if outcome.function_error is not None:
            return self._finish(record, responses.FUNCTION_ERROR, started, outcome.error_type)
        parsed = parse_proxy_response(
            outcome.payload, binary_media_types=api.binary, accept_header=_header(request, "accept")
        )
        if isinstance(parsed, MalformedResponse):
            return self._finish(record, responses.FUNCTION_ERROR, started, "MalformedProxyResponse")
        headers = (
            *parsed.headers,
            (b"x-amzn-RequestId", request_id.encode()),
            (VERSION_HEADER, target.executed_version.encode()),
        )
        reply = GatewayReply(parsed.status, headers, parsed.body)
        self._record(record, reply.status, started, None)
        return reply

    # -- internals ----------------------------------------------------------------------------

    def _select_api(
        self, view: CompiledGateway, request: GatewayRequest
    ) -> tuple[CompiledApi | None, str]:
        path = request.path
        if path.startswith("/restapis/"):
            parts = path.split("/", 5)  # "", restapis, id, stage, _user_request_, rest
            if len(parts) >= 5 and parts[4] == "_user_request_":
                rest = parts[5] if len(parts) > 5 else ""
                return view.apis.get(parts[2]), f"/{parts[3]}/{rest}"
        if request.host:
            match = _HOST_API.match(request.host)
            if match:
                return view.apis.get(match.group(1).lower()), path
        if len(view.apis) == 1:
            return next(iter(view.apis.values())), path
        return None, path

    def _finish(
        self,
        record: _RecordDraft,
        response: responses.GatewayResponse,
        started: float,
        error_type: str | None,
    ) -> GatewayReply:
        version = record.executed_version
        extra = () if version is None else ((VERSION_HEADER, version.encode()),)
        reply = _fixed(response, record.request_id, extra)
        self._record(record, reply.status, started, error_type)
        return reply

    def _record(
        self, draft: _RecordDraft, status: int, started: float, error_type: str | None
    ) -> None:
        if not self._listeners:
            return
        route = draft.route
        record = RequestRecord(
            timestamp=draft.timestamp,
            request_id=draft.request_id,
            api_id=route.api_id,
            api_name=route.api_name,
            stage=route.stage,
            is_canary=route.is_canary,
            deployment_id=route.deployment_id,
            resource_path=route.match.resource,
            method=draft.method,
            function_name=draft.function_name,
            qualifier=draft.qualifier,
            executed_version=draft.executed_version,
            status=status,
            latency_ms=(time.perf_counter() - started) * 1000,
            integration_latency_ms=draft.integration_ms,
            cold_start=draft.cold_start,
            error_type=error_type,
            path=route.path,
            query_string=draft.request.query_string,
            source_ip=draft.request.source_ip,
        )
        for listener in self._listeners:
            listener(record)


class _RecordDraft:
    """Mutable notes taken while one request is handled (becomes a RequestRecord)."""

    __slots__ = (
        "cold_start", "executed_version", "function_name", "integration_ms", "method",
        "qualifier", "request", "request_id", "route", "timestamp",
    )  # fmt: skip

    def __init__(
        self,
        timestamp: float,
        request_id: str,
        route: ResolvedRoute,
        request: GatewayRequest,
    ) -> None:
        self.timestamp = timestamp
        self.request_id = request_id
        self.route = route
        self.request = request
        self.method = request.method
        self.function_name: str | None = None
        self.qualifier: str | None = None
        self.executed_version: str | None = None
        self.integration_ms = 0.0
        self.cold_start = False


def _substitute(template: str, variables: Mapping[str, str]) -> str | None:
    """Replace ``${stageVariables.x}``; ``None`` when a variable is missing (AWS answers 500)."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        value = variables.get(match.group(1))
        if value is None:
            missing = True
            return ""
        return value

    result = _STAGE_VAR.sub(replace, template)
    return None if missing or not result else result


def _fixed(
    response: responses.GatewayResponse,
    request_id: str,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> GatewayReply:
    return GatewayReply(response.status, (*response.headers_for(request_id), *extra), response.body)


def _api_hint(view: CompiledGateway) -> tuple[tuple[bytes, bytes], ...]:
    """An ``x-apicanary-hint`` header saying why no API was selected (none when obvious)."""
    if len(view.apis) > 1:
        ids = ", ".join(sorted(view.apis))
        hint = (
            f"several REST APIs are served ({ids}); "
            "select one with Host: <apiId>.execute-api.localhost"
        )
    elif not view.apis:
        hint = "no REST API is deployed"
    else:
        return ()
    return ((b"x-apicanary-hint", hint.encode()),)


def _header(request: GatewayRequest, name: str) -> str | None:
    for key, value in request.headers:
        if key.lower() == name:
            return value
    return None


def _swallow(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
