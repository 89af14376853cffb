"""Faults under concurrent load: every way a handler can fail, while healthy traffic flows.

The project (``projects/faults``) routes ``/prod/<fault>`` to one function version whose
handler raises, hangs past its timeout, exits, segfaults, blows its memory limit, returns
garbage, returns a 5 MB body or prints megabytes. Meanwhile steady clients keep calling a
healthy route of the *same* version (same worker pool), a healthy route of another function
and, through the Lambda API, another version of the faulty function. The engine must keep
answering them with 200s, map each fault to API Gateway's status (aws-semantics §2.7),
replace the broken workers (the same fault answers the same way the second time, and the
healthy route still answers afterwards), and count the failures in its metrics.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.local import ServerProcess, aws_client, running_server

PROJECT = Path(__file__).parent / "projects" / "faults" / "template.yaml"
INTERNAL = {"message": "Internal server error"}
TIMED_OUT = {"message": "Endpoint request timed out"}

FUNCTION_ERRORS = ("/raise", "/hang", "/exit", "/segfault", "/oom", "/garbage-unserializable")
"""Faults that are Lambda function errors (they count in ``AWS/Lambda Errors``)."""
MALFORMED = ("/garbage-shape", "/garbage-string", "/garbage-list", "/garbage-status")
"""The function succeeded but its value is not a proxy response: 502, not a Lambda error."""
EXPECTED: dict[str, tuple[int, Any]] = {
    **{path: (502, INTERNAL) for path in FUNCTION_ERRORS + MALFORMED},
    "/integration-timeout": (504, TIMED_OUT),
    "/throttled": (500, INTERNAL),
}
ROUNDS = 2
STEADY_CLIENTS = 3
HTTP_TIMEOUT = httpx.Timeout(40.0)


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The fault project served, plus a version 2 of ``Fn`` (a changed environment)."""
    state = tmp_path_factory.mktemp("faults") / "state"
    with running_server(state, PROJECT, seed=5) as server:
        lam = aws_client(server, "lambda")
        lam.update_function_configuration(
            FunctionName="Fn", Environment={"Variables": {"RELEASE": "2"}}
        )
        # as on AWS, PublishVersion fails while the update is InProgress: wait for it
        lam.get_waiter("function_updated_v2").wait(
            FunctionName="Fn", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )
        assert lam.publish_version(FunctionName="Fn")["Version"] == "2"
        yield server


@dataclass
class SteadyLoad:
    """Results of the steady clients: status (or exception name) per kind of call."""

    results: dict[str, Counter[str]] = field(default_factory=dict)
    slowest_s: float = 0.0

    def record(self, kind: str, outcome: str, elapsed: float) -> None:
        self.results.setdefault(kind, Counter())[outcome] += 1
        self.slowest_s = max(self.slowest_s, elapsed)


async def _steady_gateway(
    client: httpx.AsyncClient, path: str, load: SteadyLoad, stop: asyncio.Event
) -> None:
    for _ in range(100_000):  # bounded; stopped by ``stop`` long before
        if stop.is_set():
            return
        started = time.monotonic()
        try:
            response = await client.get(f"/prod{path}")
            ok = response.status_code == 200 and response.json().get("version") == "1"
            outcome = "200" if ok else f"{response.status_code} {response.text[:80]}"
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        load.record(path, outcome, time.monotonic() - started)


async def _steady_invoke(client: httpx.AsyncClient, load: SteadyLoad, stop: asyncio.Event) -> None:
    """Direct Invoke of ``Fn`` version 2: the other version of the faulty function."""
    for _ in range(100_000):
        if stop.is_set():
            return
        started = time.monotonic()
        try:
            response = await client.post(
                "/2015-03-31/functions/Fn/invocations",
                params={"Qualifier": "2"},
                json={"path": "/ok"},
            )
            ok = (
                response.status_code == 200
                and "X-Amz-Function-Error" not in response.headers
                and response.headers.get("X-Amz-Executed-Version") == "2"
                and response.json()["statusCode"] == 200
            )
            outcome = "200" if ok else f"{response.status_code} {response.text[:80]}"
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        load.record("invoke Fn:2", outcome, time.monotonic() - started)


async def _fault(client: httpx.AsyncClient, path: str) -> tuple[str, int, Any]:
    response = await client.get(f"/prod{path}")
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:200]
    return path, response.status_code, body


async def _faults_under_load(
    server: ServerProcess,
) -> tuple[list[list[tuple[str, int, Any]]], SteadyLoad]:
    load = SteadyLoad()
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=64)
    async with (
        httpx.AsyncClient(base_url=server.gateway_url, timeout=HTTP_TIMEOUT, limits=limits) as gw,
        httpx.AsyncClient(base_url=server.control_url, timeout=HTTP_TIMEOUT) as control,
    ):
        steady = [
            asyncio.create_task(_steady_gateway(gw, path, load, stop))
            for path in ("/ok", "/other")
            for _ in range(STEADY_CLIENTS)
        ]
        steady.append(asyncio.create_task(_steady_invoke(control, load, stop)))
        await asyncio.sleep(0.5)  # the steady clients warm up first
        rounds: list[list[tuple[str, int, Any]]] = []
        try:
            # round 1: every fault at once, on top of the steady load
            rounds.append(list(await asyncio.gather(*(_fault(gw, p) for p in EXPECTED))))
            # later rounds, one fault at a time: each must find a replaced, working worker
            for _ in range(ROUNDS - 1):
                rounds.append([await _fault(gw, path) for path in EXPECTED])
            rounds.append([await _fault(gw, path) for path in ("/huge", "/chatty")])
            await asyncio.sleep(0.5)  # steady traffic after the last fault
        finally:
            stop.set()
            await asyncio.gather(*steady)
    return rounds, load


def test_faults_are_mapped_and_contained_under_load(fault_server: ServerProcess) -> None:
    rounds, load = asyncio.run(_faults_under_load(fault_server))

    for number, answers in enumerate(rounds[:-1], start=1):
        for path, status, body in answers:
            assert (status, body) == EXPECTED[path], f"round {number}: {path} -> {status} {body}"
    for path, status, body in rounds[-1]:
        assert status == 200, f"{path} -> {status} {body}"

    for kind, outcomes in load.results.items():
        assert set(outcomes) == {"200"}, f"steady {kind}: {dict(outcomes)}"
        assert outcomes["200"] >= 5, f"steady {kind} barely ran: {dict(outcomes)}"
    assert set(load.results) == {"/ok", "/other", "invoke Fn:2"}


def test_large_bodies_and_log_floods_pass_through(fault_server: ServerProcess) -> None:
    """A 5 MB body arrives whole; megabytes of stdout/stderr neither block nor break a reply."""
    with httpx.Client(base_url=fault_server.gateway_url, timeout=HTTP_TIMEOUT) as client:
        huge = client.get("/prod/huge")
        assert huge.status_code == 200
        assert len(huge.content) == 5 << 20 and huge.content.strip(b"h") == b""
        for _ in range(3):
            chatty = client.get("/prod/chatty")
            assert (chatty.status_code, chatty.text) == (200, "chatty")
        assert client.get("/prod/ok").status_code == 200


def test_invoke_reports_crashes_as_function_errors(fault_server: ServerProcess) -> None:
    """Direct Invoke of each crash: 200 + ``X-Amz-Function-Error: Unhandled`` + AWS's type."""
    expected_types = {
        "/raise": "RuntimeError",
        "/hang": "Sandbox.Timedout",
        "/exit": "Runtime.ExitError",
        "/segfault": "Runtime.ExitError",
        "/oom": "Runtime.OutOfMemory",
        "/garbage-unserializable": "Runtime.MarshalError",
    }
    with httpx.Client(base_url=fault_server.control_url, timeout=HTTP_TIMEOUT) as client:
        for path, error_type in expected_types.items():
            for _ in range(2):  # the second call runs on a replacement worker
                response = client.post(
                    "/2015-03-31/functions/Fn/invocations",
                    params={"Qualifier": "live"},
                    json={"path": path},
                )
                assert response.status_code == 200, (path, response.text)
                assert response.headers.get("X-Amz-Function-Error") == "Unhandled", path
                assert response.json()["errorType"] == error_type, (path, response.text)
        throttled = client.post("/2015-03-31/functions/Throttled/invocations", json={})
        assert throttled.status_code == 429
        assert throttled.headers["x-amzn-ErrorType"] == "TooManyRequestsException"


def test_response_over_six_megabytes_is_a_function_error(fault_server: ServerProcess) -> None:
    """Lambda caps a synchronous response at 6 MB; API Gateway then answers 502."""
    with httpx.Client(timeout=HTTP_TIMEOUT) as client:
        through_gateway = client.get(f"{fault_server.gateway_url}/prod/too-huge")
        assert through_gateway.status_code == 502
        assert through_gateway.json() == INTERNAL
        invoked = client.post(
            f"{fault_server.control_url}/2015-03-31/functions/Fn/invocations",
            params={"Qualifier": "live"},
            json={"path": "/too-huge"},
        )
        assert invoked.headers.get("X-Amz-Function-Error") == "Unhandled"
        assert invoked.json()["errorType"] == "Function.ResponseSizeTooLarge"


def _metric_sum(
    cloudwatch: Any, namespace: str, metric: str, dimensions: dict[str, str], since: datetime
) -> float:
    answer = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=since - timedelta(minutes=2),
        EndTime=datetime.now(UTC) + timedelta(minutes=2),
        Period=60,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in answer["Datapoints"]))


def test_metrics_count_the_faults(tmp_path: Path) -> None:
    """``AWS/Lambda Errors``/``Throttles`` and ``AWS/ApiGateway 5XXError`` count each fault.

    Its own server, so the counts are exactly this test's requests.
    """
    since = datetime.now(UTC)
    with running_server(tmp_path / "state", PROJECT, seed=3) as server:
        statuses: Counter[int] = Counter()
        with httpx.Client(base_url=server.gateway_url, timeout=HTTP_TIMEOUT) as client:
            for path in EXPECTED:
                statuses[client.get(f"/prod{path}").status_code] += 1
            for _ in range(4):
                statuses[client.get("/prod/ok").status_code] += 1
        assert statuses == {502: 10, 504: 1, 500: 1, 200: 4}
        cloudwatch = aws_client(server, "cloudwatch")
        expected = {
            ("AWS/Lambda", "Errors", "FunctionName", "Fn"): float(len(FUNCTION_ERRORS)),
            ("AWS/Lambda", "Throttles", "FunctionName", "Throttled"): 1.0,
            ("AWS/ApiGateway", "5XXError", "ApiName", "faults-api"): 12.0,
        }
        observed: dict[tuple[str, str, str, str], float] = {}
        deadline = time.monotonic() + 15  # metrics are batched off the hot path
        while time.monotonic() < deadline:
            observed = {
                key: _metric_sum(cloudwatch, key[0], key[1], {key[2]: key[3]}, since)
                for key in expected
            }
            if observed == expected:
                break
            time.sleep(0.5)
        assert observed == expected
