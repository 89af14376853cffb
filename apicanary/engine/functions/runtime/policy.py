"""The runtime's scale-out decisions, pure: may an invocation start now, and does one more
execution environment fit.

**CPU demand.** Lambda gives every concurrent invocation its own execution environment, and
the runtime does the same for handlers that wait (on a database, another service): their
environments sleep, and a hundred of them cost the machine nothing but memory. A handler that
computes is different: more processes than cores only share the cores, and every one of them
also takes CPU from the gateway process that feeds them. So each running invocation is
charged its *CPU share*: the fraction of the time its worker was not queued for a CPU that it
spent on one (``on_cpu / (wall - queued)``, from the kernel's schedstat). Contention does not
move it: a worker that computes has a share near 1 whether it got a whole core or a tenth of
one (on CPU time over wall time alone, contention would make it look half idle and invite
more workers, feeding on itself), and a worker that sleeps on I/O stays near 0 however long
other processes on the machine kept it queued before it could read its answer.

An invocation may start while the machine's demand (the sum of the running invocations'
charges) plus its own expected share stays within the budget (cores times
``DEFAULT_ADMISSION``, with ``LIGHT_SHARE`` of slack); otherwise it waits for demand to drop
(an invocation ending, or a running one measured to be asleep on I/O). An invocation always
starts when nothing is running, and when it is expected to want less than ``LIGHT_SHARE`` of
a CPU. A version's expected share is the time-weighted average of its recent invocations'
shares (:class:`ShareEstimate`, measured when each answers, against the handler's own
duration); before its first measured invocation it is ``unknown_share`` (1.0 where shares
can be measured: assume CPU until measured; a running invocation is re-measured over 50 ms
windows while anyone waits, see :mod:`.scheduler`).
"""

from __future__ import annotations

from dataclasses import dataclass

DECAY = 0.8
"""Weight of the past in :class:`ShareEstimate` per new sample (recent invocations count most)."""
EPSILON = 1e-9
DEFAULT_ADMISSION = 2.0
"""CPU demand admitted per core (``APICANARY_CPU_ADMISSION``): two computing invocations per
core keep each core busy while the other's answer crosses the engine's event loop (measured
in ``bench/concurrency.py``: one per core left the cores partly idle)."""
LIGHT_SHARE = 0.1
"""An invocation expected to want less of a CPU than this never waits: it would wait on
computing ones for hardly any CPU of its own (and behind a long computation, time out)."""


def awake_s(on_cpu_s: float, queued_s: float, wall_s: float) -> float:
    """The part of ``wall_s`` a worker was not queued for a CPU (at least its CPU time)."""
    return max(wall_s - queued_s, on_cpu_s, 0.0)


@dataclass(frozen=True)
class ShareEstimate:
    """Decayed sums of CPU time and awake time over a version's recent invocations."""

    on_cpu_s: float = 0.0
    awake_s: float = 0.0

    def add(self, on_cpu_s: float, awake_s: float) -> ShareEstimate:
        """The estimate plus one invocation: ``on_cpu_s`` of ``awake_s`` spent on a CPU."""
        if awake_s <= 0:
            return self
        on_cpu_s = min(max(on_cpu_s, 0.0), awake_s)
        return ShareEstimate(self.on_cpu_s * DECAY + on_cpu_s, self.awake_s * DECAY + awake_s)

    @property
    def share(self) -> float | None:
        """The expected CPU share in [0, 1]; ``None`` before any sample."""
        if self.awake_s <= 0:
            return None
        return min(1.0, self.on_cpu_s / self.awake_s)


def cpu_share(on_cpu_s: float, queued_s: float, wall_s: float) -> float:
    """The CPU share over one interval, clamped to [0, 1] (1 for an empty interval)."""
    awake = awake_s(on_cpu_s, queued_s, wall_s)
    if awake <= 0:
        return 1.0
    return min(1.0, max(0.0, on_cpu_s / awake))


def may_start(share: float | None, demand: float, cores: float, *, unknown_share: float) -> bool:
    """Whether an invocation expected to take ``share`` (``None``: not yet measured) of a CPU
    may start while the running invocations are charged ``demand`` in total, on ``cores``."""
    if demand <= EPSILON:
        return True  # nothing is running: waiting could only wait for itself
    cost = unknown_share if share is None else share
    # the slack: light invocations running beside computing ones must not block the next
    return cost < LIGHT_SHARE or demand + cost <= cores + LIGHT_SHARE


@dataclass(frozen=True)
class Capacity:
    """Environments and the sum of their MemorySize, live now or allowed at most.

    ``memory_mb`` ``None``: no memory budget (an explicit ``--max-environments``)."""

    environments: int
    memory_mb: int | None


def fits(live: Capacity, limit: Capacity, memory_mb: int) -> bool:
    """Whether one more environment of ``memory_mb`` fits within ``limit``."""
    if live.environments + 1 > limit.environments:
        return False
    if limit.memory_mb is None or live.memory_mb is None:
        return True
    return live.memory_mb + memory_mb <= limit.memory_mb


DEFAULT_IDLE_TIMEOUT_S = 300.0
"""How long an idle execution environment is kept (AWS: minutes, unspecified)."""

AWS_ACCOUNT_CONCURRENCY = 1000
"""Lambda's default concurrency limit per account and region."""


def default_limit(physical_memory_mb: int) -> Capacity:
    """The local default: AWS's 1,000 environments, within a MemorySize budget of half the
    machine's RAM (a 128 MB function on a 16 GB laptop: 64 environments)."""
    return Capacity(AWS_ACCOUNT_CONCURRENCY, max(1, physical_memory_mb // 2))


def explicit_limit(max_environments: int) -> Capacity:
    """``serve --max-environments N``: N environments, whatever their MemorySize."""
    if max_environments < 1:
        raise ValueError(f"max_environments {max_environments} must be >= 1")
    return Capacity(max_environments, None)
