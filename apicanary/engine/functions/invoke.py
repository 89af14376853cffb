"""The invoke path (hot): resolve a qualifier to the version that runs, run it, report it.

:class:`FunctionInvoker` reads only the immutable :class:`~.model.LambdaView` the service
installs after every committed write (:attr:`FunctionInvoker.view`), so an invocation never
touches SQLite and never sees half an update. Alias weights are drawn from the injected RNG.
Every invocation, throttles included, is reported as one :class:`~.model.LambdaInvocation` to
the listeners (metrics, telemetry, rollout analysis).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import orjson

from apicanary import arns
from apicanary.clock import Clock
from apicanary.engine.functions import rules
from apicanary.engine.functions.codestore import CodeStore
from apicanary.engine.functions.model import (
    LATEST,
    InvocationListener,
    LambdaInvocation,
    LambdaView,
    ResolvedTarget,
    VersionState,
)
from apicanary.engine.functions.runtime import ExecutionSpec, InvocationOutcome
from apicanary.errors import AwsApiError, invalid_parameter, not_found

_NAME_CACHE = 4096
SOURCE_RECHECK_S = 1.0
"""How often (at most) an unqualified call re-reads a template function's source tree."""


@dataclass(frozen=True, slots=True)
class InvokeResult:
    """The answer to Invoke, as the HTTP layer renders it."""

    status: int
    payload: bytes
    executed_version: str
    function_error: str | None
    log_tail: str
    outcome: InvocationOutcome | None


class Invoker(Protocol):
    """What the invoke path needs from the worker runtime (the Runtime, or a wrapper of it)."""

    async def invoke(
        self,
        spec: ExecutionSpec,
        payload: bytes,
        *,
        request_id: str,
        invoked_function_arn: str,
        reserved_concurrency: int | None = None,
    ) -> InvocationOutcome: ...


class FunctionInvoker:
    """Resolve and invoke over the latest installed :class:`LambdaView`."""

    def __init__(
        self,
        view: LambdaView,
        codestore: CodeStore,
        runtime: Invoker,
        clock: Clock,
        *,
        rng: random.Random,
        region: str,
        account_id: str,
        refresh_source: Callable[[str], bool],
    ) -> None:
        self.view = view
        """The state invocations read; the service replaces it after every committed write."""
        self._codes = codestore
        self._runtime = runtime
        self._clock = clock
        self._rng = rng
        self._region = region
        self._account = account_id
        self._refresh_source = refresh_source
        self._listeners: list[InvocationListener] = []
        self._spec_cache: dict[tuple[str, str, str, str], ExecutionSpec] = {}
        # parsed function references and ARNs: a gateway's integrations name a handful
        self._names: dict[str, tuple[str, str | None]] = {}
        self._arns: dict[tuple[str, str | None], str] = {}
        self._source_checked: dict[str, float] = {}

    def use_runtime(self, runtime: Invoker) -> None:
        """Run invocations through ``runtime`` from now on (rehearsal wraps it to inject
        faults)."""
        self._runtime = runtime

    def add_listener(self, listener: InvocationListener) -> None:
        """Call ``listener`` with every :class:`LambdaInvocation` (including throttles)."""
        self._listeners.append(listener)

    def resolve(self, name_or_arn: str, qualifier: str | None = None) -> ResolvedTarget:
        """Pick the version one invocation runs (alias weights drawn from the RNG)."""
        if qualifier is None and name_or_arn in self._names:
            name, qualifier = self._names[name_or_arn]
        else:
            name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
            if len(self._names) < _NAME_CACHE:
                self._names[name_or_arn] = (name, qualifier)
        state = self.view.functions.get(name)
        if state is None:
            raise not_found(f"Function not found: {self._arn(name, qualifier)}")
        if qualifier is None or qualifier == LATEST:
            if state.source_dir is not None and self._source_due(name):
                self._refresh_source(name)
                state = self.view.functions[name]
            version = state.latest
        elif qualifier in state.aliases:
            alias = state.aliases[qualifier]
            chosen = alias.function_version
            for secondary, weight in alias.weights.items():
                if self._rng.random() < weight:
                    chosen = secondary
            version = state.version_of(chosen)
        elif qualifier in state.versions:
            version = state.versions[qualifier]
        else:
            raise not_found(f"Function not found: {self._arn(name, qualifier)}")
        return ResolvedTarget(
            function_name=name,
            qualifier=qualifier,
            executed_version=version.version,
            invoked_arn=self._arn(name, qualifier),
            spec=self._spec(version),
            reserved_concurrency=state.reserved_concurrency,
        )

    async def invoke(
        self,
        name_or_arn: str,
        qualifier: str | None,
        payload: bytes,
        *,
        invocation_type: str = "RequestResponse",
        request_id: str | None = None,
    ) -> InvokeResult:
        """Invoke as the Lambda API does: 200 (even on function error), 202 Event, 204 DryRun."""
        rules.check_payload(payload)
        if payload.strip():
            try:
                orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                raise AwsApiError(
                    "InvalidRequestContentException",
                    f"Could not parse request body into json: {exc}",
                    400,
                    {"Type": "User"},
                ) from exc
        else:
            payload = b"{}"
        target = self.resolve(name_or_arn, qualifier)
        if invocation_type == "DryRun":
            return InvokeResult(204, b"", target.executed_version, None, "", None)
        if invocation_type not in ("RequestResponse", "Event"):
            raise invalid_parameter(f"Unsupported InvocationType {invocation_type}")
        rid = request_id or str(uuid.uuid4())
        if invocation_type == "Event":
            event = self.invoke_target(target, payload, rid, via_gateway=False)
            task = asyncio.ensure_future(event)
            task.add_done_callback(lambda t: t.exception())
            return InvokeResult(202, b"", target.executed_version, None, "", None)
        outcome = await self.invoke_target(target, payload, rid, via_gateway=False)
        return InvokeResult(
            200,
            outcome.payload,
            target.executed_version,
            outcome.function_error,
            outcome.log_tail,
            outcome,
        )

    async def invoke_target(
        self, target: ResolvedTarget, payload: bytes, request_id: str, *, via_gateway: bool = True
    ) -> InvocationOutcome:
        """Run an already resolved target and notify listeners (throttles too).

        The gateways (REST and HTTP API) call this directly; :meth:`invoke` (the Lambda API)
        passes ``via_gateway=False``, so the records tell the two kinds of invocation apart.
        """
        started = self._clock.now()
        try:
            outcome = await self._runtime.invoke(
                target.spec,
                payload,
                request_id=request_id,
                invoked_function_arn=target.invoked_arn,
                reserved_concurrency=target.reserved_concurrency,
            )
            outcome = rules.limit_response_size(outcome)
        except AwsApiError as error:
            if error.code == "TooManyRequestsException":
                self._notify(_throttled(target, started, request_id, via_gateway))
            raise
        self._notify(
            LambdaInvocation(
                timestamp=started,
                request_id=request_id,
                function_name=target.function_name,
                qualifier=target.qualifier,
                executed_version=target.executed_version,
                duration_ms=outcome.duration_ms,
                function_error=outcome.function_error,
                error_type=outcome.error_type,
                throttled=False,
                cold_start=outcome.cold_start,
                init_duration_ms=outcome.init_duration_ms,
                via_gateway=via_gateway,
            )
        )
        return outcome

    # -- internals --------------------------------------------------------------------------

    def _arn(self, name: str, qualifier: str | None) -> str:
        arn = self._arns.get((name, qualifier))
        if arn is None:
            arn = arns.function_arn(name, qualifier, region=self._region, account=self._account)
            if len(self._arns) < _NAME_CACHE:
                self._arns[(name, qualifier)] = arn
        return arn

    def _notify(self, invocation: LambdaInvocation) -> None:
        for listener in self._listeners:
            listener(invocation)

    def _source_due(self, name: str) -> bool:
        now = time.monotonic()
        if now - self._source_checked.get(name, 0.0) < SOURCE_RECHECK_S:
            return False
        self._source_checked[name] = now
        return True

    def _spec(self, version: VersionState) -> ExecutionSpec:
        key = (version.function_name, version.version, version.code_hex, version.revision_id)
        spec = self._spec_cache.get(key)
        if spec is None:
            snapshot = self._codes.get(version.code_hex)
            config = version.config
            spec = ExecutionSpec(
                function_name=version.function_name,
                version=version.version,
                code_dir=snapshot.path,
                handler=config.handler,
                runtime=config.runtime,
                timeout_s=float(config.timeout),
                memory_mb=config.memory_size,
                environment=dict(config.environment),
                pool_key=f"{version.function_name}:{version.version}:{version.code_hex[:16]}:"
                f"{version.revision_id}",
                region=self._region,
                account_id=self._account,
            )
            self._spec_cache[key] = spec
        return spec


def _throttled(
    target: ResolvedTarget, started: float, request_id: str, via_gateway: bool
) -> LambdaInvocation:
    """The record of an invocation the runtime refused (no version ran)."""
    return LambdaInvocation(
        timestamp=started,
        request_id=request_id,
        function_name=target.function_name,
        qualifier=target.qualifier,
        executed_version=None,
        duration_ms=0.0,
        function_error=None,
        error_type=None,
        throttled=True,
        cold_start=False,
        init_duration_ms=None,
        via_gateway=via_gateway,
    )
