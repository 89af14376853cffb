"""One request through the local API Gateway (DESIGN §3), free of HTTP-server details.

The gateway holds a :class:`CompiledGateway` built from the API Gateway service's immutable
snapshot: route tables are compiled once per deployment (deployments never change) and reused
across swaps. A control-plane change builds a new compiled view and replaces the reference in
one assignment, so a canary weight change, promotion or rollback never blocks or fails a
request in flight: each request uses the view it started with.

Per request: API (``Host: {apiId}.execute-api.localhost``, the ``/restapis/{id}/{stage}/
_user_request_/`` path form, or the only API) → stage (first path segment) → canary draw
(``percentTraffic``) → route match in that deployment → stage variables (canary overrides
merged) substituted into the integration URI → alias weights → the payload 1.0 event → one
worker invocation with the integration timeout → strict proxy-response parsing → one
:class:`RequestRecord` for the metrics and the rollout analysis. Failures map to API Gateway's
answers (aws-semantics §2.7), as the API's gateway responses customize them. Answers also carry
``x-apicanary-executed-version`` (local only, see :data:`.invocation.VERSION_HEADER`).

A request for an HTTP API leaves for :mod:`.http_api` before the REST steps; both paths hand
the call they prepared to the same :class:`~.invocation.Invocations` (request id, in-flight
table, timeout, record).
"""

from __future__ import annotations

import asyncio
import random
import time

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
from apicanary.engine.gateway.invocation import (
    VERSION_HEADER,
    Call,
    Invocations,
    RecordDraft,
)
from apicanary.engine.gateway.media_types import BinaryMediaTypes
from apicanary.engine.gateway.messages import (
    API_HOST,
    GatewayReply,
    GatewayRequest,
    RecordListener,
    RequestTap,
    ResolvedRoute,
    canned_reply,
)
from apicanary.engine.gateway.proxy_response import MalformedResponse, parse_proxy_response
from apicanary.engine.gateway.stage_variables import substitute
from apicanary.errors import AwsApiError

__all__ = ["VERSION_HEADER", "Gateway"]

REST_KIND = "REST"  # a RequestRecord's api_kind


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
        self._rng = rng or random.Random()
        self._account_id = account_id
        self._view = EMPTY_GATEWAY
        self._tap: RequestTap | None = None
        self._http: HttpApiGateway | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: ids, in-flight table, invocation and records, shared with the HTTP API path
        self.invocations = Invocations(functions, clock)
        self.inflight = self.invocations.inflight  # read by the rollout's evidence watermark

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
        self.invocations.listeners.append(listener)

    def tap_requests(self, tap: RequestTap | None) -> None:
        """Show every request routed to an API to ``tap`` (``None``: stop)."""
        self._tap = tap

    async def handle(self, request: GatewayRequest) -> GatewayReply:
        """The reply to ``request``; never raises (failures are API Gateway's answers)."""
        return await self.dispatch(request)

    def dispatch(self, request: GatewayRequest) -> asyncio.Future[GatewayReply]:
        """Start handling ``request``; the returned future gets the reply (never an exception).

        Routing, resolution and the event are done here, synchronously, by the REST path or
        the HTTP API path; then both invoke the same way (:class:`Invocations`): one task plus
        one timer handle for the integration timeout; when the timer fires first, the future
        gets the kind's timeout answer while the function keeps running, as on AWS.
        """
        loop = self._loop
        if loop is None or not loop.is_running():
            # cached: on Python 3.11, get_running_loop makes a getpid system call
            loop = self._loop = asyncio.get_running_loop()
        answer: asyncio.Future[GatewayReply] = loop.create_future()
        call = self._route(request)
        if type(call) is GatewayReply:
            answer.set_result(call)
            return answer
        assert isinstance(call, Call)
        self.invocations.start(loop, call, answer)
        return answer

    def _route(self, request: GatewayRequest) -> GatewayReply | Call:
        """A fixed answer, or the call to make: by an HTTP API when one is selected, else REST."""
        http = self._http
        if http is not None and http.view.apis:  # the one seam to the HTTP API path
            http_api = http.select(request, len(self._view.apis))
            if http_api is not None:
                return http.prepare(http_api, request, self.invocations, self._tap)
            if not self._view.apis:
                return http.unselected(self.invocations.new_id())
        return self._prepare(request)

    def _prepare(self, request: GatewayRequest) -> GatewayReply | Call:
        """Everything before the invocation: a fixed answer, or the call to make."""
        started = time.perf_counter()
        invocations = self.invocations
        # in flight from its start time until its record is written (or it gets no record)
        request_id, timestamp = invocations.begin()
        view = self._view
        api, path = self._select_api(view, request)
        if api is None:
            invocations.abandon(request_id)
            return canned_reply(responses.MISSING_AUTHENTICATION_TOKEN, request_id, _api_hint(view))
        if self._tap is not None:
            self._tap(timestamp, api.name, path, request)
        stage_name, _, rest = path.lstrip("/").partition("/")
        stage = api.stages.get(stage_name)
        if stage is None:
            invocations.abandon(request_id)
            return canned_reply(api.answer(responses.MISSING_AUTHENTICATION_TOKEN), request_id)
        canary = stage.canary
        is_canary = canary is not None and self._rng.random() * 100.0 < canary.percent
        if canary is not None and is_canary:
            deployment, variables = canary.deployment, canary.variables
        else:
            deployment, variables = stage.deployment, stage.variables
        match = deployment.table.match(request.method, "/" + rest)
        if match is None:
            invocations.abandon(request_id)
            return canned_reply(api.answer(responses.MISSING_AUTHENTICATION_TOKEN), request_id)

        binary = api.binary if deployment.binary is None else deployment.binary
        route = ResolvedRoute(
            api.id, api.name, binary, stage_name, is_canary, deployment.id, variables, path,
            match,
        )  # fmt: skip
        draft = RecordDraft(
            started, timestamp, request_id, request, api.id, api.name, stage_name, is_canary,
            deployment.id, match.resource, path, REST_KIND,
        )  # fmt: skip
        fixed = api.fixed
        integration = match.integration
        if integration.unsupported is not None or integration.function_ref is None:
            return invocations.finish(draft, fixed.rejected, "Unsupported")
        function_ref: str | None = integration.function_ref
        if integration.templated:
            function_ref = substitute(integration.function_ref, variables)
        if function_ref is None:
            return invocations.finish(draft, fixed.rejected, "StageVariable")
        try:
            target = self._functions.resolve(function_ref)
        except AwsApiError:
            return invocations.finish(draft, fixed.rejected, "NotFound")
        draft.resolved(target)

        event = build_rest_v1_event(
            request,
            route,
            request_id=request_id,
            request_time_ms=int(timestamp * 1000),
            account_id=self._account_id,
            edge=self.edge,
        )
        call = _RestCall(draft, target, orjson.dumps(event), integration.timeout_s, fixed)
        call.binary, call.accept = binary, _header(request, "accept")
        return call

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


class _RestCall(Call):
    """A REST invocation: the answer is a proxy response, parsed by the API's binary rules."""

    __slots__ = ("accept", "binary")

    id_header = b"x-amzn-RequestId"
    binary: BinaryMediaTypes
    accept: str | None  # the request's Accept header

    def parse(self, payload: bytes) -> GatewayReply | MalformedResponse:
        return parse_proxy_response(
            payload, binary_media_types=self.binary, accept_header=self.accept
        )


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
