"""The runtime: execution environments per version, scaled out as Lambda does, and reaped.

``Runtime.invoke`` admits the request against the function's reserved concurrency and the
account's limit (throttling like Lambda), then against the machine's CPU
(:mod:`.scheduler`: an invocation of a version measured to compute waits while the running
ones already want ``cpu_admission`` CPUs per core; one that waits on I/O never does), takes
an idle environment of the version (the most recently used) or starts a new one (a cold
start, reported as ``Init Duration``), runs the request on it and puts the environment back
if it survived.

Environments are bounded by ``limit`` (:class:`.policy.Capacity`: a count and a budget for the
sum of their MemorySize); one that does not fit first stops the least recently used idle
environments of any version, and if that is not enough the invocation is throttled
(``ConcurrentInvocationLimitExceeded``). Idle environments are stopped after ``idle_ttl_s``.

``max_workers_per_pool`` restores the previous fixed policy (at most that many workers per
version, invocations beyond it queue, no CPU admission); ``None``, the default, scales out.
``cpu_admission`` is the CPU demand admitted per core (``None``: no CPU admission, a process
per concurrent invocation whatever it does; compared in ``bench/concurrency.py``).

A Runtime is bound to the event loop that first uses it (its workers' pipes are registered
there). ``invoke_sync``/``close_sync`` run it on a private loop, for tests and the CLI; do not
mix the two styles on one Runtime. (Over 400 lines: the pool's lifecycle reads as one piece;
the decisions are in :mod:`.policy` and :mod:`.scheduler`.)
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apicanary.engine.functions.runtime.cpuprobe import CpuProbe, CpuReading
from apicanary.engine.functions.runtime.environment import log_stream_name
from apicanary.engine.functions.runtime.host import physical_memory_mb, usable_cores
from apicanary.engine.functions.runtime.logsink import LogTap, LogWriter, TeeLog, VersionLog
from apicanary.engine.functions.runtime.memwatch import MemoryWatch
from apicanary.engine.functions.runtime.policy import (
    AWS_ACCOUNT_CONCURRENCY,
    DEFAULT_ADMISSION,
    Capacity,
    ShareEstimate,
    awake_s,
    default_limit,
    fits,
)
from apicanary.engine.functions.runtime.scheduler import CpuScheduler, Slot
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
        self.estimate = ShareEstimate()


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
        max_idle_per_pool: int | None = None,
        idle_ttl_s: float = 300,
        account_concurrency: int = AWS_ACCOUNT_CONCURRENCY,
        init_limit_s: float = INIT_LIMIT_S,
        max_workers_per_pool: int | None = None,
        limit: Capacity | None = None,
        cores: int | None = None,
        cpu_admission: float | None = DEFAULT_ADMISSION,
    ) -> None:
        if max_workers_per_pool is not None and max_workers_per_pool < 1:
            raise ValueError(f"max_workers_per_pool {max_workers_per_pool} must be >= 1")
        if idle_ttl_s <= 0:
            raise ValueError(f"idle_ttl_s {idle_ttl_s} must be > 0")
        self._max_workers = max_workers_per_pool
        self._log_dir = Path(log_dir)
        self._max_idle = max_idle_per_pool
        self._idle_ttl_s = idle_ttl_s
        self._account_concurrency = account_concurrency
        self._limit = limit or default_limit(physical_memory_mb())
        self._live = Capacity(0, 0)
        self._probes: dict[Worker, CpuProbe] = {}
        own = CpuProbe.open(os.getpid())
        self._measurable = own is not None
        if own is not None:
            own.close()
        self._cpu = CpuScheduler(
            (cores or usable_cores()) * (cpu_admission or 1.0),
            enabled=cpu_admission is not None and self._measurable and max_workers_per_pool is None,
        )
        self._evicted = 0
        self._init_limit_s = init_limit_s
        self._pools: dict[str, _Pool] = {}
        self._retiring: set[Worker] = set()
        self._logs: dict[tuple[str, str], VersionLog] = {}
        self._memwatch = MemoryWatch()
        self._in_flight: dict[str, int] = {}
        self._total_in_flight = 0
        self._peaks: dict[str, int] = {}
        self._peak_total = 0
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
        if in_flight + 1 > self._peaks.get(function, 0):
            self._peaks[function] = in_flight + 1
        if self._total_in_flight > self._peak_total:
            self._peak_total = self._total_in_flight
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
        if self._max_workers is not None:
            if pool.slots is None:
                pool.slots = asyncio.Semaphore(self._max_workers)
            async with pool.slots:
                return await self._attempt(pool, payload, request_id, arn, None)
        slot = await self._cpu.admit(pool)
        try:
            return await self._attempt(pool, payload, request_id, arn, slot)
        finally:
            self._cpu.release(slot)

    async def _attempt(
        self, pool: _Pool, payload: bytes, request_id: str, arn: str, slot: Slot | None
    ) -> InvocationOutcome:
        spec = pool.spec
        for _ in range(_ATTEMPTS):
            worker = self._take_idle(pool)
            init_ms: float | None = None
            if worker is None:
                worker, failure = await self._cold_start(pool, request_id, slot)
                init_ms = (time.perf_counter() - worker.spawned_at) * 1000.0
                if failure is not None:
                    return self._init_failed(pool, worker, failure, request_id, init_ms)
            probe = self._probes.get(worker)
            if slot is not None:
                slot.attach(worker, probe)
            try:
                outcome = await worker.invoke(payload, request_id, arn, init_ms)
            except WorkerUnavailable:
                self._discard(pool, worker, replaced=True)
                continue
            except asyncio.CancelledError:
                self._discard(pool, worker, replaced=False)  # killed by the cancellation
                raise
            if probe is not None and worker.alive:
                # the worker's own handler time, not the round trip: under load the engine
                # may read the reply late, which would make any handler look idle
                self._measure(pool, probe, outcome.duration_ms / 1000.0, worker.reported_cpu)
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

    @staticmethod
    def _measure(pool: _Pool, probe: CpuProbe, wall_s: float, reported: CpuReading | None) -> None:
        """Teach the version's share estimate what this invocation wanted of a CPU (from the
        counters the worker sent with its reply, else read from /proc here)."""
        current = reported if reported is not None else probe.read()
        if current is not None:
            on_cpu_s, queued_s = current.since(probe.last)
            pool.estimate = pool.estimate.add(on_cpu_s, awake_s(on_cpu_s, queued_s, wall_s))
            probe.last = current

    async def _cold_start(
        self, pool: _Pool, request_id: str, slot: Slot | None
    ) -> tuple[Worker, InitFailure | None]:
        if self._closed:
            raise PlatformError("the runtime is closed")
        spec = pool.spec
        self._make_room(spec.memory_mb)
        stream = log_stream_name(spec.version)
        version_log = self._version_log(spec.function_name, spec.version)
        sink: LogWriter = version_log
        if self._log_tap is not None:
            sink = TeeLog(version_log, self._log_tap(spec.function_name, spec.version, stream))
        worker = Worker(spec, sink, self._memwatch, stream)
        pool.workers.add(worker)
        self._live = Capacity(
            self._live.environments + 1, (self._live.memory_mb or 0) + spec.memory_mb
        )
        pool.cold_starts += 1
        probe = CpuProbe.open(worker.pid) if self._measurable else None
        if probe is not None:
            self._probes[worker] = probe
        if slot is not None:
            slot.attach(worker, probe)  # init wants CPU too: the scheduler sees it while it runs
        try:
            failure = await worker.wait_ready(request_id, self._init_limit_s + spec.timeout_s)
        except asyncio.CancelledError:
            self._discard(pool, worker, replaced=False)
            raise
        if probe is not None:
            probe.last = probe.read() or probe.last  # the handler's estimate leaves init out
        return worker, failure

    def _make_room(self, memory_mb: int) -> None:
        """Stop least recently used idle environments until one of ``memory_mb`` fits;
        throttle when even stopping every idle one would not make room."""
        if fits(self._live, self._limit, memory_mb):
            return
        idle = sorted(
            ((w.last_used, id(w), w, p) for p in self._pools.values() for w in p.idle),
            key=lambda entry: (entry[0], entry[1]),
        )
        for _, _, worker, pool in idle:
            pool.idle.remove(worker)
            self._retire(pool, worker)
            self._evicted += 1
            if fits(self._live, self._limit, memory_mb):
                return
        self._throttles += 1
        raise _throttle("ConcurrentInvocationLimitExceeded")

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
        if self._max_idle is not None:
            while len(pool.idle) > self._max_idle:
                self._retire(pool, pool.idle.pop(0))
        self._schedule_reaper()

    def _discard(self, pool: _Pool, worker: Worker, *, replaced: bool) -> None:
        if worker in pool.workers:
            pool.workers.discard(worker)
            self._live = Capacity(
                self._live.environments - 1, (self._live.memory_mb or 0) - pool.spec.memory_mb
            )
            if replaced:
                pool.replaced += 1
        probe = self._probes.pop(worker, None)
        if probe is not None:
            probe.close()
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

    def take_concurrency_peaks(self) -> tuple[int, dict[str, int]]:
        """The most invocations in flight at once since the previous call, in all and per
        function (CloudWatch's ``ConcurrentExecutions``); the next period starts from the
        invocations in flight now."""
        total, peaks = self._peak_total, self._peaks
        self._peak_total, self._peaks = self._total_in_flight, dict(self._in_flight)
        return total, peaks

    def stats(self) -> dict[str, Any]:
        """Workers per pool (alive, idle, busy, measured CPU share), cold starts, replaced
        workers, throttles, environments and their MemorySize against the limit, the CPU
        admission's state (demand, waiting now, waits so far)."""
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
                "cpu_share": pool.estimate.share,
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
            "environments": self._live.environments,
            "environments_memory_mb": self._live.memory_mb,
            "max_environments": self._limit.environments,
            "memory_budget_mb": self._limit.memory_mb,
            "evicted": self._evicted,
            "cpu": {
                "budget": self._cpu.cores,
                "admission": self._cpu.enabled,
                "demand": round(self._cpu.demand, 3),
                "waiting": self._cpu.waiting,
                "waits": self._cpu.waits,
            },
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
        self._cpu.close()
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        workers = set(self._retiring)
        for pool in self._pools.values():
            workers.update(pool.workers)
            pool.workers.clear()
            pool.idle.clear()
        self._live = Capacity(0, 0)
        for probe in self._probes.values():
            probe.close()
        self._probes.clear()
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
        bound = self._loop
        if bound is not None and bound.is_running() and not bound.is_closed():
            # the usual case, checked without get_running_loop (a getpid system call per
            # invocation on Python 3.11); a call from another thread's loop while the bound
            # one runs is not detected here
            return
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
