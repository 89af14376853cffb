"""Scale-out in the runtime, with real worker processes: handlers that wait get an environment
each, handlers that compute stay at the cores, environments fit their limit (least recently
used idle ones stopped first) or the invocation is throttled."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
import uvloop

from apicanary.engine.functions.runtime import ExecutionSpec, InvocationOutcome, Runtime
from apicanary.engine.functions.runtime.policy import Capacity
from apicanary.errors import AwsApiError

T = TypeVar("T")
ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn:live"
APP = textwrap.dedent(
    """
    import os, time

    def wait(event, context):
        time.sleep(event["s"])
        return os.getpid()

    def spin(event, context):
        end = time.perf_counter() + event["s"]
        while time.perf_counter() < end:
            pass
        return os.getpid()
    """
)


def run(make: Callable[[], Awaitable[T]]) -> T:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(make())  # type: ignore[arg-type]


@pytest.fixture
def spec(tmp_path: Path) -> Callable[..., ExecutionSpec]:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(APP)

    def make(handler: str, function: str = "fn", memory_mb: int = 128) -> ExecutionSpec:
        return ExecutionSpec(
            function_name=function,
            version="1",
            code_dir=code,
            handler=handler,
            runtime="python3.11",
            timeout_s=30.0,
            memory_mb=memory_mb,
            environment={},
            pool_key=f"{function}:1:{handler}",
        )

    return make


async def invoke(rt: Runtime, spec: ExecutionSpec, seconds: float) -> InvocationOutcome:
    return await rt.invoke(
        spec, orjson.dumps({"s": seconds}), request_id="r", invoked_function_arn=ARN
    )


def pid(outcome: InvocationOutcome) -> int:
    value: int = orjson.loads(outcome.payload)
    return value


def test_a_first_burst_of_waiting_invocations_scales_out_unmeasured(
    tmp_path: Path, spec: Callable[..., ExecutionSpec]
) -> None:
    """Before anything is measured the runtime assumes CPU, and learns within the first
    invocations' init that they wait: all six get their own environment."""
    rt = Runtime(tmp_path / "logs", cores=2)
    waiting = spec("app.wait")

    async def scenario() -> tuple[list[InvocationOutcome], dict[str, Any]]:
        outcomes = await asyncio.gather(*(invoke(rt, waiting, 1.5) for _ in range(6)))
        stats = rt.stats()
        await rt.close()
        return list(outcomes), stats

    outcomes, stats = run(scenario)
    assert len({pid(o) for o in outcomes}) == 6 and all(o.cold_start for o in outcomes)
    assert stats["environments"] == 6
    assert stats["pools"][waiting.pool_key]["cpu_share"] < 0.5


def test_computing_invocations_stay_at_the_cores(
    tmp_path: Path, spec: Callable[..., ExecutionSpec]
) -> None:
    """Eight concurrent handlers that compute for 0.3 s on two cores: four environments (the
    default admits two computing invocations per core), the others wait for them (more
    processes would only share the same cores)."""
    rt = Runtime(tmp_path / "logs", cores=2)
    spinning = spec("app.spin")

    async def scenario() -> tuple[list[InvocationOutcome], dict[str, Any]]:
        outcomes = []
        for _ in range(2):
            outcomes += await asyncio.gather(*(invoke(rt, spinning, 0.3) for _ in range(8)))
        stats = rt.stats()
        await rt.close()
        return outcomes, stats

    outcomes, stats = run(scenario)
    assert all(o.function_error is None for o in outcomes)
    assert len({pid(o) for o in outcomes}) == 4
    assert stats["environments"] == 4 and stats["cold_starts"] == 4
    assert stats["cpu"]["waits"] >= 8
    assert stats["pools"][spinning.pool_key]["cpu_share"] > 0.8


def test_with_the_fixed_policy_computing_and_waiting_alike_queue(
    tmp_path: Path, spec: Callable[..., ExecutionSpec]
) -> None:
    """``max_workers_per_pool`` (``APICANARY_WORKERS_PER_VERSION``) keeps the previous policy."""
    rt = Runtime(tmp_path / "logs", max_workers_per_pool=2, cores=2)
    waiting = spec("app.wait")

    async def scenario() -> list[InvocationOutcome]:
        outcomes = await asyncio.gather(*(invoke(rt, waiting, 0.2) for _ in range(4)))
        await rt.close()
        return list(outcomes)

    assert len({pid(o) for o in run(scenario)}) == 2


def test_the_least_recently_used_idle_environment_makes_room(
    tmp_path: Path, spec: Callable[..., ExecutionSpec]
) -> None:
    """A MemorySize budget of 600 MB holds two 256 MB environments; a third version's first
    invocation stops the idle environment used longest ago."""
    rt = Runtime(tmp_path / "logs", limit=Capacity(1000, 600))
    a, b, c = (spec("app.wait", function=name, memory_mb=256) for name in "abc")

    async def scenario() -> tuple[list[int], dict[str, Any]]:
        pids = [pid(await invoke(rt, fn, 0)) for fn in (a, b, a, c)]
        stats = rt.stats()
        await rt.close()
        return pids, stats

    pids, stats = run(scenario)
    assert pids[0] == pids[2]  # a's environment was reused, so b's is the oldest idle one
    assert stats["evicted"] == 1
    assert stats["environments"] == 2 and stats["environments_memory_mb"] == 512
    live = {pool["function"] for pool in stats["pools"].values() if pool["workers"]}
    assert live == {"a", "c"}


def test_no_room_and_nothing_idle_is_a_throttle(
    tmp_path: Path, spec: Callable[..., ExecutionSpec]
) -> None:
    rt = Runtime(tmp_path / "logs", limit=Capacity(1, None))

    async def scenario() -> list[Any]:
        results = await asyncio.gather(
            invoke(rt, spec("app.wait", function="a"), 0.5),
            invoke(rt, spec("app.wait", function="b"), 0.5),
            return_exceptions=True,
        )
        await rt.close()
        return list(results)

    results = run(scenario)
    assert sum(isinstance(r, InvocationOutcome) for r in results) == 1
    (error,) = (r for r in results if isinstance(r, AwsApiError))
    assert (error.code, error.status) == ("TooManyRequestsException", 429)
    assert error.fields["Reason"] == "ConcurrentInvocationLimitExceeded"
