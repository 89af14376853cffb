"""How long a worker has been on a CPU, and how long it waited in a run queue for one.

Read from ``/proc/<pid>/schedstat`` (nanoseconds on a CPU, nanoseconds runnable in a run
queue, timeslices) with ``pread`` on a descriptor opened when the worker is spawned (so the
pid is surely ours), about a microsecond per read. The file describes the worker's main
thread, which runs the handler; CPU of threads a handler starts itself is not seen.

The kernel adds to these counters when a task leaves a CPU or at a scheduler tick, and adds
run-queue time only once the wait ends: a worker that has been waiting for a CPU for 40 ms
shows none of it yet. So a reading over a running invocation is only trusted to say "idle"
when the worker is not runnable right now (:meth:`CpuProbe.runnable`, the state letter of
``/proc/<pid>/stat``); a reading taken after the worker answered (it then sleeps on its
pipe) is complete.

Where ``/proc`` or schedstat does not exist (macOS, kernels without ``CONFIG_SCHED_INFO``)
:meth:`CpuProbe.open` returns ``None`` and the runtime scales out without a CPU guard.
"""

from __future__ import annotations

import contextlib
import os
from typing import NamedTuple


class CpuReading(NamedTuple):
    """Seconds on a CPU and seconds runnable but queued, since the worker started."""

    on_cpu_s: float
    queued_s: float

    def since(self, earlier: CpuReading) -> CpuReading:
        return CpuReading(self.on_cpu_s - earlier.on_cpu_s, self.queued_s - earlier.queued_s)


class CpuProbe:
    """The schedstat of one worker process."""

    def __init__(self, fd: int, stat_fd: int) -> None:
        self._fd: int | None = fd
        self._stat_fd: int | None = stat_fd
        self.last = CpuReading(0.0, 0.0)
        """The reading at the end of the worker's previous invocation (or of its init)."""

    @classmethod
    def open(cls, pid: int) -> CpuProbe | None:
        try:
            fd = os.open(f"/proc/{pid}/schedstat", os.O_RDONLY)
        except OSError:
            return None
        try:
            stat_fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
        except OSError:
            os.close(fd)
            return None
        probe = cls(fd, stat_fd)
        if probe.read() is None:
            probe.close()
            return None
        return probe

    def read(self) -> CpuReading | None:
        """The worker's counters now; ``None`` once it is gone."""
        if self._fd is None:
            return None
        try:
            fields = os.pread(self._fd, 96, 0).split()
            return CpuReading(int(fields[0]) / 1e9, int(fields[1]) / 1e9)
        except (OSError, IndexError, ValueError):
            return None

    def runnable(self) -> bool:
        """Whether the worker is on a CPU or waiting for one right now (state ``R``)."""
        if self._stat_fd is None:
            return False
        try:
            raw = os.pread(self._stat_fd, 512, 0)
        except OSError:
            return False
        end = raw.rfind(b")")  # the command name may contain spaces and parentheses
        return raw[end + 2 : end + 3] == b"R"

    def close(self) -> None:
        for fd in (self._fd, self._stat_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._stat_fd = None
