"""The runtime: warm pools of workers per version, concurrency limits, and their lifecycle.

``Runtime.invoke`` admits the request against the function's reserved concurrency and the
account's limit (throttling like Lambda), takes an idle worker of the version's pool or
spawns one (a cold start), runs the request on it, and puts the worker back if it survived.
Idle workers beyond ``max_idle_per_pool`` or idle for longer than ``idle_ttl_s`` are stopped.

``max_workers_per_pool`` caps the worker processes of one version; invocations beyond it wait
for a free worker (they still count as in flight for throttling). ``None`` scales out without
limit, as Lambda does. The local engine sets a cap near the core count: on a laptop, one
process per concurrent request makes every request slower (measured: 16 concurrent clients
on 2 cores got fewer answers per second than 4).

A Runtime is bound to the event loop that first uses it (its workers' pipes are registered
there). ``invoke_sync``/``close_sync`` run it on a private loop, for tests and the CLI; do not
mix the two styles on one Runtime.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apicanary.engine.functions.runtime.environment import log_stream_name
from apicanary.engine.functions.runtime.logsink import LogTap, LogWriter, TeeLog, VersionLog
from apicanary.engine.functions.runtime.memwatch import MemoryWatch
from apicanary.engine.functions.runtime.spec import ExecutionSpec, InvocationOutcome
from apicanary.engine.functions.runtime.worker import InitFailure, Worker, WorkerUnavailable
from apicanary.errors import AwsApiError, PlatformError

INIT_LIMIT_S = 10.0
"""Lambda's init phase limit. Past it, AWS re-runs init inside the invoke under the function
timeout, so a cold start may take up to ``INIT_LIMIT_S + timeout`` before it is timed out."""
_ATTEMPTS = 3  # a worker found dead before it got the request is replaced transparently


class _Pool:
    """The workers of one execution environment identity (``pool_key``)."""

    def __init__(self, spec: ExecutionSpec) -> None:
        self.spec = spec
        self.idle: list[Worker] = []  # a stack: the most recently used worker is reused first
        self.workers: set[Worker] = set()
        self.cold_starts = 0
        self.replaced = 0
        self.invocations = 0
        self.slots: asyncio.Semaphore | None = None


def _throttle(reason: str) -> AwsApiError:
    return AwsApiError(
        "TooManyRequestsException", "Rate Exceeded.", 429, {"Reason": reason, "Type": "User"}
    )


class Runtime:
    """Runs invocations in per-version worker processes; see the module docstring."""

    def __init__(
        self,
        log_dir: Path,
        *,
        max_idle_per_pool: int = 4,
        idle_ttl_s: float = 300,
        account_concurrency: int = 1000,
        init_limit_s: float = INIT_LIMIT_S,
        max_workers_per_pool: int | None = None,
    ) -> None:
        if max_workers_per_pool is not None and max_workers_per_pool < 1:
            raise ValueError(f"max_workers_per_pool {max_workers_per_pool} must be >= 1")
        self._max_workers = max_workers_per_pool
        self._log_dir = Path(log_dir)
        self._max_idle = max_idle_per_pool
        self._idle_ttl_s = idle_ttl_s
        self._account_concurrency = account_concurrency
        self._init_limit_s = init_limit_s
        self._pools: dict[str, _Pool] = {}
        self._retiring: set[Worker] = set()
        self._logs: dict[tuple[str, str], VersionLog] = {}
        self._memwatch = MemoryWatch()
        self._in_flight: dict[str, int] = {}
        self._total_in_flight = 0
        self._throttles = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._private_loop: asyncio.AbstractEventLoop | None = None
        self._reaper: asyncio.TimerHandle | None = None
        self._closed = False
        self._log_tap: Callable[[str, str, str], LogTap] | None = None

    def set_log_tap(self, tap: Callable[[str, str, str], LogTap] | None) -> None:
        """``tap(function, version, stream name)`` gives each new worker a second log writer
        (the engine's CloudWatch Logs feed); workers started before keep theirs."""
        self._log_tap = tap

    # --- invoking --------------------------------------------------------------------------

    async def invoke(
        self,
        spec: ExecutionSpec,
        payload: bytes,
        *,
        request_id: str,
        invoked_function_arn: str,
        reserved_concurrency: int | None = None,
    ) -> InvocationOutcome:
        """Run ``payload`` (a JSON document) on a worker of ``spec``'s pool.

        Raises ``AwsApiError`` ``TooManyRequestsException`` (429) when the function's
        in-flight count (all versions) would exceed ``reserved_concurrency`` (Reason
        ``ReservedFunctionConcurrentInvocationLimitExceeded``) or the account's would exceed
        ``account_concurrency`` (``ConcurrentInvocationLimitExceeded``). Function failures
        are not raised: they are outcomes with ``function_error="Unhandled"``.
        """
        self._bind_loop()
        function = spec.function_name
        in_flight = self._in_flight.get(function, 0)
        if reserved_concurrency is not None and in_flight >= reserved_concurrency:
            self._throttles += 1
            raise _throttle("ReservedFunctionConcurrentInvocationLimitExceeded")
        if self._total_in_flight >= self._account_concurrency:
            self._throttles += 1
            raise _throttle("ConcurrentInvocationLimitExceeded")
        self._in_flight[function] = in_flight + 1
        self._total_in_flight += 1
        try:
            return await self._run(spec, payload, request_id, invoked_function_arn)
        finally:
            self._total_in_flight -= 1
            remaining = self._in_flight[function] - 1
            if remaining:
                self._in_flight[function] = remaining
            else:
                del self._in_flight[function]

    async def _run(
        self, spec: ExecutionSpec, payload: bytes, request_id: str, arn: str
    ) -> InvocationOutcome:
        pool = self._pools.get(spec.pool_key)
        if pool is None:
            pool = self._pools[spec.pool_key] = _Pool(spec)
        pool.invocations += 1
        if self._max_workers is None:
            return await self._attempt(pool, payload, request_id, arn)
        if pool.slots is None:
            pool.slots = asyncio.Semaphore(self._max_workers)
        async with pool.slots:
            return await self._attempt(pool, payload, request_id, arn)

    async def _attempt(
        self, pool: _Pool, payload: bytes, request_id: str, arn: str
    ) -> InvocationOutcome:
        spec = pool.spec
        for _ in range(_ATTEMPTS):
            worker = self._take_idle(pool)
            init_ms: float | None = None
            if worker is None:
                worker, failure = await self._cold_start(pool, request_id)
                init_ms = (time.perf_counter() - worker.spawned_at) * 1000.0
                if failure is not None:
                    return self._init_failed(pool, worker, failure, request_id, init_ms)
            try:
                outcome = await worker.invoke(payload, request_id, arn, init_ms)
            except WorkerUnavailable:
                self._discard(pool, worker, replaced=True)
                continue
            self._release(pool, worker)
            return outcome
        raise PlatformError(f"no worker of {spec.pool_key} survived {_ATTEMPTS} attempts")

    def _take_idle(self, pool: _Pool) -> Worker | None:
        while pool.idle:
            worker = pool.idle.pop()
            if worker.alive:
                return worker
            self._discard(pool, worker, replaced=True)
        return None

    async def _cold_start(self, pool: _Pool, request_id: str) -> tuple[Worker, InitFailure | None]:
        if self._closed:
            raise PlatformError("the runtime is closed")
        spec = pool.spec
        stream = log_stream_name(spec.version)
        version_log = self._version_log(spec.function_name, spec.version)
        sink: LogWriter = version_log
        if self._log_tap is not None:
            sink = TeeLog(version_log, self._log_tap(spec.function_name, spec.version, stream))
        worker = Worker(spec, sink, self._memwatch, stream)
        pool.workers.add(worker)
        pool.cold_starts += 1
        failure = await worker.wait_ready(request_id, self._init_limit_s + spec.timeout_s)
        return worker, failure

    def _init_failed(
        self, pool: _Pool, worker: Worker, failure: InitFailure, request_id: str, init_ms: float
    ) -> InvocationOutcome:
        """As on AWS, the invocation that hit a failed init reports the init error."""
        self._discard(pool, worker, replaced=True)
        spec = pool.spec
        worker.log.start(request_id, spec.version)
        tail = worker.log.finish(
            f"END RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {init_ms:.2f} ms\t"
            f"Billed Duration: {max(1, int(init_ms + 0.999))} ms\t"
            f"Memory Size: {spec.memory_mb} MB\tMax Memory Used: 0 MB\t"
            f"Status: error\tError Type: {failure.error_type}\t\n"
        )
        return InvocationOutcome(
            payload=failure.payload,
            function_error="Unhandled",
            error_type=failure.error_type,
            duration_ms=0.0,
            init_duration_ms=init_ms,
            cold_start=True,
            request_id=request_id,
            log_tail=tail,
        )

    def _release(self, pool: _Pool, worker: Worker) -> None:
        if not worker.alive or self._closed:
            self._discard(pool, worker, replaced=not self._closed)
            return
        pool.idle.append(worker)
        while len(pool.idle) > self._max_idle:
            self._retire(pool, pool.idle.pop(0))
        self._schedule_reaper()

    def _discard(self, pool: _Pool, worker: Worker, *, replaced: bool) -> None:
        if worker in pool.workers:
            pool.workers.discard(worker)
            if replaced:
                pool.replaced += 1
        if worker.returncode is None:
            self._retiring.add(worker)
            worker.kill()
            asyncio.ensure_future(worker.wait_exit()).add_done_callback(
                lambda _: self._retiring.discard(worker)
            )

    def _retire(self, pool: _Pool, worker: Worker) -> None:
        """Stop a healthy idle worker (pool trimming, idle TTL)."""
        self._discard(pool, worker, replaced=False)

    # --- idle reaping ----------------------------------------------------------------------

    def _schedule_reaper(self) -> None:
        if self._reaper is None and self._loop is not None and not self._closed:
            interval = max(0.05, min(self._idle_ttl_s / 4, 30.0))
            self._reaper = self._loop.call_later(interval, self._reap_idle)

    def _reap_idle(self) -> None:
        self._reaper = None
        cutoff = time.monotonic() - self._idle_ttl_s
        for pool in self._pools.values():
            for worker in [w for w in pool.idle if not w.alive or w.last_used <= cutoff]:
                pool.idle.remove(worker)
                self._discard(pool, worker, replaced=not worker.alive)
        if any(pool.idle for pool in self._pools.values()):
            self._schedule_reaper()

    # --- introspection, logs, shutdown -----------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Workers per pool (alive, idle, busy), cold starts, replaced workers, throttles."""
        pools: dict[str, Any] = {}
        for key, pool in self._pools.items():
            alive = [w for w in pool.workers if w.alive]
            pools[key] = {
                "function": pool.spec.function_name,
                "version": pool.spec.version,
                "workers": len(alive),
                "idle": sum(1 for w in pool.idle if w.alive),
                "busy": sum(1 for w in alive if w.busy),
                "cold_starts": pool.cold_starts,
                "replaced": pool.replaced,
                "invocations": pool.invocations,
            }
        return {
            "pools": pools,
            "workers": sum(p["workers"] for p in pools.values()),
            "busy": sum(p["busy"] for p in pools.values()),
            "cold_starts": sum(p["cold_starts"] for p in pools.values()),
            "replaced": sum(p["replaced"] for p in pools.values()),
            "in_flight": self._total_in_flight,
            "in_flight_by_function": dict(self._in_flight),
            "throttles": self._throttles,
        }

    def log_path(self, function_name: str, version: str) -> Path:
        """The log file of one version, ``<log_dir>/<function>/<version>.log``, with every
        line logged so far flushed to it."""
        log = self._logs.get((function_name, version))
        if log is not None:
            log.flush()
        return self._log_dir / function_name / f"{version}.log"

    def _version_log(self, function_name: str, version: str) -> VersionLog:
        key = (function_name, version)
        log = self._logs.get(key)
        if log is None:
            path = self._log_dir / function_name / f"{version}.log"
            log = self._logs[key] = VersionLog(path)
        return log

    async def close(self) -> None:
        """Stop every worker and wait until each is reaped; later invokes fail."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        workers = set(self._retiring)
        for pool in self._pools.values():
            workers.update(pool.workers)
            pool.workers.clear()
            pool.idle.clear()
        for worker in workers:
            worker.kill()
        if workers:
            await asyncio.wait([asyncio.ensure_future(w.wait_exit()) for w in workers], timeout=2.0)
        for worker in workers:
            worker.reap_blocking(timeout_s=2.0)
        for log in self._logs.values():
            log.close()
        self._memwatch.stop()

    # --- event loop binding ----------------------------------------------------------------

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise PlatformError("this Runtime is bound to another event loop")

    def invoke_sync(
        self,
        spec: ExecutionSpec,
        payload: bytes,
        *,
        request_id: str,
        invoked_function_arn: str,
        reserved_concurrency: int | None = None,
    ) -> InvocationOutcome:
        """``invoke`` on the Runtime's private event loop, for callers without one."""
        coro = self.invoke(
            spec,
            payload,
            request_id=request_id,
            invoked_function_arn=invoked_function_arn,
            reserved_concurrency=reserved_concurrency,
        )
        return self._sync_loop().run_until_complete(coro)

    def close_sync(self) -> None:
        """``close`` on the private loop (then closes that loop)."""
        loop = self._sync_loop()
        loop.run_until_complete(self.close())
        loop.close()

    def _sync_loop(self) -> asyncio.AbstractEventLoop:
        if self._private_loop is None or self._private_loop.is_closed():
            self._private_loop = asyncio.new_event_loop()
        return self._private_loop
