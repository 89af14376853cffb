"""Faults a rehearsal injects into the canary version: parsing and the injecting runtime.

``--fault KIND=VALUE[@ROUTE]``:

* ``error-rate=0.2``: that fraction of canary invocations fail (errorType
  ``Rehearsal.InjectedError``), as an unhandled exception would;
* ``latency=300ms``: canary invocations take that much longer (``s`` and ``ms``);
* ``timeout=0.1``: that fraction time out (``Sandbox.Timedout``, as Lambda reports it);
* ``crash=0.05``: that fraction crash the runtime (``Runtime.ExitError``);
* ``@ROUTE`` limits a fault to one route: ``@GET /orders/{id}`` or ``@/orders/{id}``; on an
  HTTP API the route key's path (``@GET /items/{id}``, ``@/{proxy+}``) or ``@$default``.

The real handler always runs first; a fault then overlays its result, so a rehearsal also
exercises the project's own code. Injected latency is added to the reported duration (the
rehearsal's clock is virtual), which is what the latency test reads.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import orjson

from apicanary.engine.functions.invoke import Invoker
from apicanary.engine.functions.runtime import ExecutionSpec, InvocationOutcome
from apicanary.errors import BadInputError

KINDS = ("error-rate", "latency", "timeout", "crash")
_DURATION = re.compile(r"^\+?(\d+(?:\.\d+)?)(ms|s)$")


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    value: float  # a fraction (error-rate, timeout, crash) or milliseconds (latency)
    method: str | None = None
    resource: str | None = None

    def applies_to(self, method: str | None, resource: str | None) -> bool:
        if self.resource is not None and resource != self.resource:
            return False
        return self.method is None or self.method == method

    def describe(self) -> str:
        value = f"{self.value:g} ms" if self.kind == "latency" else f"{self.value:.0%}"
        where = ""
        if self.resource:
            where = f" on {self.method + ' ' if self.method else ''}{self.resource}"
        return f"{self.kind} {value}{where}"


def parse_fault(text: str) -> Fault:
    """``KIND=VALUE[@ROUTE]`` → :class:`Fault`; a bad spec names the part and what is allowed."""
    spec, _, route = text.partition("@")
    kind, sep, raw = spec.partition("=")
    kind = kind.strip()
    if not sep or kind not in KINDS:
        raise BadInputError(
            f"--fault {text!r}: expected KIND=VALUE[@ROUTE] with KIND one of {', '.join(KINDS)}"
        )
    raw = raw.strip()
    if kind == "latency":
        match = _DURATION.match(raw)
        if not match:
            raise BadInputError(f"--fault {text!r}: latency must look like 300ms or 1.5s")
        value = float(match.group(1)) * (1000.0 if match.group(2) == "s" else 1.0)
    else:
        try:
            value = float(raw)
        except ValueError:
            raise BadInputError(f"--fault {text!r}: {kind} must be a fraction 0..1") from None
        if not 0.0 <= value <= 1.0:
            raise BadInputError(f"--fault {text!r}: {kind} {value} is out of range: must be 0..1")
    method, resource = None, None
    route = route.strip()
    if route:
        first, _, rest = route.partition(" ")
        if rest:
            method, resource = first.upper(), rest.strip()
        else:
            resource = first
        if not resource.startswith("/") and resource != "$default":
            raise BadInputError(
                f"--fault {text!r}: the route must be a path such as /orders/{{id}} "
                "(or an HTTP API's $default)"
            )
    return Fault(kind, value, method, resource)


class FaultInjectingRuntime:
    """Wraps the worker runtime; overlays faults on invocations of one canary version."""

    def __init__(
        self,
        inner: Invoker,
        faults: Sequence[Fault],
        *,
        function: str,
        version: str,
        rng: random.Random,
    ) -> None:
        self.inner = inner
        self.faults = tuple(faults)
        self.function = function
        self.version = version
        self.rng = rng
        self.injected = 0

    async def invoke(
        self,
        spec: ExecutionSpec,
        payload: bytes,
        *,
        request_id: str,
        invoked_function_arn: str,
        reserved_concurrency: int | None = None,
    ) -> InvocationOutcome:
        outcome = await self.inner.invoke(
            spec,
            payload,
            request_id=request_id,
            invoked_function_arn=invoked_function_arn,
            reserved_concurrency=reserved_concurrency,
        )
        if spec.function_name != self.function or spec.version != self.version:
            return outcome
        method, resource = _route_of(payload)
        for fault in self.faults:
            if not fault.applies_to(method, resource):
                continue
            if fault.kind == "latency":
                self.injected += 1
                outcome = replace(outcome, duration_ms=outcome.duration_ms + fault.value)
                continue
            if self.rng.random() >= fault.value:
                continue
            self.injected += 1
            return _failed(outcome, fault.kind, request_id, spec.timeout_s)
        return outcome


def _route_of(payload: bytes) -> tuple[str | None, str | None]:
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(event, dict):
        return None, None
    route_key = event.get("routeKey")
    if event.get("version") == "2.0" and isinstance(route_key, str):
        # payload 2.0 (HTTP APIs): "GET /items/{id}", "ANY /{proxy+}" or "$default"
        http = (event.get("requestContext") or {}).get("http") or {}
        _, _, path = route_key.partition(" ")
        return http.get("method"), path or route_key
    return event.get("httpMethod"), event.get("resource")


def _failed(
    outcome: InvocationOutcome, kind: str, request_id: str, timeout_s: float
) -> InvocationOutcome:
    if kind == "timeout":
        error_type = "Sandbox.Timedout"
        message = f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
        duration = timeout_s * 1000.0
    elif kind == "crash":
        error_type = "Runtime.ExitError"
        message = f"RequestId: {request_id} Error: Runtime exited with error: exit status 1"
        duration = outcome.duration_ms
    else:
        error_type = "Rehearsal.InjectedError"
        message = "fault injected by apicanary rehearse"
        duration = outcome.duration_ms
    body = orjson.dumps({"errorMessage": message, "errorType": error_type})
    return replace(
        outcome,
        payload=body,
        function_error="Unhandled",
        error_type=error_type,
        duration_ms=duration,
    )
