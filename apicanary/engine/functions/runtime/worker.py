"""One worker process (one execution environment), driven from the event loop.

Everything here runs on the engine's asyncio loop and never blocks it: the protocol and log
pipes are non-blocking and watched with ``loop.add_reader``; the process is reaped with
``Popen.poll`` once its response pipe reaches EOF (no child watcher, no thread). Spawning is
one ``fork/exec`` (about a millisecond); the interpreter starts in the new process while the
loop goes on, and :meth:`Worker.wait_ready` awaits its ``ready`` frame.

A worker serves one invocation at a time. It dies on timeout, crash, memory overrun,
cancellation of the invocation, or :meth:`Worker.kill`; the pool never reuses a dead one.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import math
import os
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from apicanary.engine.functions.runtime import faults
from apicanary.engine.functions.runtime.cpuprobe import CpuReading
from apicanary.engine.functions.runtime.environment import log_stream_name, worker_environment
from apicanary.engine.functions.runtime.logsink import LogWriter, WorkerLog
from apicanary.engine.functions.runtime.memwatch import MemoryWatch
from apicanary.engine.functions.runtime.spec import ExecutionSpec, InvocationOutcome
from apicanary.engine.functions.runtime.wire import FrameReader, Message, frame

BOOTSTRAP_MODULE = "apicanary.engine.functions.runtime.bootstrap"
_READ_CHUNK = 256 * 1024
_REAP_POLL_S = (0.0005, 0.002, 0.01, 0.05)
_REAP_GRACE_S = 2.0  # after EOF, a process still running this long is SIGKILLed


class WorkerUnavailable(Exception):
    """The worker was found dead before the request reached it; use another one."""


@dataclass(frozen=True)
class InitFailure:
    """Why a worker never became ready: AWS's error type and error object."""

    error_type: str
    payload: bytes


class Worker:
    """A worker process for ``spec``; construct inside the running loop (it spawns at once)."""

    def __init__(
        self,
        spec: ExecutionSpec,
        sink: LogWriter,
        memwatch: MemoryWatch,
        stream_name: str | None = None,
    ) -> None:
        self.spec = spec
        #: the CloudWatch log stream of this execution environment (``AWS_LAMBDA_LOG_STREAM_NAME``)
        self.stream_name = stream_name or log_stream_name(spec.version)
        self.log = WorkerLog(sink)
        self.busy = False
        self.ready = False
        self.returncode: int | None = None
        self.last_used = time.monotonic()
        #: the worker's own CPU counters at its last reply (see bootstrap ``_Usage``), if sent
        self.reported_cpu: CpuReading | None = None
        self._loop = asyncio.get_running_loop()
        self._memwatch = memwatch
        self._frames = FrameReader()
        self._inbox: asyncio.Future[Message | None] | None = None
        self._exited: asyncio.Future[int] = self._loop.create_future()
        self._killed = False
        self._timed_out = False
        self._reaping = False
        self._pending_write = b""
        self._fds_closed = False
        self.spawned_at = time.perf_counter()
        self._popen, self._request_fd, self._response_fd, self._log_fd = self._spawn()
        self.pid = self._popen.pid
        self._guard = memwatch.guard(self.pid, spec.memory_mb)
        self._loop.add_reader(self._response_fd, self._on_response)
        self._loop.add_reader(self._log_fd, self._on_log)

    def _spawn(self) -> tuple[subprocess.Popen[bytes], int, int, int]:
        request_r, request_w = os.pipe()
        response_r, response_w = os.pipe()
        log_r, log_w = os.pipe()
        try:
            popen = subprocess.Popen(
                [sys.executable, "-B", "-m", BOOTSTRAP_MODULE, str(request_r), str(response_w)],
                stdin=subprocess.DEVNULL,
                stdout=log_w,
                stderr=log_w,
                pass_fds=(request_r, response_w),
                cwd=self.spec.code_dir,
                env=worker_environment(self.spec, self.stream_name),
                start_new_session=True,  # Ctrl-C on the engine's terminal is the engine's
            )
        except BaseException:
            for fd in (request_r, request_w, response_r, response_w, log_r, log_w):
                os.close(fd)
            raise
        for fd in (request_r, response_w, log_w):
            os.close(fd)
        for fd in (request_w, response_r, log_r):
            os.set_blocking(fd, False)
        return popen, request_w, response_r, log_r

    @property
    def alive(self) -> bool:
        return self.returncode is None and not self._killed and not self._reaping

    def answered(self) -> bool:
        """Whether the worker has answered and waits for the event loop to hand its reply
        back (in the pipe, or read but not yet taken by the invocation): it is done, not
        idle in its handler."""
        inbox = self._inbox
        if inbox is not None and inbox.done():
            return True
        if self._fds_closed:
            return False
        try:
            pending = fcntl.ioctl(self._response_fd, termios.FIONREAD, b"\0\0\0\0")
        except OSError:
            return False
        return int.from_bytes(pending, sys.byteorder) > 0

    # --- lifecycle -------------------------------------------------------------------------

    async def wait_ready(self, request_id: str, limit_s: float) -> InitFailure | None:
        """Await the handler's import (init); ``None`` when ready, else why it failed.

        ``limit_s`` bounds init; running over it is reported as the function's timeout.
        """
        self._memwatch.watch(self._guard)
        inbox = self._inbox = self._loop.create_future()
        timer = self._loop.call_later(limit_s, self._on_timeout)
        try:
            message = await inbox
        except asyncio.CancelledError:
            self.kill()
            raise
        finally:
            timer.cancel()
            self._memwatch.unwatch(self._guard)
        if message is not None and message[0].get("t") == "ready":
            self.ready = True
            return None
        self.kill()
        if message is not None and message[0].get("t") == "init_error":
            return InitFailure(str(message[0].get("type")), message[1])
        error_type, text = await self._death_reason(request_id)
        return InitFailure(error_type, faults.error_payload(error_type, text))

    def kill(self) -> None:
        """SIGKILL the process (idempotent); it is reaped in the background."""
        self._killed = True
        self._memwatch.unwatch(self._guard)
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._popen.kill()
        self._begin_reap()

    async def wait_exit(self) -> int:
        return await self._exited

    def reap_blocking(self, timeout_s: float) -> None:
        """Last resort at shutdown when the loop cannot run: kill and wait synchronously."""
        if self.returncode is None:
            self._memwatch.release(self._guard)
            with contextlib.suppress(ProcessLookupError):
                self._popen.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._on_exit(self._popen.wait(timeout_s))

    # --- one invocation --------------------------------------------------------------------

    async def invoke(
        self, payload: bytes, request_id: str, arn: str, init_duration_ms: float | None
    ) -> InvocationOutcome:
        """Run one request; the worker is left alive and idle unless the function failed
        in a way that kills the environment (timeout, crash, memory)."""
        if not self.alive:
            raise WorkerUnavailable
        spec = self.spec
        deadline_ms = int((time.time() + spec.timeout_s) * 1000)
        inbox = self._inbox = self._loop.create_future()
        self.reported_cpu = None
        try:
            self._send(frame({"id": request_id, "arn": arn, "dl": deadline_ms}, payload))
        except BrokenPipeError:
            self.kill()
            raise WorkerUnavailable from None
        self.busy = True
        self.log.start(request_id, spec.version)
        self._memwatch.watch(self._guard)
        started = time.perf_counter()
        timer = self._loop.call_later(spec.timeout_s, self._on_timeout)
        try:
            message = await inbox
        except asyncio.CancelledError:
            self.kill()
            self.log.finish(f"END RequestId: {request_id}\n")
            self.busy = False
            raise
        finally:
            timer.cancel()
            self._memwatch.unwatch(self._guard)
        try:
            if message is not None and not self._guard.exceeded:
                meta, body = message
                if int(meta.get("m", 0)) <= spec.memory_mb:
                    return self._replied(request_id, meta, body, init_duration_ms)
                self._guard.exceeded = True  # the peak RSS it reports is over the limit
                self.kill()
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            return await self._failed(request_id, elapsed_ms, init_duration_ms)
        finally:
            self.busy = False
            self.last_used = time.monotonic()

    def _replied(
        self, request_id: str, meta: dict[str, Any], body: bytes, init_ms: float | None
    ) -> InvocationOutcome:
        if meta.get("o", True):  # output still in the log pipe (absent: unknown)
            self._drain_log()
        on_cpu_ns, queued_ns = meta.get("c"), meta.get("q")
        if type(on_cpu_ns) is int and type(queued_ns) is int:
            self.reported_cpu = CpuReading(on_cpu_ns / 1e9, queued_ns / 1e9)
        duration_ms = float(meta.get("d", 0.0))
        error_type = meta.get("type") if meta.get("t") == "err" else None
        memory_used = int(meta.get("m", 0))
        tail = self.log.finish(_trailer(self.spec, request_id, duration_ms, memory_used, init_ms))
        return InvocationOutcome(
            payload=body,
            function_error="Unhandled" if error_type is not None else None,
            error_type=str(error_type) if error_type is not None else None,
            duration_ms=duration_ms,
            init_duration_ms=init_ms,
            cold_start=init_ms is not None,
            request_id=request_id,
            log_tail=tail,
        )

    async def _failed(
        self, request_id: str, elapsed_ms: float, init_ms: float | None
    ) -> InvocationOutcome:
        spec = self.spec
        if self._timed_out:
            error_type = faults.TIMED_OUT
            message = faults.timeout_message(request_id, spec.timeout_s)
            duration_ms = spec.timeout_s * 1000.0
            now = time.time()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            millis = int(now * 1000) % 1000
            log_line = (
                f"{stamp}.{millis:03d}Z {request_id} "
                f"Task timed out after {spec.timeout_s:.2f} seconds\n"
            )
            status = "Status: timeout\t"
        else:
            error_type, message = await self._death_reason(request_id)
            duration_ms = elapsed_ms
            log_line = f"{message}\n{error_type}\n"
            status = f"Status: error\tError Type: {error_type}\t"
        self._drain_log()
        self.log.feed(log_line.encode())
        memory_used = math.ceil(self._guard.peak_bytes / (1024 * 1024))
        trailer = _trailer(spec, request_id, duration_ms, memory_used, init_ms, status)
        return InvocationOutcome(
            payload=faults.error_payload(error_type, message),
            function_error="Unhandled",
            error_type=error_type,
            duration_ms=duration_ms,
            init_duration_ms=init_ms,
            cold_start=init_ms is not None,
            request_id=request_id,
            log_tail=self.log.finish(trailer),
        )

    async def _death_reason(self, request_id: str) -> tuple[str, str]:
        """Error type and message for a worker that died (or was killed for memory)."""
        returncode = await self._exited
        if self._guard.exceeded:
            return faults.OUT_OF_MEMORY, faults.exit_message(request_id, returncode)
        if self._timed_out:
            return faults.TIMED_OUT, faults.timeout_message(request_id, self.spec.timeout_s)
        return faults.EXIT_ERROR, faults.exit_message(request_id, returncode)

    # --- I/O callbacks ---------------------------------------------------------------------

    def _send(self, parts: Sequence[bytes]) -> None:
        header, meta, body = parts
        total = len(header) + len(meta) + len(body)
        try:
            written = os.writev(self._request_fd, parts)
        except BlockingIOError:
            written = 0
        if written < total:
            self._pending_write = b"".join(parts)[written:]
            self._loop.add_writer(self._request_fd, self._on_writable)

    def _on_writable(self) -> None:
        try:
            written = os.write(self._request_fd, self._pending_write)
        except BlockingIOError:
            return
        except OSError:  # the worker died; its EOF handling reports it
            written = len(self._pending_write)
        self._pending_write = self._pending_write[written:]
        if not self._pending_write:
            self._loop.remove_writer(self._request_fd)

    def _on_response(self) -> None:
        while True:
            try:
                data = os.read(self._response_fd, _READ_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._begin_reap()
                return
            for message in self._frames.feed(data):
                inbox = self._inbox
                if inbox is not None and not inbox.done():
                    inbox.set_result(message)
            if len(data) < _READ_CHUNK:  # drained; saves a read that would fail with EAGAIN
                return

    def _on_log(self) -> None:
        try:
            data = os.read(self._log_fd, _READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self.log.feed(data)
        else:
            self._loop.remove_reader(self._log_fd)

    def _drain_log(self) -> None:
        """Read all output already in the log pipe (the worker flushes before it replies)."""
        while not self._fds_closed:
            try:
                data = os.read(self._log_fd, _READ_CHUNK)
            except (BlockingIOError, OSError):
                return
            if not data:
                return
            self.log.feed(data)

    def _on_timeout(self) -> None:
        self._timed_out = True
        inbox = self._inbox
        if inbox is not None and not inbox.done():
            inbox.set_result(None)
        self.kill()

    # --- reaping ---------------------------------------------------------------------------

    def _begin_reap(self) -> None:
        if self._reaping or self.returncode is not None:
            return
        self._reaping = True
        self._memwatch.unwatch(self._guard)
        self._loop.remove_reader(self._response_fd)
        self._poll_exit(0, time.monotonic())

    def _poll_exit(self, attempt: int, since: float) -> None:
        returncode = self._popen.poll()
        if returncode is not None:
            self._on_exit(returncode)
            return
        if time.monotonic() - since > _REAP_GRACE_S:
            with contextlib.suppress(ProcessLookupError):
                self._popen.kill()
        delay = _REAP_POLL_S[min(attempt, len(_REAP_POLL_S) - 1)]
        self._loop.call_later(delay, self._poll_exit, attempt + 1, since)

    def _on_exit(self, returncode: int) -> None:
        if self.returncode is not None:
            return
        self.returncode = returncode
        self._memwatch.release(self._guard)
        self._drain_log()
        if self._pending_write:
            self._loop.remove_writer(self._request_fd)
            self._pending_write = b""
        for fd in (self._request_fd, self._response_fd, self._log_fd):
            self._loop.remove_reader(fd)
            os.close(fd)
        self._fds_closed = True
        if not self.busy:
            self.log.close()
        inbox = self._inbox
        if inbox is not None and not inbox.done():
            inbox.set_result(None)
        if not self._exited.done():
            self._exited.set_result(returncode)


def _trailer(
    spec: ExecutionSpec,
    request_id: str,
    duration_ms: float,
    memory_used_mb: int,
    init_ms: float | None,
    status: str = "",
) -> str:
    """The END and REPORT lines Lambda writes after each invocation."""
    init = f"Init Duration: {init_ms:.2f} ms\t" if init_ms is not None else ""
    return (
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms\t"
        f"Memory Size: {spec.memory_mb} MB\tMax Memory Used: {memory_used_mb} MB\t"
        f"{init}{status}\n"
    )
