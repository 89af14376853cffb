"""Bad input on the CloudWatch Logs endpoint: random operations and bodies, never a 5xx.

One ``apicanary serve`` is fuzzed through ``POST /`` with ``X-Amz-Target:
Logs_20140328.<Op>``: the served operations (and unknown ones) with any subset of their
members holding plausible or random JSON, and raw bodies that are not JSON objects. For every
request: no 5xx, and every 4xx names an AWS error code (``__type``), so boto3 raises a typed
``ClientError``. A StartLiveTail that is accepted must answer an event stream. Afterwards the
group written before the fuzz still reads the same, and CloudWatch's own ``POST /`` works.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.test_fuzz_control import FUZZ, check, drain_stderr, fields, json_values
from tests.support.local import ServerProcess, aws_client, running_server

OPERATIONS = [
    "CreateLogGroup", "DeleteLogGroup", "DescribeLogGroups", "PutRetentionPolicy",
    "DeleteRetentionPolicy", "CreateLogStream", "DescribeLogStreams", "PutLogEvents",
    "GetLogEvents", "FilterLogEvents", "StartLiveTail",
]  # fmt: skip
KNOWN = "fuzz/known"
ARN = f"arn:aws:logs:us-east-1:123456789012:log-group:{KNOWN}"


@dataclass
class Target:
    server: ServerProcess
    http: httpx.Client
    before: list[dict[str, Any]]

    def __repr__(self) -> str:
        return f"Target({self.server.control_url})"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("fuzz-logs")
    with (
        running_server(
            root / "state", None, extra_env={"APICANARY_LIVE_TAIL_LIMIT_S": "1"}
        ) as server,
        httpx.Client(base_url=server.control_url, timeout=20) as http,
    ):
        drain_stderr(server)
        logs = aws_client(server, "logs")
        logs.create_log_group(logGroupName=KNOWN)
        logs.create_log_stream(logGroupName=KNOWN, logStreamName="s")
        logs.put_log_events(
            logGroupName=KNOWN,
            logStreamName="s",
            logEvents=[{"timestamp": 1_700_000_000_000 + i, "message": f"m{i}"} for i in range(3)],
        )
        before = logs.get_log_events(logGroupName=KNOWN, logStreamName="s", startFromHead=True)
        yield Target(server, http, before["events"])


def _send(target: Target, operation: str, content: bytes) -> None:
    headers = {
        "X-Amz-Target": f"Logs_20140328.{operation}",
        "Content-Type": "application/x-amz-json-1.1",
    }
    with target.http.stream("POST", "/", content=content, headers=headers) as response:
        if response.headers.get("content-type") == "application/vnd.amazon.eventstream":
            assert response.status_code == 200 and operation == "StartLiveTail"
            return  # closing the stream ends the session
        response.read()
        check(response)


names = st.sampled_from([KNOWN, ARN, f"{ARN}:*", "fuzz/other", "", "a" * 600]) | st.text(
    max_size=20
)
timestamps = st.integers(min_value=-(2**40), max_value=2**45) | json_values
members = {
    "logGroupName": names,
    "logGroupIdentifier": names,
    "logGroupIdentifiers": st.lists(names, max_size=12),
    "logGroupNamePrefix": names,
    "logGroupNamePattern": names,
    "logStreamName": st.sampled_from(["s", "t", "", "x:y", "*"]) | st.text(max_size=10),
    "logStreamNames": st.lists(st.text(max_size=6), max_size=3),
    "logStreamNamePrefix": st.text(max_size=6),
    "logStreamNamePrefixes": st.lists(st.text(max_size=6), max_size=3),
    "logEvents": st.lists(
        st.fixed_dictionaries(
            {}, optional={"timestamp": timestamps, "message": st.text(max_size=20)}
        ),
        max_size=4,
    ),
    "filterPattern": st.sampled_from(["ERROR", "{ $.a = 1 }", "{ $.a > x }", '"', "[a]", ""])
    | st.text(max_size=30),
    "logEventFilterPattern": st.text(max_size=30),
    "startTime": timestamps,
    "endTime": timestamps,
    "nextToken": st.sampled_from(["f/" + "0" * 56, "b/1", "x", "MQ=="]) | st.text(max_size=12),
    "limit": st.integers(-2, 20_000) | json_values,
    "startFromHead": st.booleans() | json_values,
    "orderBy": st.sampled_from(["LogStreamName", "LastEventTime", "x"]),
    "descending": st.booleans(),
    "retentionInDays": st.sampled_from([1, 2, 7, 3653, 0, -1]) | json_values,
}


@FUZZ
@given(operation=st.sampled_from([*OPERATIONS, "Nope", ""]), body=fields(members))
def test_operations(target: Target, operation: str, body: dict[str, Any]) -> None:
    writes = ("DeleteLogGroup", "CreateLogStream", "PutLogEvents", "PutRetentionPolicy")
    if operation in writes and body.get("logGroupName") == KNOWN:
        body["logGroupName"] = "fuzz/other"  # leave the known group as it was
    _send(target, operation, json.dumps(body).encode())


@FUZZ
@given(
    operation=st.sampled_from(OPERATIONS),
    raw=st.binary(max_size=100) | st.sampled_from([b"{", b"[]", b'"x"', b"null", b"{}}"]),
)
def test_raw_bodies(target: Target, operation: str, raw: bytes) -> None:
    _send(target, operation, raw)


def test_known_group_unchanged_and_cloudwatch_still_answers(target: Target) -> None:
    logs = aws_client(target.server, "logs")
    after = logs.get_log_events(logGroupName=KNOWN, logStreamName="s", startFromHead=True)
    assert after["events"] == target.before
    metrics = aws_client(target.server, "cloudwatch").list_metrics(Namespace="none")
    assert metrics["Metrics"] == []
    answer = target.http.post(
        "/", content=b"{}", headers={"X-Amz-Target": "Logs_20140328.DescribeLogGroups"}
    )
    assert KNOWN in [g["logGroupName"] for g in orjson.loads(answer.content)["logGroups"]]
