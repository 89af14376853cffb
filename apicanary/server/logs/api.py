"""The CloudWatch Logs endpoint of the control port (``aws logs`` / boto3 ``logs``).

awsJson1.1: ``POST /`` with ``X-Amz-Target: Logs_20140328.<Operation>`` and a JSON body.
:func:`routes` gives one route that matches only requests carrying that target prefix, so
CloudWatch's ``POST /`` (``GraniteServiceVersion20100801``) and every other route stay
untouched. Errors are ``{"__type": code, "message": ...}`` with status 400 (500 for an
internal failure), as botocore's JSON protocol reads them.

``StartLiveTail`` answers ``application/vnd.amazon.eventstream``: an ``initial-response``
event (what botocore's JSON protocol expects first), ``sessionStart``, then one
``sessionUpdate`` every ``interval_s`` (default 1 s, as CloudWatch) until the client goes
away or ``limit_s`` (default 3 h) passes, which ends the stream with a
``SessionTimeoutException`` event, or the server stops (the stream then just ends).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Match, Route
from starlette.types import Scope

from apicanary.engine.logs.store import LogStore
from apicanary.engine.logs.tail import SESSION_LIMIT_S, TailScope, TailSession
from apicanary.errors import AwsApiError
from apicanary.server.awshttp import json_object
from apicanary.server.logs import eventstream
from apicanary.server.logs.operations import LogsOperations

log = logging.getLogger(__name__)

TARGET_PREFIX = "Logs_20140328."
CONTENT_TYPE = "application/x-amz-json-1.1"
_TARGET_HEADER = b"x-amz-target"


class LogsRoute(Route):
    """``POST /`` only when ``X-Amz-Target`` names a CloudWatch Logs operation."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        for name, value in scope.get("headers", ()):
            if name == _TARGET_HEADER and value.startswith(TARGET_PREFIX.encode()):
                return match, child
        return Match.NONE, {}


def routes(
    store: LogStore,
    *,
    region: str,
    account_id: str,
    interval_s: float = 1.0,
    limit_s: float = SESSION_LIMIT_S,
) -> list[LogsRoute]:
    operations = LogsOperations(store, region=region, account_id=account_id)

    async def endpoint(request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        operation = target[len(TARGET_PREFIX) :]
        try:
            params = json_object(await request.body())
            if operation == "StartLiveTail":
                scope = operations.live_tail_scope(params)
                return _live_tail(store, scope, interval_s, limit_s)
            handler = operations.operations.get(operation)
            if handler is None:
                served = ", ".join([*operations.operations, "StartLiveTail"])
                raise AwsApiError(
                    "UnknownOperationException",
                    f"{operation} is not supported by the apicanary CloudWatch Logs emulator "
                    f"({served})",
                    400,
                )
            result = handler(params)
        except AwsApiError as exc:
            return error_response(exc)
        except Exception:
            log.exception("CloudWatch Logs %s failed", operation)
            return error_response(
                AwsApiError("ServiceUnavailableException", f"internal error in {operation}", 500)
            )
        return _json(result if result is not None else {})

    return [LogsRoute("/", endpoint, methods=["POST"], name="logs")]


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(data),
        status_code=status,
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": str(uuid.uuid4())},
    )


def error_response(error: AwsApiError) -> Response:
    return _json({"__type": error.code, "message": error.message}, error.status)


def _live_tail(store: LogStore, scope: TailScope, interval_s: float, limit_s: float) -> Response:
    session = TailSession(store, scope)
    session_id = str(uuid.uuid4())
    request_id = str(uuid.uuid4())

    async def stream() -> AsyncIterator[bytes]:
        yield eventstream.event("initial-response", {})
        start: dict[str, Any] = {
            "requestId": request_id,
            "sessionId": session_id,
            "logGroupIdentifiers": list(scope.identifiers),
            "logEventFilterPattern": scope.pattern,
        }
        if scope.stream_names:
            start["logStreamNames"] = list(scope.stream_names)
        if scope.stream_prefixes:
            start["logStreamNamePrefixes"] = list(scope.stream_prefixes)
        yield eventstream.event("sessionStart", start)
        started = time.monotonic()
        while True:
            await asyncio.sleep(interval_s)
            if store.closing:  # the server stops: end the stream (the client sees its end)
                return
            if time.monotonic() - started >= limit_s:
                yield eventstream.exception(
                    "SessionTimeoutException",
                    f"Live Tail session {session_id} timed out after {limit_s:g} seconds",
                )
                return
            update = session.next_update()
            results = [
                {
                    "logStreamName": e.stream,
                    "logGroupIdentifier": scope.identifier_of(e.group),
                    "message": e.message,
                    "timestamp": e.timestamp,
                    "ingestionTime": e.ingestion_time,
                }
                for e in update.events
            ]
            yield eventstream.event(
                "sessionUpdate",
                {"sessionMetadata": {"sampled": update.sampled}, "sessionResults": results},
            )

    return StreamingResponse(
        stream(),
        media_type="application/vnd.amazon.eventstream",
        headers={"x-amzn-RequestId": request_id},
    )
