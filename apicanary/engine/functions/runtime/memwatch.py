"""Enforcing MemorySize: the engine polls the RSS of busy workers and SIGKILLs any worker
above its limit.

Why polling RSS (``/proc/<pid>/statm``, every ``POLL_S``) rather than the alternatives:

- ``RLIMIT_AS`` limits *virtual* memory, which CPython, its allocator arenas, threads and
  shared libraries inflate far beyond what Lambda counts, and it turns the limit into a
  ``MemoryError`` inside the handler instead of the environment being killed;
- a memory cgroup is what Lambda really uses, but it needs a writable, delegated cgroup
  hierarchy (root, or systemd delegation), which a laptop or CI user rarely has;
- a watchdog thread *inside* the worker cannot run while the handler holds the GIL in one
  long C call (``b"x" * 10**9``).

The poll is a timer on the engine's event loop that runs only while some worker is
initialising or running an invocation, and reads each one's already-open statm fd with
``pread`` (a few microseconds per busy worker). A timer rather than a thread: a polling
thread would contend for the GIL with the loop on every syscall of the hot path, and on the
loop the poll, the kill and the reaping are never concurrent, so a reaped pid is never
signalled. Limits of the approach: an allocation faster than the poll interval can
overshoot the limit by what it allocates in ``POLL_S`` (more if the loop is stalled); a spike
shorter
than the interval is missed by the poll, which is why the engine also checks the peak RSS
(``ru_maxrss``) each worker reports with every reply; memory of the worker's own child
processes is not counted; where ``/proc`` does not exist (macOS) only the peak check applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass

POLL_S = 0.005
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(eq=False)
class MemoryGuard:
    """Watch state of one worker; ``exceeded`` is set just before the poll kills it."""

    pid: int
    limit_bytes: int
    statm_fd: int | None
    exceeded: bool = False
    peak_bytes: int = 0


class MemoryWatch:
    """Polls the RSS of watched workers from the running event loop."""

    def __init__(self, poll_s: float = POLL_S) -> None:
        self._poll_s = poll_s
        self._watched: set[MemoryGuard] = set()
        self._timer: asyncio.TimerHandle | None = None

    def guard(self, pid: int, limit_mb: int) -> MemoryGuard:
        """A guard for a new worker; its statm is opened now, while the pid surely is ours."""
        fd: int | None
        try:
            fd = os.open(f"/proc/{pid}/statm", os.O_RDONLY)
        except OSError:
            fd = None
        return MemoryGuard(pid, limit_mb * 1024 * 1024, fd)

    def watch(self, guard: MemoryGuard) -> None:
        """Poll ``guard`` until :meth:`unwatch`; call from the event loop."""
        if guard.statm_fd is None:
            return
        self._watched.add(guard)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._poll_s, self._poll)

    def unwatch(self, guard: MemoryGuard) -> None:
        self._watched.discard(guard)

    def release(self, guard: MemoryGuard) -> None:
        """Unwatch and close the statm fd (the worker is gone)."""
        self.unwatch(guard)
        if guard.statm_fd is not None:
            with contextlib.suppress(OSError):
                os.close(guard.statm_fd)
            guard.statm_fd = None

    def stop(self) -> None:
        self._watched.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _poll(self) -> None:
        self._timer = None
        for guard in list(self._watched):
            self._check(guard)
        if self._watched:
            self._timer = asyncio.get_running_loop().call_later(self._poll_s, self._poll)

    def _check(self, guard: MemoryGuard) -> None:
        if guard.statm_fd is None:
            return
        try:
            rss = int(os.pread(guard.statm_fd, 128, 0).split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            return
        guard.peak_bytes = max(guard.peak_bytes, rss)
        if rss > guard.limit_bytes:
            guard.exceeded = True
            self._watched.discard(guard)
            with contextlib.suppress(ProcessLookupError):
                os.kill(guard.pid, signal.SIGKILL)
