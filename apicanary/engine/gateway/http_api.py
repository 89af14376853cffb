"""One request through a local HTTP API (API Gateway v2), free of HTTP-server details.

:class:`HttpApiGateway` is the HTTP API path beside the REST one in :mod:`.gateway`, which
hands it a request when :meth:`HttpApiGateway.select` picks one of its APIs
(``Host: {apiId}.execute-api.localhost``, or the only API when no REST API is served). Per
request: stage (a first path segment naming a stage, else ``$default``, served without a
prefix) → route (:mod:`.http_compiled`; none is 404 ``Not Found``) → stage variables in the
integration URI → alias weights → the payload 1.0 or 2.0 event → one worker invocation with
the integration timeout (503 when it runs out) → the 2.0 or 1.0 response rules
(:mod:`.proxy_response_v2`; a function error or a malformed answer is 500) → one
:class:`RequestRecord` with ``api_kind="HTTP"`` for the metrics (``ApiId`` dimensions) and the
rollout analysis. HTTP API stages have no canary. ``handle`` never raises.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from apicanary.arns import DEFAULT_ACCOUNT
from apicanary.clock import Clock
from apicanary.engine.apigatewayv2.snapshot import HttpGatewaySnapshot
from apicanary.engine.functions.invoke import FunctionInvoker
from apicanary.engine.gateway import http_responses as answers
from apicanary.engine.gateway.events import build_http_v2_event, build_rest_v1_event
from apicanary.engine.gateway.http_compiled import (
    EMPTY_HTTP_GATEWAY,
    CompiledHttpApi,
    CompiledHttpGateway,
    CompiledHttpStage,
    compile_http_gateway,
)
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
from apicanary.engine.gateway.proxy_response import MalformedResponse
from apicanary.engine.gateway.proxy_response_v2 import parse_v1_response, parse_v2_response
from apicanary.engine.gateway.stage_variables import substitute
from apicanary.errors import AwsApiError

_NO_BINARY = BinaryMediaTypes.of(())
#: the same local extension as the REST path's (:data:`.gateway.VERSION_HEADER`)
VERSION_HEADER = b"x-apicanary-executed-version"
HTTP_KIND = "HTTP"


class HttpApiGateway:
    """The HTTP API request path over a swappable compiled view."""

    def __init__(
        self, functions: FunctionInvoker, clock: Clock, *, account_id: str = DEFAULT_ACCOUNT
    ) -> None:
        self._functions = functions
        self._clock = clock
        self._account_id = account_id
        self.view: CompiledHttpGateway = EMPTY_HTTP_GATEWAY

    def swap(self, snapshot: HttpGatewaySnapshot) -> None:
        """Install new state; requests already running keep the old view."""
        self.view = compile_http_gateway(snapshot, self.view)

    def select(self, request: GatewayRequest, rest_apis: int) -> CompiledHttpApi | None:
        """The HTTP API ``request`` is for, or ``None`` (the REST path then handles it)."""
        apis = self.view.apis
        if not apis or request.path.startswith("/restapis/"):
            return None
        if request.host:
            match = API_HOST.match(request.host)
            if match:
                return apis.get(match.group(1).lower())
        if rest_apis == 0 and len(apis) == 1:
            return next(iter(apis.values()))
        return None

    def unselected(self) -> GatewayReply:
        """The answer when only HTTP APIs are served and none was selected: 404 ``Not Found``
        with an ``x-apicanary-hint`` naming them (a local extension, like the REST one)."""
        ids = ", ".join(sorted(self.view.apis))
        hint = (
            f"several HTTP APIs are served ({ids}); "
            "select one with Host: <apiId>.execute-api.localhost"
        )
        reply = canned_reply(answers.NOT_FOUND, str(uuid.uuid4()))
        return reply._replace(headers=(*reply.headers, (b"x-apicanary-hint", hint.encode())))

    async def handle(
        self,
        api: CompiledHttpApi,
        request: GatewayRequest,
        listeners: Sequence[RecordListener],
        tap: RequestTap | None,
    ) -> GatewayReply:
        started = time.perf_counter()
        timestamp = self._clock.now()
        request_id = str(uuid.uuid4())
        if tap is not None:
            tap(timestamp, api.name, request.path, request)
        stage, path = _stage_of(api, request.path)
        if stage is None:
            return canned_reply(answers.NOT_FOUND, request_id)
        match = stage.routes.match(request.method, path)
        if match is None:
            draft = _Draft(timestamp, request_id, api, stage, request, "$none")
            return self._finish(draft, answers.NOT_FOUND, started, None, listeners)
        draft = _Draft(timestamp, request_id, api, stage, request, _route_key(match))
        integration = match.integration
        ref = integration.function_ref
        if integration.unsupported is not None or ref is None:
            return self._finish(
                draft, answers.INTEGRATION_FAILED, started, "Unsupported", listeners
            )
        if integration.templated:
            ref = substitute(ref, stage.variables)
            if ref is None:
                return self._finish(
                    draft, answers.INTEGRATION_FAILED, started, "StageVariable", listeners
                )
        try:
            target = self._functions.resolve(ref)
        except AwsApiError:
            return self._finish(draft, answers.INTEGRATION_FAILED, started, "NotFound", listeners)
        draft.function_name = target.function_name
        draft.qualifier = target.qualifier
        draft.executed_version = target.executed_version

        raw_path = request.path
        route = ResolvedRoute(
            api.id, api.name, _NO_BINARY, stage.name, False, stage.deployment_id,
            stage.variables, raw_path, match,
        )  # fmt: skip
        if integration.payload_version == "2.0":
            event = build_http_v2_event(
                request,
                route,
                request_id=request_id,
                request_time_ms=int(timestamp * 1000),
                account_id=self._account_id,
            )
        else:  # the REST shape, which HTTP APIs send with a "version" key
            event = {
                "version": "1.0",
                **build_rest_v1_event(
                    request,
                    route,
                    request_id=request_id,
                    request_time_ms=int(timestamp * 1000),
                    account_id=self._account_id,
                ),
            }
        invoke_started = time.perf_counter()
        invocation = asyncio.ensure_future(
            self._functions.invoke_target(target, orjson.dumps(event), request_id)
        )
        try:
            outcome = await asyncio.wait_for(
                asyncio.shield(invocation), timeout=integration.timeout_s
            )
        except TimeoutError:
            invocation.add_done_callback(_swallow)  # the function keeps running, as on AWS
            draft.integration_ms = (time.perf_counter() - invoke_started) * 1000
            return self._finish(
                draft, answers.INTEGRATION_TIMEOUT, started, "IntegrationTimeout", listeners
            )
        except AwsApiError as error:
            draft.integration_ms = (time.perf_counter() - invoke_started) * 1000
            kind = "Throttled" if error.code == "TooManyRequestsException" else error.code
            return self._finish(draft, answers.INTEGRATION_FAILED, started, kind, listeners)
        except Exception:  # the runtime failed: one request must not take the gateway down
            return self._finish(
                draft, answers.INTEGRATION_FAILED, started, "RuntimeFailure", listeners
            )
        draft.integration_ms = (time.perf_counter() - invoke_started) * 1000
        draft.cold_start = outcome.cold_start
        if outcome.function_error is not None:
            return self._finish(
                draft, answers.INTEGRATION_FAILED, started, outcome.error_type, listeners
            )
        parse = parse_v2_response if integration.payload_version == "2.0" else parse_v1_response
        parsed = parse(outcome.payload)
        if isinstance(parsed, MalformedResponse):
            return self._finish(
                draft, answers.INTEGRATION_FAILED, started, "MalformedProxyResponse", listeners
            )
        headers = (
            *parsed.headers,
            (b"apigw-requestid", request_id.encode()),
            (VERSION_HEADER, target.executed_version.encode()),
        )
        reply = GatewayReply(parsed.status, headers, parsed.body)
        _record(draft, reply.status, started, None, listeners)
        return reply

    def _finish(
        self,
        draft: _Draft,
        answer: answers.HttpApiResponse,
        started: float,
        error_type: str | None,
        listeners: Sequence[RecordListener],
    ) -> GatewayReply:
        version = draft.executed_version
        extra = () if version is None else ((VERSION_HEADER, version.encode()),)
        reply = canned_reply(answer, draft.request_id, extra)
        _record(draft, reply.status, started, error_type, listeners)
        return reply


class _Draft:
    """Notes taken while one request is handled (becomes a :class:`RequestRecord`)."""

    __slots__ = (
        "api", "cold_start", "executed_version", "function_name", "integration_ms", "qualifier",
        "request", "request_id", "route_key", "stage", "timestamp",
    )  # fmt: skip

    def __init__(
        self,
        timestamp: float,
        request_id: str,
        api: CompiledHttpApi,
        stage: CompiledHttpStage,
        request: GatewayRequest,
        route_key: str,
    ) -> None:
        self.timestamp = timestamp
        self.request_id = request_id
        self.api = api
        self.stage = stage
        self.request = request
        self.route_key = route_key
        self.function_name: str | None = None
        self.qualifier: str | None = None
        self.executed_version: str | None = None
        self.integration_ms = 0.0
        self.cold_start = False


def _record(
    draft: _Draft,
    status: int,
    started: float,
    error_type: str | None,
    listeners: Sequence[RecordListener],
) -> None:
    if not listeners:
        return
    record = RequestRecord(
        timestamp=draft.timestamp,
        request_id=draft.request_id,
        api_id=draft.api.id,
        api_name=draft.api.name,
        stage=draft.stage.name,
        is_canary=False,
        deployment_id=draft.stage.deployment_id,
        resource_path=draft.route_key,
        method=draft.request.method,
        function_name=draft.function_name,
        qualifier=draft.qualifier,
        executed_version=draft.executed_version,
        status=status,
        latency_ms=(time.perf_counter() - started) * 1000,
        integration_latency_ms=draft.integration_ms,
        cold_start=draft.cold_start,
        error_type=error_type,
        path=draft.request.path,
        query_string=draft.request.query_string,
        source_ip=draft.request.source_ip,
        api_kind=HTTP_KIND,
    )
    for listener in listeners:
        listener(record)


def _stage_of(api: CompiledHttpApi, path: str) -> tuple[CompiledHttpStage | None, str]:
    """A named stage when the first segment names one (the rest is the route path), else
    ``$default`` with the whole path."""
    if api.stages:
        first, _, rest = path.lstrip("/").partition("/")
        named = api.stages.get(first)
        if named is not None:
            return named, "/" + rest
    return api.default_stage, path


def _route_key(match: Any) -> str:
    if match.resource == "$default":
        return "$default"
    return f"{match.method} {match.resource}"


def _swallow(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
