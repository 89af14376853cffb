"""How the local gateway invokes a function and accounts for it, for REST and HTTP APIs alike.

:class:`Invocations` is the one mechanism both request paths (:mod:`.gateway`, REST, and
:mod:`.http_api`, HTTP APIs) use once they know what to invoke:

* a request id (a version 4 UUID, as AWS's, from a cheap generator) registered in flight
  (:mod:`.inflight`) as the request starts: its start time is the record's timestamp;
* one task for the invocation and one timer handle for the integration timeout: when the timer
  fires first, the client gets the API kind's timeout answer while the function keeps running,
  as on AWS (no ``wait_for``/``shield`` task pair);
* one :class:`RequestRecord` to the listeners (metrics, access log, the telemetry log the
  rollout reads), and only then out of flight: the evidence watermark never passes a request
  whose record is not written.

What differs by kind stays with the kind: routing and the event (before :meth:`Invocations.start`),
the parsing of the function's answer (:meth:`Call.parse`), the request id header
(:attr:`Call.id_header`), the fixed answers (:class:`FixedAnswers`: REST 500/502/504 as the
API's gateway responses make them, HTTP API 500/500/503) and the record's ``api_kind``.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import ClassVar, NamedTuple

from apicanary.clock import Clock
from apicanary.engine.functions.invoke import FunctionInvoker
from apicanary.engine.functions.model import ResolvedTarget
from apicanary.engine.functions.runtime import InvocationOutcome
from apicanary.engine.gateway.inflight import InFlight
from apicanary.engine.gateway.messages import (
    CannedAnswer,
    GatewayReply,
    GatewayRequest,
    RecordListener,
    RequestRecord,
    canned_reply,
)
from apicanary.engine.gateway.proxy_response import MalformedResponse
from apicanary.errors import AwsApiError

__all__ = [
    "VERSION_HEADER",
    "Call",
    "FixedAnswers",
    "Invocations",
    "RecordDraft",
]

#: A local-engine extension (AWS sends no such header): the Lambda version that ran, on every
#: answer where one was chosen, errors included, so clients and the demo can attribute a 5xx.
VERSION_HEADER = b"x-apicanary-executed-version"


class FixedAnswers(NamedTuple):
    """An API kind's own answers when the function's cannot be relayed."""

    rejected: CannedAnswer  # the Lambda API refused the call, or the runtime failed
    function_error: CannedAnswer  # the function failed, or its answer is malformed
    timeout: CannedAnswer  # the integration timeout ran out first


class RecordDraft:
    """Notes taken while one request is handled; becomes its :class:`RequestRecord`.

    ``started`` is ``time.perf_counter()`` at the start (for the latency); ``timestamp`` the
    engine clock's start time, as the in-flight table holds it. ``resource`` is what the
    record names the route by (REST: the resource path; HTTP API: the route key).
    """

    __slots__ = (
        "api_id", "api_name", "cold_start", "deployment_id", "executed_version",
        "function_name", "integration_ms", "is_canary", "kind", "path", "qualifier", "request",
        "request_id", "resource", "stage", "started", "timestamp",
    )  # fmt: skip

    def __init__(
        self,
        started: float,
        timestamp: float,
        request_id: str,
        request: GatewayRequest,
        api_id: str,
        api_name: str,
        stage: str,
        is_canary: bool,
        deployment_id: str,
        resource: str,
        path: str,
        kind: str,
    ) -> None:
        self.started = started
        self.timestamp = timestamp
        self.request_id = request_id
        self.request = request
        self.api_id = api_id
        self.api_name = api_name
        self.stage = stage
        self.is_canary = is_canary
        self.deployment_id = deployment_id
        self.resource = resource
        self.path = path
        self.kind = kind
        self.function_name: str | None = None
        self.qualifier: str | None = None
        self.executed_version: str | None = None
        self.integration_ms = 0.0
        self.cold_start = False

    def resolved(self, target: ResolvedTarget) -> None:
        """The alias was resolved to ``target``: the record names its function and version."""
        self.function_name = target.function_name
        self.qualifier = target.qualifier
        self.executed_version = target.executed_version


class Call:
    """One invocation the gateway is making: what to send, and what answers it.

    Each API kind subclasses it with :meth:`parse` (its response rules) and
    :attr:`id_header`; everything else is common.
    """

    __slots__ = ("answers", "draft", "invoke_started", "payload", "target", "timeout_s", "timer")

    #: the header that carries the request id on the function's relayed answer
    id_header: ClassVar[bytes]

    def __init__(
        self,
        draft: RecordDraft,
        target: ResolvedTarget,
        payload: bytes,
        timeout_s: float,
        answers: FixedAnswers,
    ) -> None:
        self.draft = draft
        self.target = target
        self.payload = payload
        self.timeout_s = timeout_s
        self.answers = answers
        self.invoke_started = draft.started
        self.timer: asyncio.TimerHandle | None = None

    def parse(self, payload: bytes) -> GatewayReply | MalformedResponse:
        """The client's reply for the function's ``payload``, by this kind's rules."""
        raise NotImplementedError

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class Invocations:
    """Request ids, the in-flight table, invocations with their timeout, and the records."""

    def __init__(self, functions: FunctionInvoker, clock: Clock) -> None:
        self._functions = functions
        self.inflight = InFlight(clock)  # read by the rollout's evidence watermark
        self.listeners: list[RecordListener] = []
        # seeded from the OS, never from the injected RNG: a --seed makes canary draws
        # repeatable, but request ids must stay unique across runs
        self._ids = random.Random(os.urandom(16))
        self._running: set[asyncio.Task[None]] = set()

    def new_id(self) -> str:
        """A random (version 4) UUID, as AWS's request ids are; a third of ``uuid4``'s cost."""
        h = "%032x" % (self._ids.getrandbits(128) & _V4_MASK | _V4_BITS)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def begin(self) -> tuple[str, float]:
        """A new request: its id, registered in flight, and its start time (engine clock).

        It stays in flight until :meth:`record` wrote its record, or :meth:`abandon`."""
        request_id = self.new_id()
        return request_id, self.inflight.begin(request_id)

    def abandon(self, request_id: str) -> None:
        """The request is answered without a record (no API or stage for it)."""
        self.inflight.end(request_id)

    def start(
        self, loop: asyncio.AbstractEventLoop, call: Call, answer: asyncio.Future[GatewayReply]
    ) -> None:
        """Invoke; ``answer`` gets the reply (never an exception): the function's, or the
        kind's fixed answer for a refusal, a failure or the integration timeout."""
        call.timer = loop.call_later(call.timeout_s, self._expire, call, answer)
        task = loop.create_task(self._invoke(call, answer))
        self._running.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._running.discard)

    def finish(
        self, draft: RecordDraft, answer: CannedAnswer, error_type: str | None
    ) -> GatewayReply:
        """Reply with a fixed ``answer`` (the executed version, if one was chosen) and record it."""
        version = draft.executed_version
        extra = () if version is None else ((VERSION_HEADER, version.encode()),)
        reply = canned_reply(answer, draft.request_id, extra)
        self.record(draft, reply.status, error_type)
        return reply

    def record(self, draft: RecordDraft, status: int, error_type: str | None) -> None:
        """Hand the request's record to the listeners, then take it out of flight."""
        listeners = self.listeners
        if listeners:
            record = RequestRecord(
                timestamp=draft.timestamp,
                request_id=draft.request_id,
                api_id=draft.api_id,
                api_name=draft.api_name,
                stage=draft.stage,
                is_canary=draft.is_canary,
                deployment_id=draft.deployment_id,
                resource_path=draft.resource,
                method=draft.request.method,
                function_name=draft.function_name,
                qualifier=draft.qualifier,
                executed_version=draft.executed_version,
                status=status,
                latency_ms=(time.perf_counter() - draft.started) * 1000,
                integration_latency_ms=draft.integration_ms,
                cold_start=draft.cold_start,
                error_type=error_type,
                path=draft.path,
                query_string=draft.request.query_string,
                source_ip=draft.request.source_ip,
                api_kind=draft.kind,
            )
            for listener in listeners:
                listener(record)
        self.inflight.end(draft.request_id)  # after the telemetry log has the record

    # -- internals ----------------------------------------------------------------------------

    async def _invoke(self, call: Call, answer: asyncio.Future[GatewayReply]) -> None:
        draft = call.draft
        call.invoke_started = time.perf_counter()
        try:
            outcome = await self._functions.invoke_target(
                call.target, call.payload, draft.request_id
            )
        except AwsApiError as error:
            if answer.done():
                return  # the integration timed out first; that was the answer
            call.cancel_timer()
            draft.integration_ms = (time.perf_counter() - call.invoke_started) * 1000
            kind = "Throttled" if error.code == "TooManyRequestsException" else error.code
            answer.set_result(self.finish(draft, call.answers.rejected, kind))
            return
        except Exception:  # the runtime failed: never let one request take the gateway down
            if not answer.done():
                call.cancel_timer()
                answer.set_result(self.finish(draft, call.answers.rejected, "RuntimeFailure"))
            return
        if answer.done():
            return  # timed out (or the caller gave up): the function ran on regardless
        call.cancel_timer()
        try:
            reply = self._reply(call, outcome)
        except Exception:  # a bug in parsing must not leave the client without an answer
            reply = self.finish(draft, call.answers.function_error, "MalformedProxyResponse")
        answer.set_result(reply)

    def _reply(self, call: Call, outcome: InvocationOutcome) -> GatewayReply:
        draft = call.draft
        draft.integration_ms = (time.perf_counter() - call.invoke_started) * 1000
        draft.cold_start = outcome.cold_start
        if outcome.function_error is not None:
            return self.finish(draft, call.answers.function_error, outcome.error_type)
        parsed = call.parse(outcome.payload)
        if isinstance(parsed, MalformedResponse):
            # REST answers a base64 body that does not decode with a 500, not a 502
            answer = call.answers.rejected if parsed.status == 500 else call.answers.function_error
            return self.finish(draft, answer, "MalformedProxyResponse")
        headers = (
            *parsed.headers,
            (call.id_header, draft.request_id.encode()),
            (VERSION_HEADER, call.target.executed_version.encode()),
        )
        reply = GatewayReply(parsed.status, headers, parsed.body)
        self.record(draft, reply.status, None)
        return reply

    def _expire(self, call: Call, answer: asyncio.Future[GatewayReply]) -> None:
        """The integration timeout fired: the gateway gives up, the function keeps running."""
        call.timer = None
        if answer.done():
            return
        draft = call.draft
        draft.integration_ms = (time.perf_counter() - call.invoke_started) * 1000
        answer.set_result(self.finish(draft, call.answers.timeout, "IntegrationTimeout"))


_V4_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)
_V4_BITS = (0x4000 << 64) | (0x8000 << 48)
