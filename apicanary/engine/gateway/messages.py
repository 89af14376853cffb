"""The request path's values: the request in, where it was routed, the reply out, the record.

:class:`GatewayRequest` is what the HTTP server read; :class:`ResolvedRoute` is the API, stage
and route the gateway resolved it to (what the proxy events describe); :class:`GatewayReply`
is the one response type, whether the function's proxy response or a fixed gateway answer;
:class:`RequestRecord` is what every request leaves for the metrics, the access log and the
rollout analysis. All are made once or more per request, so they are named tuples: immutable,
and the cheapest such value to build on the hot path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

from apicanary.engine.gateway.media_types import BinaryMediaTypes
from apicanary.engine.gateway.routes import RouteMatch


class GatewayRequest(NamedTuple):
    """An HTTP request as the server read it; ``path`` includes the stage prefix.

    ``headers`` are ``(name, value)`` pairs as received (ASGI bytes decoded as latin-1);
    ``query_string`` is the raw query without ``?``; ``host`` the ``Host`` header, if any.
    """

    method: str
    path: str
    query_string: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str | None


class ResolvedRoute(NamedTuple):
    """Where the gateway sent one request: API, stage (or its canary), deployment and route.

    ``path`` is the raw request path *with* the stage prefix, as API Gateway saw it;
    ``stage_variables`` are the ones in force (a canary's overrides merged in); ``match`` is
    the route that matched in the deployment, with its path parameters.
    """

    api_id: str
    api_name: str
    binary_media_types: BinaryMediaTypes
    stage: str
    is_canary: bool
    deployment_id: str
    stage_variables: Mapping[str, str]
    path: str
    match: RouteMatch[Any]


class GatewayReply(NamedTuple):
    """An answer to the client: status, ASGI-ready ``(name, value)`` byte pairs, body bytes."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


class RequestRecord(NamedTuple):
    """One gateway request, for the metrics, the access log and the rollout analysis."""

    timestamp: float
    request_id: str
    api_id: str
    api_name: str
    stage: str
    is_canary: bool
    deployment_id: str
    resource_path: str
    method: str
    function_name: str | None
    qualifier: str | None
    executed_version: str | None
    status: int
    latency_ms: float
    integration_latency_ms: float
    cold_start: bool
    error_type: str | None  # function error type, "Throttled", "Timeout", "Malformed"...
    path: str = ""  # the request path with the stage prefix, as $context.path
    query_string: str = ""  # raw, as received (a local extension: AWS has no such variable)
    source_ip: str = ""  # the client's address, as $context.identity.sourceIp
    api_kind: str = "REST"  # "HTTP" for an HTTP API (v2): its metrics use ApiId dimensions


RecordListener = Callable[[RequestRecord], None]
#: Sees every request routed to an API, before it is handled: ``(time, API name, path with the
#: stage prefix, request)``. Called on the hot path, so it must only buffer (recording.py).
RequestTap = Callable[[float, str, str, GatewayRequest], None]


API_HOST = re.compile(r"^([a-z0-9]+)\.execute-api\.[^:]+(?::\d+)?$", re.IGNORECASE)
"""``Host: {apiId}.execute-api.<anything>[:port]``: the host form that selects an API by id."""


class CannedAnswer(Protocol):
    """An answer of API Gateway's own (REST's or the HTTP API's), not the function's."""

    @property
    def status(self) -> int: ...

    @property
    def body(self) -> bytes: ...

    def headers_for(self, request_id: str) -> tuple[tuple[bytes, bytes], ...]: ...


def canned_reply(
    answer: CannedAnswer, request_id: str, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> GatewayReply:
    """The reply carrying ``answer`` for request ``request_id``, plus ``extra`` headers."""
    return GatewayReply(answer.status, (*answer.headers_for(request_id), *extra), answer.body)
