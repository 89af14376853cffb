"""The runtime's scale-out decisions, pure: may an invocation start now, and does one more
execution environment fit.

**CPU demand.** Lambda gives every concurrent invocation its own execution environment, and
the runtime does the same for handlers that wait (on a database, another service): their
environments sleep, and a hundred of them cost the machine nothing but memory. A handler that
computes is different: more processes than cores only share the cores, and every one of them
also takes CPU from the gateway process that feeds them. So each running invocation is
charged its *demand share*: the fraction of its wall time its worker wanted a CPU (time on a
CPU plus time waiting in the run queue, from the kernel's schedstat). A worker that sleeps on
I/O has a share near 0; one that computes has a share near 1 whether or not it got a core,
which is why the run-queue wait is counted (on CPU time alone, contention would make a
CPU-bound worker look half idle and invite more workers, feeding on itself).

An invocation may start while the machine's demand (the sum of the running invocations'
charges) plus its own expected share stays within the cores; otherwise it waits for demand
to drop (an invocation ending, or a running one measured to be waiting on I/O). An
invocation always starts when nothing is running, and when it is expected to want less than
``LIGHT_SHARE`` of a CPU. A version's expected share is the
wall-time-weighted average of its recent invocations (:class:`ShareEstimate`); before its
first measured invocation it is ``unknown_share`` (1.0 where demand can be measured: assume
CPU until measured; a running invocation is re-measured within a few milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass

DECAY = 0.8
"""Weight of the past in :class:`ShareEstimate` per new sample (recent invocations count most)."""
EPSILON = 1e-9
LIGHT_SHARE = 0.1
"""An invocation expected to want less of a CPU than this never waits: it would wait on
computing ones for hardly any CPU of its own (and behind a long computation, time out)."""


@dataclass(frozen=True)
class ShareEstimate:
    """Decayed sums of CPU demand and wall time over a version's recent invocations."""

    demand_s: float = 0.0
    wall_s: float = 0.0

    def add(self, demand_s: float, wall_s: float) -> ShareEstimate:
        """The estimate plus one invocation that wanted a CPU ``demand_s`` of ``wall_s``."""
        if wall_s <= 0:
            return self
        demand_s = min(max(demand_s, 0.0), wall_s)
        return ShareEstimate(self.demand_s * DECAY + demand_s, self.wall_s * DECAY + wall_s)

    @property
    def share(self) -> float | None:
        """The expected demand share in [0, 1]; ``None`` before any sample."""
        if self.wall_s <= 0:
            return None
        return min(1.0, self.demand_s / self.wall_s)


def demand_share(demand_delta_s: float, wall_delta_s: float) -> float:
    """The share of ``wall_delta_s`` a worker wanted a CPU, clamped to [0, 1]."""
    if wall_delta_s <= 0:
        return 1.0
    return min(1.0, max(0.0, demand_delta_s / wall_delta_s))


def may_start(share: float | None, demand: float, cores: int, *, unknown_share: float) -> bool:
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
