"""The runtime's scale-out decisions (pure) and the CPU admission queue (no processes)."""

from __future__ import annotations

import asyncio

import pytest

from apicanary.engine.cloudwatch.concurrency import concurrency_points
from apicanary.engine.engine import cpu_admission
from apicanary.engine.functions.runtime.cpuprobe import CpuProbe, CpuReading
from apicanary.engine.functions.runtime.policy import (
    Capacity,
    ShareEstimate,
    awake_s,
    cpu_share,
    default_limit,
    explicit_limit,
    fits,
    may_start,
)
from apicanary.engine.functions.runtime.scheduler import CpuScheduler
from apicanary.errors import BadInputError


def test_share_estimate_is_time_weighted_and_recent() -> None:
    assert ShareEstimate().share is None
    # one fast computing call, then a long wait: the wait dominates
    mixed = ShareEstimate().add(0.001, 0.001).add(0.0, 0.5)
    assert mixed.share is not None and mixed.share < 0.01
    # CPU time is clamped to the awake time it was measured over; nothing learnt from 0 s
    assert ShareEstimate().add(5.0, 1.0).share == 1.0
    assert ShareEstimate().add(1.0, 0.0).share is None
    # the past fades
    turned = ShareEstimate().add(0.0, 1.0)
    for _ in range(20):
        turned = turned.add(1.0, 1.0)
    assert turned.share is not None and turned.share > 0.95


def test_cpu_share_leaves_out_the_time_queued_for_a_cpu() -> None:
    # a computing worker that got a tenth of a core is still computing
    assert cpu_share(0.005, 0.045, 0.05) == pytest.approx(1.0)
    # a waiting worker that was queued 20 ms before it could read its answer still waits
    assert cpu_share(0.0003, 0.02, 0.1) < 0.01
    assert cpu_share(0.005, 0.0, 0.01) == 0.5
    assert cpu_share(0.0, 0.0, 0.0) == 1.0
    assert awake_s(0.002, 0.05, 0.04) == 0.002  # never less than the CPU time


@pytest.mark.parametrize(
    ("share", "demand", "expected"),
    [
        (None, 0.0, True),  # nothing running: always
        (1.0, 0.0, True),
        (1.0, 1.0, True),  # two computing invocations on two cores
        (1.0, 2.0, False),  # a third would only share them
        (None, 1.5, False),  # unmeasured counts as computing
        (0.02, 2.0, True),  # a waiting handler fits beside them
        (0.5, 1.5, True),
        (0.5, 1.6, True),  # within the slack light invocations leave
        (0.5, 1.7, False),
    ],
)
def test_may_start(share: float | None, demand: float, expected: bool) -> None:
    assert may_start(share, demand, 2, unknown_share=1.0) is expected


def test_unknown_share_zero_means_scale_out_freely() -> None:
    assert may_start(None, 50.0, 2, unknown_share=0.0)


def test_capacity_counts_environments_and_memory() -> None:
    assert fits(Capacity(2, 256), Capacity(3, 512), 256)
    assert not fits(Capacity(2, 256), Capacity(3, 500), 256)  # memory budget
    assert not fits(Capacity(3, 0), Capacity(3, None), 128)  # count
    assert fits(Capacity(2, 10_000), Capacity(3, None), 10_240)  # no budget when explicit
    assert default_limit(16_384) == Capacity(1000, 8192)
    assert explicit_limit(5) == Capacity(5, None)
    with pytest.raises(ValueError, match="max_environments 0 must be >= 1"):
        explicit_limit(0)


class Version:
    def __init__(self, share: float | None) -> None:
        self.estimate = ShareEstimate() if share is None else ShareEstimate(share, 1.0)


def test_admission_queues_computing_work_and_lets_waiting_work_pass() -> None:
    async def scenario() -> None:
        sched = CpuScheduler(2, enabled=True, tick_s=60)
        cpu, io = Version(1.0), Version(0.01)
        first, second = await sched.admit(cpu), await sched.admit(cpu)
        third = asyncio.ensure_future(sched.admit(cpu))
        fourth = asyncio.ensure_future(sched.admit(cpu))
        await asyncio.sleep(0)
        assert not third.done() and sched.waiting == 2
        # a handler that waits passes the queue: it fits beside the reserved head
        waiting_slot = await asyncio.wait_for(sched.admit(io), 1)
        assert sched.waiting == 2
        sched.release(first)
        await asyncio.sleep(0)
        assert third.done() and not fourth.done()  # first come, first served
        fourth.cancel()
        await asyncio.sleep(0)
        assert sched.waiting == 0
        for slot in (second, third.result(), waiting_slot):
            sched.release(slot)
        assert sched.demand == 0.0 and sched.waits == 2
        sched.close()

    asyncio.run(scenario())


def test_the_reserving_head_is_not_starved_by_cheaper_arrivals() -> None:
    async def scenario() -> None:
        sched = CpuScheduler(2, enabled=True, tick_s=60)
        half, cpu = Version(0.5), Version(1.0)
        running = [await sched.admit(half) for _ in range(3)]  # demand 1.5
        head = asyncio.ensure_future(sched.admit(cpu))
        await asyncio.sleep(0)
        # 1.5 + 0.5 would fit, but the head reserved 1.0 first
        later = asyncio.ensure_future(sched.admit(half))
        await asyncio.sleep(0)
        assert not head.done() and not later.done()
        sched.release(running.pop())
        await asyncio.sleep(0)
        assert head.done() and not later.done()
        sched.close()

    asyncio.run(scenario())


def test_disabled_admission_never_waits() -> None:
    async def scenario() -> None:
        sched = CpuScheduler(1, enabled=False)
        slots = [await sched.admit(Version(None)) for _ in range(10)]
        assert sched.waits == 0 and len(slots) == 10

    asyncio.run(scenario())


class FakeProbe(CpuProbe):
    """Counters and run state set by the test."""

    def __init__(self) -> None:
        super().__init__(-1, -1)
        self.on_cpu_s = 0.0
        self.is_runnable = False

    def read(self) -> CpuReading | None:
        return CpuReading(self.on_cpu_s, 0.0)

    def runnable(self) -> bool:
        return self.is_runnable

    def close(self) -> None:
        pass


class FakeWorker:
    def __init__(self) -> None:
        self.done = False

    def answered(self) -> bool:
        return self.done


def test_a_running_invocation_found_asleep_is_recharged_and_lets_a_waiter_in() -> None:
    """A version taught to expect CPU starts an invocation that then sleeps: re-measured
    over a window, its charge drops and the waiting invocation starts. While the worker is
    runnable (its wait for a CPU may not be counted yet), or once it has answered (it is done,
    not free), the charge stays."""

    async def scenario() -> None:
        sched = CpuScheduler(2, enabled=True, tick_s=0.01)
        cpu = Version(1.0)
        running, answered = await sched.admit(cpu), await sched.admit(cpu)
        probe, done = FakeProbe(), FakeWorker()
        done.done = True
        running.attach(FakeWorker(), probe)
        answered.attach(done, FakeProbe())
        probe.is_runnable = True  # and no CPU counted: as if queued for a CPU
        waiter = asyncio.ensure_future(sched.admit(cpu))
        await asyncio.sleep(0.15)  # several windows
        assert (running.charge, answered.charge) == (1.0, 1.0) and not waiter.done()
        probe.is_runnable = False  # asleep, still no CPU: a handler waiting on I/O
        await asyncio.sleep(0.15)
        assert running.charge == 0.0 and answered.charge == 1.0
        assert waiter.done()
        sched.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("value", "expected"), [("", 2.0), ("off", None), ("1", 1.0), (" 3.5 ", 3.5)]
)
def test_cpu_admission_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: float | None
) -> None:
    monkeypatch.setenv("APICANARY_CPU_ADMISSION", value)
    assert cpu_admission() == expected


@pytest.mark.parametrize("value", ["0.5", "lots", "100"])
def test_a_bad_cpu_admission_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("APICANARY_CPU_ADMISSION", value)
    with pytest.raises(BadInputError, match=rf"APICANARY_CPU_ADMISSION '{value}' must be"):
        cpu_admission()


def test_concurrent_executions_points() -> None:
    assert concurrency_points(100.0, 0, {}) == []
    points = concurrency_points(100.0, 5, {"b": 2, "a": 3, "idle": 0})
    assert points == [
        (("AWS/Lambda", "ConcurrentExecutions", ()), 100.0, 5.0, "Count"),
        (("AWS/Lambda", "ConcurrentExecutions", (("FunctionName", "a"),)), 100.0, 3.0, "Count"),
        (("AWS/Lambda", "ConcurrentExecutions", (("FunctionName", "b"),)), 100.0, 2.0, "Count"),
    ]
