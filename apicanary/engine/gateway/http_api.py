"""One request through a local HTTP API (API Gateway v2), free of HTTP-server details.

:class:`HttpApiGateway` is the HTTP API path beside the REST one in :mod:`.gateway`, which
hands it a request when :meth:`HttpApiGateway.select` picks one of its APIs
(``Host: {apiId}.execute-api.localhost``, or the only API when no REST API is served). Per
request: stage (a first path segment naming a stage, else ``$default``, served without a
prefix) → route (:mod:`.http_compiled`; none is 404 ``Not Found``) → stage variables in the
integration URI → alias weights → the payload 1.0 or 2.0 event. :meth:`HttpApiGateway.prepare`
returns the call, which :class:`~.invocation.Invocations` (the REST path's too) makes: one worker
invocation with the integration timeout (503 when it runs out), the request in flight until
its record is written → the 2.0 or 1.0 response rules (:mod:`.proxy_response_v2`; a function
error or a malformed answer is 500) → one :class:`RequestRecord` with ``api_kind="HTTP"`` for
the metrics (``ApiId`` dimensions) and the rollout analysis. HTTP API stages have no canary.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from apicanary.arns import DEFAULT_ACCOUNT
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
from apicanary.engine.gateway.invocation import Call, FixedAnswers, Invocations, RecordDraft
from apicanary.engine.gateway.media_types import BinaryMediaTypes
from apicanary.engine.gateway.messages import (
    API_HOST,
    GatewayReply,
    GatewayRequest,
    RequestTap,
    ResolvedRoute,
    canned_reply,
)
from apicanary.engine.gateway.proxy_response import MalformedResponse
from apicanary.engine.gateway.proxy_response_v2 import parse_v1_response, parse_v2_response
from apicanary.engine.gateway.stage_variables import substitute
from apicanary.errors import AwsApiError

_NO_BINARY = BinaryMediaTypes.of(())
HTTP_KIND = "HTTP"  # a RequestRecord's api_kind
#: an HTTP API's answers to a failed invocation (HTTP APIs have no gateway responses)
HTTP_ANSWERS = FixedAnswers(
    answers.INTEGRATION_FAILED, answers.INTEGRATION_FAILED, answers.INTEGRATION_TIMEOUT
)


class HttpApiGateway:
    """The HTTP API request path over a swappable compiled view."""

    def __init__(self, functions: FunctionInvoker, *, account_id: str = DEFAULT_ACCOUNT) -> None:
        self._functions = functions
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

    def unselected(self, request_id: str) -> GatewayReply:
        """The answer when only HTTP APIs are served and none was selected: 404 ``Not Found``
        with an ``x-apicanary-hint`` naming them (a local extension, like the REST one)."""
        ids = ", ".join(sorted(self.view.apis))
        hint = (
            f"several HTTP APIs are served ({ids}); "
            "select one with Host: <apiId>.execute-api.localhost"
        )
        return canned_reply(answers.NOT_FOUND, request_id, ((b"x-apicanary-hint", hint.encode()),))

    def prepare(
        self,
        api: CompiledHttpApi,
        request: GatewayRequest,
        invocations: Invocations,
        tap: RequestTap | None,
    ) -> GatewayReply | Call:
        """Everything before the invocation: a fixed answer (recorded), or the call to make."""
        started = time.perf_counter()
        request_id, timestamp = invocations.begin()
        if tap is not None:
            tap(timestamp, api.name, request.path, request)
        stage, path = _stage_of(api, request.path)
        if stage is None:
            invocations.abandon(request_id)
            return canned_reply(answers.NOT_FOUND, request_id)
        match = stage.routes.match(request.method, path)
        draft = RecordDraft(
            started, timestamp, request_id, request, api.id, api.name, stage.name, False,
            stage.deployment_id, "$none" if match is None else _route_key(match), request.path,
            HTTP_KIND,
        )  # fmt: skip
        if match is None:
            return invocations.finish(draft, answers.NOT_FOUND, None)
        integration = match.integration
        ref = integration.function_ref
        if integration.unsupported is not None or ref is None:
            return invocations.finish(draft, answers.INTEGRATION_FAILED, "Unsupported")
        if integration.templated:
            ref = substitute(ref, stage.variables)
            if ref is None:
                return invocations.finish(draft, answers.INTEGRATION_FAILED, "StageVariable")
        try:
            target = self._functions.resolve(ref)
        except AwsApiError:
            return invocations.finish(draft, answers.INTEGRATION_FAILED, "NotFound")
        draft.resolved(target)

        route = ResolvedRoute(
            api.id, api.name, _NO_BINARY, stage.name, False, stage.deployment_id,
            stage.variables, request.path, match,
        )  # fmt: skip
        request_time_ms = int(timestamp * 1000)
        if integration.payload_version == "2.0":
            event = build_http_v2_event(
                request,
                route,
                request_id=request_id,
                request_time_ms=request_time_ms,
                account_id=self._account_id,
            )
            kind: type[_HttpCall] = _HttpCall
        else:  # the REST shape, which HTTP APIs send with a "version" key
            event = {
                "version": "1.0",
                **build_rest_v1_event(
                    request,
                    route,
                    request_id=request_id,
                    request_time_ms=request_time_ms,
                    account_id=self._account_id,
                ),
            }
            kind = _HttpV1Call
        return kind(draft, target, orjson.dumps(event), integration.timeout_s, HTTP_ANSWERS)


class _HttpCall(Call):
    """An HTTP API invocation with payload format 2.0: the 2.0 response rules."""

    __slots__ = ()

    id_header = b"apigw-requestid"

    def parse(self, payload: bytes) -> GatewayReply | MalformedResponse:
        return parse_v2_response(payload)


class _HttpV1Call(_HttpCall):
    """An HTTP API invocation with payload format 1.0: REST's rules, every body binary."""

    __slots__ = ()

    def parse(self, payload: bytes) -> GatewayReply | MalformedResponse:
        return parse_v1_response(payload)


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
