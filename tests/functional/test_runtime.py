"""The execution-environment runtime, with real worker processes."""

from __future__ import annotations

import asyncio
import os
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
import uvloop

from apicanary.engine.functions.runtime import ExecutionSpec, InvocationOutcome, Runtime
from apicanary.errors import AwsApiError

T = TypeVar("T")
ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn:live"

APP = textwrap.dedent(
    """
    import ctypes, json, logging, os, sys, time

    print("init output")
    INITS = 0
    INITS += 1
    CALLS = 0

    def state(event, context):
        global CALLS
        CALLS += 1
        print("state called", CALLS)
        return {"calls": CALLS, "inits": INITS, "pid": os.getpid()}

    def echo(event, context):
        return event

    def context_info(event, context):
        names = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
                 "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "LAMBDA_TASK_ROOT",
                 "_HANDLER", "GREETING", "APICANARY_TEST_SECRET", "PYTHONPATH"]
        return {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
            "env": {name: os.environ.get(name) for name in names},
            "path0": sys.path[0],
            "cwd": os.getcwd(),
        }

    def remaining(event, context):
        first = context.get_remaining_time_in_millis()
        time.sleep(0.3)
        return [first, context.get_remaining_time_in_millis()]

    def fail(event, context):
        def inner():
            raise ValueError("bad input: " + str(event["n"]))
        inner()

    def unserialisable(event, context):
        return {"s": {1, 2}}

    def logs(event, context):
        logging.getLogger().warning("careful")
        print("to stderr", file=sys.stderr)
        return None

    def sleepy(event, context):
        time.sleep(event["s"])
        return {"slept": event["s"], "pid": os.getpid()}

    def exit3(event, context):
        sys.stdout.write("about to exit\\n")
        os._exit(3)

    def sys_exit(event, context):
        sys.exit(0)

    def segfault(event, context):
        ctypes.string_at(0)

    def hog(event, context):
        blob = b"x" * (event["mb"] * 1024 * 1024)
        time.sleep(1)
        return len(blob)

    def chatty(event, context):
        line = "y" * 99
        for _ in range(event["lines"]):
            print(line)
        print("last line")
        return "done"
    """
)


def run(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on uvloop, as the engine does."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(make())  # type: ignore[arg-type]


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(APP)
    (code / "broken.py").write_text("import not_a_module_anywhere\n")
    (code / "raising.py").write_text(
        "raise RuntimeError('init failed')\n\ndef h(e, c):\n    pass\n"
    )
    return code


@pytest.fixture
def make_spec(code_dir: Path) -> Callable[..., ExecutionSpec]:
    def make(handler: str, **overrides: Any) -> ExecutionSpec:
        version = overrides.pop("version", "3")
        fields: dict[str, Any] = {
            "function_name": "fn",
            "version": version,
            "code_dir": code_dir,
            "handler": handler,
            "runtime": "python3.11",
            "timeout_s": 5.0,
            "memory_mb": 256,
            "environment": {"GREETING": "hi"},
            "pool_key": f"fn:{version}:{handler}",
        }
        fields.update(overrides)
        return ExecutionSpec(**fields)

    return make


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(tmp_path / "logs")
    yield rt
    rt.close_sync()


async def invoke(
    rt: Runtime, spec: ExecutionSpec, event: Any = None, rid: str = "req-1", **kw: Any
) -> InvocationOutcome:
    return await rt.invoke(
        spec, orjson.dumps(event or {}), request_id=rid, invoked_function_arn=ARN, **kw
    )


def body(outcome: InvocationOutcome) -> Any:
    return orjson.loads(outcome.payload)


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


# --- success paths -----------------------------------------------------------------------


def test_warm_worker_is_reused_with_module_state(
    runtime: Runtime, make_spec: Callable[..., ExecutionSpec]
) -> None:
    spec = make_spec("app.state")
    first = runtime.invoke_sync(spec, b"{}", request_id="r1", invoked_function_arn=ARN)
    second = runtime.invoke_sync(spec, b"{}", request_id="r2", invoked_function_arn=ARN)

    assert first.cold_start and first.init_duration_ms is not None and first.init_duration_ms > 0
    assert not second.cold_start and second.init_duration_ms is None
    assert body(first)["calls"] == 1 and body(second)["calls"] == 2
    assert body(second)["inits"] == 1 and body(first)["pid"] == body(second)["pid"]
    assert first.function_error is None and first.error_type is None
    assert runtime.stats()["pools"]["fn:3:app.state"]["cold_starts"] == 1

    log = runtime.log_path("fn", "3").read_text()
    assert log.index("init output") < log.index("START RequestId: r1 Version: 3")
    assert "state called 1\nEND RequestId: r1\nREPORT RequestId: r1\tDuration: " in log
    report_r1 = next(line for line in log.splitlines() if line.startswith("REPORT RequestId: r1"))
    assert (
        "\tBilled Duration: " in report_r1
        and "\tMemory Size: 256 MB\tMax Memory Used: " in report_r1
    )
    assert "\tInit Duration: " in report_r1
    report_r2 = next(line for line in log.splitlines() if line.startswith("REPORT RequestId: r2"))
    assert "Init Duration" not in report_r2
    assert second.log_tail.startswith("START RequestId: r2 Version: 3\nstate called 2\n")
    assert second.log_tail.endswith("\n") and "REPORT RequestId: r2" in second.log_tail


def test_context_and_environment_match_lambda(
    runtime: Runtime,
    make_spec: Callable[..., ExecutionSpec],
    code_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APICANARY_TEST_SECRET", "engine-only")
    spec = make_spec("app.context_info", version="7", memory_mb=512, region="eu-west-1")
    out = body(runtime.invoke_sync(spec, b"{}", request_id="abc-123", invoked_function_arn=ARN))

    assert out["function_name"] == "fn" and out["function_version"] == "7"
    assert out["invoked_function_arn"] == ARN and out["aws_request_id"] == "abc-123"
    assert out["memory_limit_in_mb"] == "512"  # a string, as in the AWS Python runtime
    assert out["log_group_name"] == "/aws/lambda/fn"
    assert "/[7]" in out["log_stream_name"]
    assert 4000 < out["remaining"] <= 5000
    env = out["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn" and env["AWS_LAMBDA_FUNCTION_VERSION"] == "7"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == out["log_stream_name"]
    assert env["LAMBDA_TASK_ROOT"] == str(code_dir) and env["_HANDLER"] == "app.context_info"
    assert env["GREETING"] == "hi"
    assert env["APICANARY_TEST_SECRET"] is None  # the engine's environment is not inherited
    assert env["PYTHONPATH"] is None  # the engine's bootstrap path is removed again
    assert out["path0"] == str(code_dir) and out["cwd"] == str(code_dir)


def test_remaining_time_counts_down(
    runtime: Runtime, make_spec: Callable[..., ExecutionSpec]
) -> None:
    first, later = body(
        runtime.invoke_sync(
            make_spec("app.remaining", timeout_s=2.0),
            b"{}",
            request_id="r",
            invoked_function_arn=ARN,
        )
    )
    assert 1700 < first <= 2000
    assert 200 <= first - later <= 600


def test_large_payload_round_trip(
    runtime: Runtime, make_spec: Callable[..., ExecutionSpec]
) -> None:
    event = {"blob": "z" * (3 * 1024 * 1024), "n": list(range(1000))}
    outcome = runtime.invoke_sync(
        make_spec("app.echo"), orjson.dumps(event), request_id="big", invoked_function_arn=ARN
    )
    assert body(outcome) == event


def test_handler_logging_uses_lambda_format(
    runtime: Runtime, make_spec: Callable[..., ExecutionSpec]
) -> None:
    outcome = runtime.invoke_sync(
        make_spec("app.logs"), b"{}", request_id="log-req", invoked_function_arn=ARN
    )
    assert outcome.payload == b"null"
    lines = outcome.log_tail.splitlines()
    warning = next(line for line in lines if line.startswith("[WARNING]"))
    level, stamp, request_id, message = warning.split("\t")
    assert level == "[WARNING]"
    assert stamp.endswith("Z") and "T" in stamp
    assert (request_id, message) == ("log-req", "careful")
    assert "to stderr" in lines


# --- function errors -----------------------------------------------------------------------


def test_exception_becomes_aws_error_and_worker_stays_warm(
    runtime: Runtime, make_spec: Callable[..., ExecutionSpec]
) -> None:
    spec = make_spec("app.fail")
    outcome = runtime.invoke_sync(spec, b'{"n": 7}', request_id="e-1", invoked_function_arn=ARN)

    assert outcome.function_error == "Unhandled" and outcome.error_type == "ValueError"
    error = body(outcome)
    assert error["errorMessage"] == "bad input: 7" and error["errorType"] == "ValueError"
    assert error["requestId"] == "e-1"
    assert len(error["stackTrace"]) == 2  # the handler and inner(); no runtime frames
    assert "in fail" in error["stackTrace"][0] and "in inner" in error["stackTrace"][1]
    assert (
        "[ERROR] ValueError: bad input: 7\nTraceback (most recent call last):" in outcome.log_tail
    )

    again = runtime.invoke_sync(spec, b'{"n": 8}', request_id="e-2", invoked_function_arn=ARN)
    assert not again.cold_start and body(again)["errorMessage"] == "bad input: 8"
    assert runtime.stats()["replaced"] == 0


def test_unserialisable_result_is_a_marshal_error(
    runtime: Runtime, make_spec: Callable[..., ExecutionSpec]
) -> None:
    outcome = runtime.invoke_sync(
        make_spec("app.unserialisable"), b"{}", request_id="m", invoked_function_arn=ARN
    )
    assert outcome.function_error == "Unhandled" and outcome.error_type == "Runtime.MarshalError"
    assert body(outcome)["errorMessage"] == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        (
            "broken.h",
            "Runtime.ImportModuleError",
            "Unable to import module 'broken': No module named 'not_a_module_anywhere'",
        ),
        ("app.missing", "Runtime.HandlerNotFound", "Handler 'missing' missing on module 'app'"),
        (
            "nodot",
            "Runtime.MalformedHandlerName",
            "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)",
        ),
        ("raising.h", "RuntimeError", "init failed"),
    ],
)
def test_init_errors_are_reported_like_aws(
    runtime: Runtime,
    make_spec: Callable[..., ExecutionSpec],
    handler: str,
    error_type: str,
    message: str,
) -> None:
    spec = make_spec(handler)
    outcome = runtime.invoke_sync(spec, b"{}", request_id="i-1", invoked_function_arn=ARN)
    assert outcome.function_error == "Unhandled" and outcome.error_type == error_type
    assert body(outcome)["errorMessage"] == message and body(outcome)["errorType"] == error_type
    assert outcome.cold_start
    assert f"[ERROR] {error_type}: {message}" in runtime.log_path("fn", "3").read_text()


# --- environment failures -------------------------------------------------------------------


def test_timeout_kills_the_worker_and_reports_sandbox_timedout(
    runtime: Runtime, make_spec: Callable[..., ExecutionSpec]
) -> None:
    spec = make_spec("app.sleepy", timeout_s=1.0)
    started = time.monotonic()
    outcome = runtime.invoke_sync(spec, b'{"s": 30}', request_id="t-1", invoked_function_arn=ARN)
    elapsed = time.monotonic() - started

    assert 1.0 <= elapsed < 3.0
    assert outcome.function_error == "Unhandled" and outcome.error_type == "Sandbox.Timedout"
    assert body(outcome) == {
        "errorMessage": "RequestId: t-1 Error: Task timed out after 1.00 seconds",
        "errorType": "Sandbox.Timedout",
    }
    assert outcome.duration_ms == 1000.0
    assert "t-1 Task timed out after 1.00 seconds\nEND RequestId: t-1\n" in outcome.log_tail
    assert "Status: timeout" in outcome.log_tail

    fresh = runtime.invoke_sync(spec, b'{"s": 0}', request_id="t-2", invoked_function_arn=ARN)
    assert fresh.cold_start and body(fresh)["slept"] == 0
    assert runtime.stats()["pools"][spec.pool_key]["replaced"] == 1


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        ("app.exit3", "Runtime exited with error: exit status 3"),
        ("app.segfault", "Runtime exited with error: signal: segmentation fault"),
        ("app.sys_exit", "Runtime exited without providing a reason"),
    ],
)
def test_crashes_are_exit_errors_and_the_worker_is_replaced(
    runtime: Runtime, make_spec: Callable[..., ExecutionSpec], handler: str, reason: str
) -> None:
    spec = make_spec(handler)
    outcome = runtime.invoke_sync(spec, b"{}", request_id="x-1", invoked_function_arn=ARN)
    assert outcome.function_error == "Unhandled" and outcome.error_type == "Runtime.ExitError"
    assert body(outcome) == {
        "errorMessage": f"RequestId: x-1 Error: {reason}",
        "errorType": "Runtime.ExitError",
    }
    assert (
        f"RequestId: x-1 Error: {reason}\nRuntime.ExitError\nEND RequestId: x-1" in outcome.log_tail
    )
    if handler == "app.exit3":
        assert "about to exit" in outcome.log_tail
    second = runtime.invoke_sync(spec, b"{}", request_id="x-2", invoked_function_arn=ARN)
    assert second.cold_start
    assert runtime.stats()["pools"][spec.pool_key]["replaced"] == 2


def test_exceeding_memory_size_is_out_of_memory(
    runtime: Runtime, make_spec: Callable[..., ExecutionSpec]
) -> None:
    spec = make_spec("app.hog", memory_mb=128)
    outcome = runtime.invoke_sync(spec, b'{"mb": 400}', request_id="o-1", invoked_function_arn=ARN)
    assert outcome.function_error == "Unhandled" and outcome.error_type == "Runtime.OutOfMemory"
    assert body(outcome) == {
        "errorMessage": "RequestId: o-1 Error: Runtime exited with error: signal: killed",
        "errorType": "Runtime.OutOfMemory",
    }
    assert outcome.duration_ms < 1000  # killed during the allocation, not after the sleep
    fine = runtime.invoke_sync(spec, b'{"mb": 10}', request_id="o-2", invoked_function_arn=ARN)
    assert fine.cold_start and body(fine) == 10 * 1024 * 1024


def test_megabytes_of_output_neither_block_nor_bloat(
    tmp_path: Path, make_spec: Callable[..., ExecutionSpec]
) -> None:
    runtime = Runtime(tmp_path / "logs")
    spec = make_spec("app.chatty")

    async def scenario() -> tuple[InvocationOutcome, float]:
        gaps: list[float] = []
        stop = False

        async def ticker() -> None:
            last = time.monotonic()
            while not stop:
                await asyncio.sleep(0.005)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        task = asyncio.create_task(ticker())
        outcome = await invoke(runtime, spec, {"lines": 60_000}, rid="chatty")
        stop = True
        await task
        await runtime.close()
        return outcome, max(gaps)

    outcome, worst_gap = run(scenario)
    assert outcome.payload == b'"done"'
    assert len(outcome.log_tail.encode()) <= 4096
    assert outcome.log_tail.split("\n")[-4:-2] == ["last line", "END RequestId: chatty"]
    assert worst_gap < 0.25  # the loop kept running while 6 MB of output was drained
    log = runtime.log_path("fn", "3").read_text()
    assert log.count("y" * 99 + "\n") == 60_000
    assert (
        log.index("START RequestId: chatty")
        < log.index("last line")
        < log.index("END RequestId: chatty")
    )


# --- pools, concurrency, lifecycle ----------------------------------------------------------


def test_concurrent_invokes_spawn_workers_and_idle_pool_is_trimmed(
    tmp_path: Path, make_spec: Callable[..., ExecutionSpec]
) -> None:
    rt = Runtime(tmp_path / "logs", max_idle_per_pool=1)
    spec = make_spec("app.sleepy")

    async def scenario() -> tuple[list[InvocationOutcome], dict[str, Any]]:
        outcomes = await asyncio.gather(
            *(invoke(rt, spec, {"s": 0.4}, rid=f"c{i}") for i in range(3))
        )
        stats = rt.stats()
        await rt.close()
        return list(outcomes), stats

    outcomes, stats = run(scenario)
    assert all(o.cold_start for o in outcomes)
    assert len({body(o)["pid"] for o in outcomes}) == 3
    assert stats["pools"][spec.pool_key]["cold_starts"] == 3
    assert stats["pools"][spec.pool_key]["idle"] == 1 and stats["workers"] == 1
    assert stats["replaced"] == 0


def test_idle_workers_expire_after_ttl(
    tmp_path: Path, make_spec: Callable[..., ExecutionSpec]
) -> None:
    rt = Runtime(tmp_path / "logs", idle_ttl_s=0.2)
    spec = make_spec("app.state")

    async def scenario() -> tuple[int, int, int]:
        pid = body(await invoke(rt, spec))["pid"]
        before = rt.stats()["workers"]
        await asyncio.sleep(0.8)
        after = rt.stats()["workers"]
        await rt.close()
        return pid, before, after

    pid, before, after = run(scenario)
    assert (before, after) == (1, 0)
    assert not alive(pid)


def test_reserved_concurrency_is_shared_by_all_versions(
    tmp_path: Path, make_spec: Callable[..., ExecutionSpec]
) -> None:
    rt = Runtime(tmp_path / "logs")
    stable, canary = make_spec("app.sleepy", version="1"), make_spec("app.sleepy", version="2")

    async def scenario() -> tuple[list[Any], Any, dict[str, Any]]:
        results = await asyncio.gather(
            invoke(rt, stable, {"s": 0.3}, rid="a", reserved_concurrency=1),
            invoke(rt, canary, {"s": 0.3}, rid="b", reserved_concurrency=1),
            return_exceptions=True,
        )
        zero = await asyncio.gather(
            invoke(rt, stable, rid="z", reserved_concurrency=0), return_exceptions=True
        )
        stats = rt.stats()
        await rt.close()
        return list(results), zero[0], stats

    results, zero, stats = run(scenario)
    assert isinstance(results[0], InvocationOutcome) and results[0].function_error is None
    error = results[1]
    assert isinstance(error, AwsApiError)
    assert (error.code, error.message, error.status) == (
        "TooManyRequestsException",
        "Rate Exceeded.",
        429,
    )
    assert error.fields == {
        "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        "Type": "User",
    }
    assert isinstance(zero, AwsApiError)
    assert zero.fields["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert stats["throttles"] == 2 and stats["in_flight"] == 0


def test_account_concurrency_limit(tmp_path: Path, make_spec: Callable[..., ExecutionSpec]) -> None:
    rt = Runtime(tmp_path / "logs", account_concurrency=1)
    other = make_spec("app.sleepy", function_name="other", pool_key="other")

    async def scenario() -> list[Any]:
        results = await asyncio.gather(
            invoke(rt, make_spec("app.sleepy"), {"s": 0.3}, rid="a"),
            invoke(rt, other, {"s": 0.3}, rid="b"),
            return_exceptions=True,
        )
        await rt.close()
        return list(results)

    results = run(scenario)
    assert isinstance(results[0], InvocationOutcome)
    assert isinstance(results[1], AwsApiError)
    assert results[1].fields["Reason"] == "ConcurrentInvocationLimitExceeded"


def test_close_leaves_no_child_processes(
    tmp_path: Path, make_spec: Callable[..., ExecutionSpec]
) -> None:
    rt = Runtime(tmp_path / "logs")

    async def scenario() -> list[int]:
        busy = asyncio.create_task(invoke(rt, make_spec("app.sleepy"), {"s": 30}, rid="busy"))
        idle = await asyncio.gather(
            *(invoke(rt, make_spec("app.state", version=str(v))) for v in range(3))
        )
        await asyncio.sleep(0.3)
        await rt.close()
        outcome = await busy
        assert outcome.error_type == "Runtime.ExitError"
        return [body(o)["pid"] for o in idle]

    pids = run(scenario)
    assert not any(alive(pid) for pid in pids)
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
    described = [
        Path(f"/proc/{c}/cmdline").read_bytes() + Path(f"/proc/{c}/stat").read_bytes()
        for c in children
    ]
    assert described == []
