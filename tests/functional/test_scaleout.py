"""Lambda's scale-out through a real ``apicanary serve``: a version gets an execution
environment per concurrent invocation, up to ``--max-environments`` (then 429), and idle
environments are stopped after ``--idle-timeout``.

The project (``projects/scaleout``) has one function behind an API whose integration timeout
is 1 s; ``/wait?ms=N`` sleeps like a handler waiting on a downstream call.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx
import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from click.testing import CliRunner

from apicanary.cli.main import cli
from tests.support.local import ServerProcess, aws_client, running_server

PROJECT = Path(__file__).parent / "projects" / "scaleout" / "template.yaml"


def get(server: ServerProcess, path: str) -> httpx.Response:
    return httpx.get(f"{server.gateway_url}/prod{path}", timeout=30)


def runtime_stats(server: ServerProcess) -> dict[str, Any]:
    view = httpx.get(f"{server.control_url}/_apicanary/view", timeout=30).json()
    stats: dict[str, Any] = view["runtime"]
    return stats


def concurrently(server: ServerProcess, paths: list[str]) -> list[httpx.Response]:
    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(lambda path: get(server, path), paths))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("scaleout") / "state", PROJECT) as running:
        yield running


def test_concurrent_waiting_invocations_each_get_an_environment(server: ServerProcess) -> None:
    """The issue's first report: a handler waiting 100 ms, 32 clients, 2 workers, 1.5 s
    latency. Eight concurrent 500 ms waits now run side by side in eight environments (the
    previous fixed pool of two queued them past the 1 s integration timeout)."""
    # one call teaches the version's CPU share (a handler that waits: near 0)
    assert get(server, "/wait?ms=50").status_code == 200
    before = runtime_stats(server)["cold_starts"]
    answers = concurrently(server, ["/wait?ms=500"] * 8)
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.json()["pid"] for a in answers}) == 8
    stats = runtime_stats(server)
    assert stats["environments"] >= 8
    assert stats["cold_starts"] - before >= 7  # the warm one was reused, the others started
    (pool,) = (p for p in stats["pools"].values() if p["function"] == "Fn")
    assert pool["cpu_share"] is not None and pool["cpu_share"] < 0.1  # measured: it waits
    cloudwatch = aws_client(server, "cloudwatch")
    deadline, peak = time.monotonic() + 20, 0.0
    while peak < 8 and time.monotonic() < deadline:  # housekeeping puts it within 0.25 s
        answer = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="ConcurrentExecutions",
            Dimensions=[{"Name": "FunctionName", "Value": "Fn"}],
            StartTime=time.time() - 300,
            EndTime=time.time() + 60,
            Period=60,
            Statistics=["Maximum"],
        )
        peak = max((p["Maximum"] for p in answer["Datapoints"]), default=0.0)
        time.sleep(0.1)
    assert peak >= 8
    metrics = httpx.get(f"{server.control_url}/metrics", timeout=30).text
    (line,) = (m for m in metrics.splitlines() if m.startswith("apicanary_runtime_environments "))
    assert float(line.split()[1]) >= 8


def test_a_slow_route_does_not_make_other_routes_time_out(server: ServerProcess) -> None:
    """The issue's second report: with one route waiting, the other routes of the same
    version answered 504. Six clients keep /wait (600 ms) busy while two clients call /fast:
    every /fast answer is a 200."""
    deadline = time.monotonic() + 3.0

    def loop(path: str) -> list[int]:
        codes = []
        while time.monotonic() < deadline:
            codes.append(get(server, path).status_code)
        return codes

    with ThreadPoolExecutor(8) as pool:
        slow = [pool.submit(loop, "/wait?ms=600") for _ in range(6)]
        fast = [pool.submit(loop, "/fast") for _ in range(2)]
        fast_codes = [code for future in fast for code in future.result()]
        slow_codes = [code for future in slow for code in future.result()]
    assert len(fast_codes) >= 10
    assert set(fast_codes) == {200}
    assert slow_codes.count(200) >= len(slow_codes) // 2  # a cold start may push one past 1 s


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("capped") / "state"
    with running_server(state, PROJECT, extra_args=("--max-environments", "3")) as running:
        yield running


def test_invocations_beyond_max_environments_are_throttled(capped: ServerProcess) -> None:
    """Through Lambda's Invoke: 429 TooManyRequestsException; through the gateway, API
    Gateway's 500 for a throttled Lambda integration (as before this change)."""
    assert get(capped, "/wait?ms=50").status_code == 200
    lam = boto3.client(
        "lambda",
        endpoint_url=capped.control_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30),
    )
    event = orjson.dumps({"path": "/wait", "queryStringParameters": {"ms": "800"}})

    def invoke(_: int) -> str:
        try:
            lam.invoke(FunctionName="Fn:live", Payload=event)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "ok"

    with ThreadPoolExecutor(5) as pool:
        outcomes = sorted(pool.map(invoke, range(5)))
    assert outcomes == ["TooManyRequestsException"] * 2 + ["ok"] * 3

    answers = concurrently(capped, ["/wait?ms=800"] * 5)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 500, 500]
    stats = runtime_stats(capped)
    assert stats["max_environments"] == 3 and stats["environments"] <= 3
    assert stats["throttles"] >= 4


@pytest.fixture(scope="module")
def reaping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("reaping") / "state"
    with running_server(state, PROJECT, extra_args=("--idle-timeout", "1")) as running:
        yield running


def test_idle_environments_are_reaped_and_the_next_invocation_is_a_cold_start(
    reaping: ServerProcess,
) -> None:
    answers = concurrently(reaping, ["/wait?ms=300"] * 2)
    pids = {a.json()["pid"] for a in answers}
    deadline = time.monotonic() + 20
    while runtime_stats(reaping)["environments"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert runtime_stats(reaping)["environments"] == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)

    lam = aws_client(reaping, "lambda")
    answer = lam.invoke(
        FunctionName="Fn:live", Payload=orjson.dumps({"path": "/fast"}), LogType="Tail"
    )
    tail = base64.b64decode(answer["LogResult"]).decode()
    assert "Init Duration:" in tail and "REPORT RequestId:" in tail


@pytest.mark.parametrize(
    ("flag", "value", "named"),
    [
        ("--max-environments", "0", "0 is not in the range 1<=x<=1000"),
        ("--max-environments", "1001", "1001 is not in the range 1<=x<=1000"),
        ("--idle-timeout", "0", "0 is not in the range x>0"),
    ],
)
def test_bad_limits_are_refused_naming_the_flag(
    tmp_path: Path, flag: str, value: str, named: str
) -> None:
    result = CliRunner().invoke(cli, ["serve", "--state-dir", str(tmp_path), flag, value])
    assert result.exit_code == 2
    assert flag in result.output and named in result.output
