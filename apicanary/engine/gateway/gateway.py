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

Over 400 lines because the request path is one sequence (prepare, invoke, expire, reply,
record) sharing the draft record and the call; split, every step would cross a module.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Coroutine
from typing import Any

import orjson

from apicanary.arns import DEFAULT_ACCOUNT
from apicanary.clock import Clock
from apicanary.engine.apigateway.snapshot import GatewaySnapshot
from apicanary.engine.functions.invoke import FunctionInvoker
from apicanary.engine.functions.model import ResolvedTarget
from apicanary.engine.functions.runtime import InvocationOutcome
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
from apicanary.engine.gateway.media_types import BinaryMediaTypes
from apicanary.engine.gateway.messages import (
    API_HOST,
    GatewayReply,
    GatewayRequest,
    RecordListener,
    RequestRecord,
    RequestTap,
    ResolvedRoute,
    canned_reply,
)
from apicanary.engine.gateway.proxy_response import MalformedResponse, parse_proxy_response
from apicanary.engine.gateway.stage_variables import substitute
from apicanary.errors import AwsApiError

#: A local-engine extension (AWS sends no such header): the Lambda version that ran, on every
#: answer where one was chosen, errors included, so clients and the demo can attribute a 502.
VERSION_HEADER = b"x-apicanary-executed-version"

log = logging.getLogger(__name__)


class Gateway:
    """The request path over a swappable compiled view. ``handle`` never raises."""

    def __init__(
        self,
        functions: FunctionInvoker,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        account_id: str = DEFAULT_ACCOUNT,
        edge: bool = False,
    ) -> None:
        self._functions = functions
        self.edge = edge  # add an edge-optimized endpoint's CloudFront headers to events
        self._clock = clock
        self._rng = rng or random.Random()
        self._account_id = account_id
        self._view = EMPTY_GATEWAY
        self._listeners: list[RecordListener] = []
        self._tap: RequestTap | None = None
        self._http: HttpApiGateway | None = None
        self._ids = random.Random(os.urandom(16))
        self._running: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.inflight = InFlight(clock)  # read by the rollout's evidence watermark

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
        """The reply to ``request``; never raises (failures are API Gateway's answers)."""
        return await self.dispatch(request)

    def dispatch(self, request: GatewayRequest) -> asyncio.Future[GatewayReply]:
        """Start handling ``request``; the returned future gets the reply (never an exception).

        Routing, resolution and the event are done here, synchronously. An invocation is one
        task plus one timer handle for the integration timeout: when the timer fires first,
        the future gets API Gateway's 504 while the function keeps running, as on AWS.
        """
        loop = self._loop
        if loop is None or not loop.is_running():
            # cached: on Python 3.11, get_running_loop makes a getpid system call
            loop = self._loop = asyncio.get_running_loop()
        answer: asyncio.Future[GatewayReply] = loop.create_future()
        http = self._http
        if http is not None and http.view.apis:  # the one seam to the HTTP API path
            http_api = http.select(request, len(self._view.apis))
            if http_api is not None:
                coroutine = http.handle(http_api, request, self._listeners, self._tap)
                self._track(loop.create_task(_resolve(answer, coroutine)))
                return answer
            if not self._view.apis:
                answer.set_result(http.unselected())
                return answer
        call = self._prepare(request)
        if type(call) is GatewayReply:
            answer.set_result(call)
            return answer
        assert isinstance(call, _Call)
        call.timer = loop.call_later(call.timeout_s, self._expire, call, answer)
        self._track(loop.create_task(self._invoke(call, answer)))
        return answer

    def _track(self, task: asyncio.Task[None]) -> None:
        """Hold a reference to ``task`` until it is done (the loop keeps only weak ones)."""
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    def _prepare(self, request: GatewayRequest) -> GatewayReply | _Call:
        """Everything before the invocation: a fixed answer, or the call to make."""
        started = time.perf_counter()
        request_id = _request_id(self._ids)
        # in flight from its start time until its record is written (or it gets no record)
        timestamp = self.inflight.begin(request_id)
        view = self._view
        api, path = self._select_api(view, request)
        if api is None:
            self.inflight.end(request_id)
            return canned_reply(responses.MISSING_AUTHENTICATION_TOKEN, request_id, _api_hint(view))
        if self._tap is not None:
            self._tap(timestamp, api.name, path, request)
        stage_name, _, rest = path.lstrip("/").partition("/")
        stage = api.stages.get(stage_name)
        if stage is None:
            self.inflight.end(request_id)
            return canned_reply(api.answer(responses.MISSING_AUTHENTICATION_TOKEN), request_id)
        canary = stage.canary
        is_canary = canary is not None and self._rng.random() * 100.0 < canary.percent
        if canary is not None and is_canary:
            deployment, variables = canary.deployment, canary.variables
        else:
            deployment, variables = stage.deployment, stage.variables
        match = deployment.table.match(request.method, "/" + rest)
        if match is None:
            self.inflight.end(request_id)
            return canned_reply(api.answer(responses.MISSING_AUTHENTICATION_TOKEN), request_id)

        binary = api.binary if deployment.binary is None else deployment.binary
        route = ResolvedRoute(
            api.id, api.name, binary, stage_name, is_canary, deployment.id, variables, path,
            match,
        )  # fmt: skip
        record = _RecordDraft(timestamp, request_id, route, request)
        integration = match.integration
        if integration.unsupported is not None or integration.function_ref is None:
            return self._finish(record, responses.INTEGRATION_REJECTED, started, "Unsupported")
        function_ref: str | None = integration.function_ref
        if integration.templated:
            function_ref = substitute(integration.function_ref, variables)
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
            edge=self.edge,
        )
        return _Call(
            record, target, orjson.dumps(event), started, integration.timeout_s, binary,
            _header(request, "accept"),
        )  # fmt: skip

    async def _invoke(self, call: _Call, answer: asyncio.Future[GatewayReply]) -> None:
        record = call.record
        call.invoke_started = time.perf_counter()
        try:
            outcome = await self._functions.invoke_target(
                call.target, call.payload, record.request_id
            )
        except AwsApiError as error:
            if answer.done():
                return  # the integration timed out first; that was the answer
            call.cancel_timer()
            record.integration_ms = (time.perf_counter() - call.invoke_started) * 1000
            kind = "Throttled" if error.code == "TooManyRequestsException" else error.code
            answer.set_result(
                self._finish(record, responses.INTEGRATION_REJECTED, call.started, kind)
            )
            return
        except Exception:  # the runtime failed: never let one request take the gateway down
            if not answer.done():
                call.cancel_timer()
                answer.set_result(
                    self._finish(
                        record, responses.INTEGRATION_REJECTED, call.started, "RuntimeFailure"
                    )
                )
            return
        if answer.done():
            return  # timed out (or the caller gave up): the function ran on regardless
        call.cancel_timer()
        try:
            reply = self._reply(call, outcome)
        except Exception:  # a bug in parsing must not leave the client without an answer
            reply = self._finish(
                record, responses.FUNCTION_ERROR, call.started, "MalformedProxyResponse"
            )
        answer.set_result(reply)

    def _reply(self, call: _Call, outcome: InvocationOutcome) -> GatewayReply:
        record = call.record
        record.integration_ms = (time.perf_counter() - call.invoke_started) * 1000
        record.cold_start = outcome.cold_start
        if outcome.function_error is not None:
            return self._finish(record, responses.FUNCTION_ERROR, call.started, outcome.error_type)
        parsed = parse_proxy_response(
            outcome.payload, binary_media_types=call.binary, accept_header=call.accept
        )
        if isinstance(parsed, MalformedResponse):
            answer = (  # AWS answers a base64 body that does not decode with a 500
                responses.INTEGRATION_REJECTED if parsed.status == 500 else responses.FUNCTION_ERROR
            )
            return self._finish(record, answer, call.started, "MalformedProxyResponse")
        headers = (
            *parsed.headers,
            (b"x-amzn-RequestId", record.request_id.encode()),
            (VERSION_HEADER, call.target.executed_version.encode()),
        )
        reply = GatewayReply(parsed.status, headers, parsed.body)
        self._record(record, reply.status, call.started, None)
        return reply

    def _expire(self, call: _Call, answer: asyncio.Future[GatewayReply]) -> None:
        """The integration timeout fired: API Gateway gives up, the function keeps running."""
        call.timer = None
        if answer.done():
            return
        record = call.record
        record.integration_ms = (time.perf_counter() - call.invoke_started) * 1000
        timeout = responses.INTEGRATION_TIMEOUT
        answer.set_result(self._finish(record, timeout, call.started, "IntegrationTimeout"))

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
            match = API_HOST.match(request.host)
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
        api = self._view.apis.get(record.route.api_id)
        reply = canned_reply(api.answer(response) if api else response, record.request_id, extra)
        self._record(record, reply.status, started, error_type)
        return reply

    def _record(
        self, draft: _RecordDraft, status: int, started: float, error_type: str | None
    ) -> None:
        if not self._listeners:
            self.inflight.end(draft.request_id)
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
        self.inflight.end(draft.request_id)  # after the telemetry log has the record


class _Call:
    """One invocation the gateway is making: what to send, and what the reply needs."""

    __slots__ = (
        "accept", "binary", "invoke_started", "payload", "record", "started", "target",
        "timeout_s", "timer",
    )  # fmt: skip

    def __init__(
        self,
        record: _RecordDraft,
        target: ResolvedTarget,
        payload: bytes,
        started: float,
        timeout_s: float,
        binary: BinaryMediaTypes,
        accept: str | None,
    ) -> None:
        self.record = record
        self.target = target
        self.payload = payload
        self.started = started
        self.timeout_s = timeout_s
        self.binary = binary
        self.accept = accept
        self.invoke_started = started
        self.timer: asyncio.TimerHandle | None = None

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


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


async def _resolve(
    answer: asyncio.Future[GatewayReply], reply: Coroutine[Any, Any, GatewayReply]
) -> None:
    """Put what ``reply`` returns into ``answer`` (an internal error if it raises)."""
    try:
        result = await reply
    except Exception:  # never leave a client without an answer
        log.exception("the HTTP API path failed")
        result = GatewayReply(500, _JSON, b'{"message":"Internal Server Error"}')
    if not answer.done():
        answer.set_result(result)


_JSON = ((b"content-type", b"application/json"),)


def _request_id(ids: random.Random) -> str:
    """A random (version 4) UUID, as AWS's request ids are; a third of ``uuid.uuid4``'s cost.

    ``ids`` is seeded from the OS, never from the injected RNG: a ``--seed`` makes canary
    draws repeatable, but request ids must stay unique across runs.
    """
    h = "%032x" % (ids.getrandbits(128) & _V4_MASK | _V4_BITS)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_V4_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)
_V4_BITS = (0x4000 << 64) | (0x8000 << 48)
