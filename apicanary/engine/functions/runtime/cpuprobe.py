"""How much CPU a worker has wanted so far: time on a CPU plus time waiting for one.

Read from ``/proc/<pid>/schedstat`` (nanoseconds on a CPU, nanoseconds runnable in a run
queue, timeslices) with ``pread`` on a descriptor opened when the worker is spawned (so the
pid is surely ours), about a microsecond per read. The file describes the worker's main
thread, which runs the handler; CPU of threads a handler starts itself is not seen. Where
``/proc`` or schedstat does not exist (macOS, kernels without ``CONFIG_SCHED_INFO``)
:meth:`CpuProbe.open` returns ``None`` and the runtime scales out without a CPU guard.
"""

from __future__ import annotations

import contextlib
import os


class CpuProbe:
    """The schedstat of one worker process."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd
        self.last_s = 0.0
        """Demand seconds at the end of the worker's previous invocation (or at spawn)."""

    @classmethod
    def open(cls, pid: int) -> CpuProbe | None:
        try:
            fd = os.open(f"/proc/{pid}/schedstat", os.O_RDONLY)
        except OSError:
            return None
        probe = cls(fd)
        if probe.read() is None:
            probe.close()
            return None
        return probe

    def read(self) -> float | None:
        """Seconds the worker has been on a CPU or waiting for one; ``None`` once it is gone."""
        if self._fd is None:
            return None
        try:
            fields = os.pread(self._fd, 96, 0).split()
            return (int(fields[0]) + int(fields[1])) / 1e9
        except (OSError, IndexError, ValueError):
            return None

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
