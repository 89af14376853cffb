"""CloudWatch Logs on a real ``apicanary serve``: boto3's ``logs`` client and the AWS CLI.

One server (``--logs-delay 1s``, Live Tail sessions cut to 8 s) runs a SAM project with a
JSON-format function (``LoggingConfig`` from ``Globals``), a Text-format one, and a REST stage
with an ``AccessLogSetting`` and a 50 % stage canary. The tests read what the runtime and the
gateway wrote: one stream per worker process named as on AWS, Lambda's Text and JSON lines,
access-log lines in ``<group>`` and ``<group>/Canary``, through DescribeLogGroups/Streams,
GetLogEvents, FilterLogEvents (both pattern forms) and StartLiveTail's event stream.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from tests.support.awscli import aws_cli
from tests.support.lambda_zips import handler_zip
from tests.support.local import ServerProcess, aws_client, running_server

DELAY_MS = 1000
ACCESS_GROUP = "api-access"
ACCESS_ARN = f"arn:aws:logs:us-east-1:123456789012:log-group:{ACCESS_GROUP}"
ACCESS_FORMAT = (
    '{"requestId":"$context.requestId","status":"$context.status",'
    '"integrationStatus":"$context.integration.status","latency":"$context.responseLatency",'
    '"integrationLatency":"$context.integrationLatency","ip":"$context.identity.sourceIp",'
    '"canary":"$context.isCanaryRequest","waf":"$context.wafResponseCode",'
    '"error":"$context.error.message"}'
)
TEMPLATE = f"""\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    LoggingConfig:
      LogFormat: JSON
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      Name: logs-api
      StageName: prod
      AccessLogSetting:
        DestinationArn: {ACCESS_ARN}
        Format: '{ACCESS_FORMAT}'
  JsonFn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: JsonFn
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      AutoPublishAlias: live
      Events:
        Any:
          Type: Api
          Properties: {{Path: /json, Method: get, RestApiId: !Ref Api}}
  TextFn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: TextFn
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      AutoPublishAlias: live
      LoggingConfig:
        LogFormat: Text
      Events:
        Any:
          Type: Api
          Properties: {{Path: /text, Method: get, RestApiId: !Ref Api}}
"""
HANDLER = """\
import json
import logging
import time

logging.getLogger().setLevel(logging.INFO)


def handler(event, context):
    query = event.get("queryStringParameters") or {}
    logging.info("serving %s", event["path"])
    print("plain output")
    if query.get("sleep"):
        time.sleep(float(query["sleep"]))
    if query.get("fail"):
        raise ValueError("boom")
    body = {"stream": context.log_stream_name, "group": context.log_group_name,
            "requestId": context.aws_request_id}
    return {"statusCode": 200, "body": json.dumps(body)}
"""
STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[(\$LATEST|\d+)\][0-9a-f]{32}$")


@dataclass
class Engine:
    server: ServerProcess
    logs: Any
    http: httpx.Client


def _logs_client(server: ServerProcess) -> Any:
    return boto3.client(
        "logs",
        endpoint_url=server.control_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    root = tmp_path_factory.mktemp("logs")
    (root / "project" / "src").mkdir(parents=True)
    (root / "project" / "template.yaml").write_text(TEMPLATE)
    (root / "project" / "src" / "app.py").write_text(HANDLER)
    with (
        running_server(
            root / "state",
            root / "project" / "template.yaml",
            extra_args=["--logs-delay", "1s"],
            extra_env={"APICANARY_LIVE_TAIL_LIMIT_S": "8"},
        ) as server,
        httpx.Client(base_url=server.gateway_url, timeout=30) as http,
    ):
        yield Engine(server, _logs_client(server), http)


def _wait_for(read: Any, ready: Any, timeout: float = 20.0) -> Any:
    """Poll ``read()`` until ``ready(result)`` (log events arrive after the delay)."""
    deadline = time.monotonic() + timeout
    while True:
        result = read()
        if ready(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def _events_of(logs: Any, group: str, **params: Any) -> list[dict[str, Any]]:
    """Every event of ``group`` (none while the group does not exist: Lambda and API Gateway
    create it with its first line)."""
    found: list[dict[str, Any]] = []
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, **params)
    try:
        for page in pages:
            found.extend(page["events"])
    except logs.exceptions.ResourceNotFoundException:
        return []
    return found


def _request_events(logs: Any, group: str, request_id: str, count: int) -> list[dict[str, Any]]:
    return _wait_for(
        lambda: _events_of(logs, group, filterPattern=f'"{request_id}"'),
        lambda found: len(found) >= count,
    )


def test_lambda_json_format_one_stream_per_worker(engine: Engine) -> None:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: engine.http.get("/prod/json?sleep=1"), range(2)))
    bodies = [a.json() for a in answers]
    assert {b["group"] for b in bodies} == {"/aws/lambda/JsonFn"}
    assert bodies[0]["stream"] != bodies[1]["stream"]  # two workers ran them at once
    for body in bodies:
        assert STREAM_NAME.match(body["stream"]) and "/[1]" in body["stream"]
        found = _request_events(engine.logs, "/aws/lambda/JsonFn", body["requestId"], 3)
        assert {e["logStreamName"] for e in found} == {body["stream"]}
        docs = [orjson.loads(e["message"]) for e in found]
        kinds = [d.get("type") or d.get("level") for d in docs]
        assert kinds == ["platform.start", "INFO", "platform.report"]
        assert docs[0]["record"] == {"requestId": body["requestId"], "version": "1"}
        report = docs[2]["record"]
        assert report["status"] == "success" and report["metrics"]["durationMs"] >= 1000
        assert docs[1]["message"] == "serving /json"
    streams = engine.logs.describe_log_streams(logGroupName="/aws/lambda/JsonFn")["logStreams"]
    names = {s["logStreamName"] for s in streams}
    assert {b["stream"] for b in bodies} <= names
    assert all(s["arn"].endswith(f":log-stream:{s['logStreamName']}") for s in streams)


def test_json_errors_and_the_json_filter_pattern(engine: Engine) -> None:
    assert engine.http.get("/prod/json?fail=1").status_code == 502
    pattern = '{ $.type = "platform.report" && $.record.status = "error" }'
    reports = _wait_for(
        lambda: _events_of(engine.logs, "/aws/lambda/JsonFn", filterPattern=pattern),
        lambda found: len(found) >= 1,
    )
    assert len(reports) == 1
    record = orjson.loads(reports[0]["message"])["record"]
    assert record["errorType"] == "ValueError"
    errors = _events_of(engine.logs, "/aws/lambda/JsonFn", filterPattern='{ $.level = "ERROR" }')
    error = orjson.loads(errors[-1]["message"])
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "boom")
    assert error["requestId"] == record["requestId"]


def test_text_format_lines_and_term_patterns(engine: Engine) -> None:
    body = engine.http.get("/prod/text").json()
    assert STREAM_NAME.match(body["stream"])
    found = _request_events(engine.logs, "/aws/lambda/TextFn", body["requestId"], 4)
    messages = [e["message"] for e in found]
    assert messages[0] == f"START RequestId: {body['requestId']} Version: 1\n"
    assert messages[-2] == f"END RequestId: {body['requestId']}\n"
    report = messages[-1]
    assert report.startswith(f"REPORT RequestId: {body['requestId']}\tDuration: ")
    for field in ("Billed Duration: ", "Memory Size: 128 MB", "Max Memory Used: "):
        assert field in report
    only_reports = _events_of(
        engine.logs, "/aws/lambda/TextFn", filterPattern=f'REPORT "{body["requestId"]}"'
    )
    assert [e["message"] for e in only_reports] == [report]
    cold = _events_of(engine.logs, "/aws/lambda/TextFn", filterPattern='REPORT "Init Duration"')
    warm = _events_of(engine.logs, "/aws/lambda/TextFn", filterPattern='REPORT -"Init Duration"')
    assert len(cold) >= 1 and all("Init Duration" not in e["message"] for e in warm)


def test_logs_delay_is_the_ingestion_time(engine: Engine) -> None:
    body = engine.http.get("/prod/text").json()
    found = _request_events(engine.logs, "/aws/lambda/TextFn", body["requestId"], 4)
    read_at = time.time() * 1000
    for event in found:
        assert event["ingestionTime"] - event["timestamp"] == DELAY_MS
        assert event["ingestionTime"] <= read_at  # nothing is shown before its ingestion
    assert len({e["eventId"] for e in found}) == len(found)


def test_get_log_events_pages_and_ends_with_the_same_token(engine: Engine) -> None:
    engine.logs.create_log_group(logGroupName="app/manual")
    engine.logs.create_log_stream(logGroupName="app/manual", logStreamName="s1")
    now = int(time.time() * 1000)
    put = engine.logs.put_log_events(
        logGroupName="app/manual",
        logStreamName="s1",
        logEvents=[{"timestamp": now + i, "message": f"line {i}"} for i in range(5)],
    )
    assert "rejectedLogEventsInfo" not in put
    args = {"logGroupName": "app/manual", "logStreamName": "s1", "startFromHead": True}
    first = _wait_for(
        lambda: engine.logs.get_log_events(**args, limit=3), lambda r: len(r["events"]) == 3
    )
    assert [e["message"] for e in first["events"]] == ["line 0", "line 1", "line 2"]
    second = engine.logs.get_log_events(**args, nextToken=first["nextForwardToken"])
    assert [e["message"] for e in second["events"]] == ["line 3", "line 4"]
    end = engine.logs.get_log_events(**args, nextToken=second["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == second["nextForwardToken"]
    by_prefix = _events_of(engine.logs, "app/manual", logStreamNamePrefix="s")
    assert [e["message"] for e in by_prefix] == [f"line {i}" for i in range(5)]
    assert _events_of(engine.logs, "app/manual", logStreamNames=["other"]) == []
    with pytest.raises(ClientError) as both:
        engine.logs.filter_log_events(
            logGroupName="app/manual", logStreamNames=["s1"], logStreamNamePrefix="s"
        )
    assert both.value.response["Error"]["Code"] == "InvalidParameterException"
    engine.logs.put_retention_policy(logGroupName="app/manual", retentionInDays=7)
    with pytest.raises(ClientError, match="retentionInDays 2 is not one of"):
        engine.logs.put_retention_policy(logGroupName="app/manual", retentionInDays=2)
    groups = engine.logs.describe_log_groups(logGroupNamePrefix="app/m")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["app/manual"]
    assert groups[0]["retentionInDays"] == 7
    assert groups[0]["arn"].endswith("log-group:app/manual:*")
    assert groups[0]["logGroupArn"].endswith("log-group:app/manual")


def test_aws_errors(engine: Engine) -> None:
    logs = engine.logs
    with pytest.raises(ClientError) as missing:
        logs.filter_log_events(logGroupName="no/such/group")
    assert missing.value.response["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": "The specified log group does not exist.",
    }
    logs.create_log_group(logGroupName="app/errors")
    with pytest.raises(ClientError) as exists:
        logs.create_log_group(logGroupName="app/errors")
    assert exists.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as no_stream:
        logs.put_log_events(
            logGroupName="app/errors",
            logStreamName="s",
            logEvents=[{"timestamp": 1, "message": "x"}],
        )
    assert (
        no_stream.value.response["Error"]["Message"] == "The specified log stream does not exist."
    )
    with pytest.raises(ClientError) as pattern:
        logs.filter_log_events(logGroupName="app/errors", filterPattern="{ $.a > x }")
    assert pattern.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "needs a number" in pattern.value.response["Error"]["Message"]
    logs.create_log_stream(logGroupName="app/errors", logStreamName="s")
    now = int(time.time() * 1000)
    with pytest.raises(ClientError, match="chronological order"):
        logs.put_log_events(
            logGroupName="app/errors",
            logStreamName="s",
            logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}],
        )


def test_a_body_that_is_not_a_json_object_is_a_serialization_error(engine: Engine) -> None:
    headers = {
        "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
        "Content-Type": "application/x-amz-json-1.1",
    }
    for body, message in ((b"[1]", "must be a JSON object"), (b"{not json", "Malformed")):
        answer = httpx.post(engine.server.control_url + "/", content=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["__type"] == "SerializationException"
        assert message in answer.json()["message"]
    empty = httpx.post(engine.server.control_url + "/", content=b"", headers=headers)
    assert empty.status_code == 200 and "logGroups" in empty.json()


def test_live_tail_pushes_new_events_each_second(engine: Engine) -> None:
    arn = engine.logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/JsonFn")["logGroups"][0][
        "logGroupArn"
    ]
    answer = engine.logs.start_live_tail(
        logGroupIdentifiers=[arn], logEventFilterPattern='{ $.type = "platform.report" }'
    )
    stream = answer["responseStream"]
    seen: list[dict[str, Any]] = []
    sent: list[str] = []
    try:
        for event in stream:
            if "sessionStart" in event:
                start = event["sessionStart"]
                assert start["logGroupIdentifiers"] == [arn]
                assert start["logEventFilterPattern"] == '{ $.type = "platform.report" }'
                sent = [engine.http.get("/prod/json").json()["requestId"] for _ in range(3)]
                continue
            update = event["sessionUpdate"]
            assert update["sessionMetadata"]["sampled"] is False
            seen.extend(update["sessionResults"])
            if len(seen) >= 3:
                break
    finally:
        stream.close()
    ids = [orjson.loads(e["message"])["record"]["requestId"] for e in seen]
    assert ids == sent
    for result in seen:
        assert result["logGroupIdentifier"] == arn
        assert STREAM_NAME.match(result["logStreamName"])
        assert result["ingestionTime"] - result["timestamp"] == DELAY_MS


def test_live_tail_samples_above_500_events_and_times_out(engine: Engine) -> None:
    engine.logs.create_log_group(logGroupName="app/burst")
    engine.logs.create_log_stream(logGroupName="app/burst", logStreamName="s")
    answer = engine.logs.start_live_tail(logGroupIdentifiers=["app/burst"])
    stream = answer["responseStream"]
    updates: list[dict[str, Any]] = []
    with pytest.raises(EventStreamError) as ended:
        for event in stream:
            if "sessionStart" in event:
                now = int(time.time() * 1000)
                batch = [{"timestamp": now, "message": f"event {i}"} for i in range(1200)]
                engine.logs.put_log_events(
                    logGroupName="app/burst", logStreamName="s", logEvents=batch
                )
            else:
                updates.append(event["sessionUpdate"])
    assert ended.value.response["Error"]["Code"] == "SessionTimeoutException"
    full = [u for u in updates if u["sessionResults"]]
    assert len(full) == 1
    assert full[0]["sessionMetadata"]["sampled"] is True
    assert len(full[0]["sessionResults"]) == 500
    assert all(r["logGroupIdentifier"] == "app/burst" for r in full[0]["sessionResults"])


def test_live_tail_checks_its_input(engine: Engine) -> None:
    with pytest.raises(ClientError) as star:
        engine.logs.start_live_tail(
            logGroupIdentifiers=["arn:aws:logs:us-east-1:123456789012:log-group:api-access:*"]
        )
    assert star.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as missing:
        engine.logs.start_live_tail(logGroupIdentifiers=["no/such/group"])
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_access_log_lines_and_the_canary_group(engine: Engine) -> None:
    server = engine.server
    api_id = server.api_id("logs-api")
    apigw = aws_client(server, "apigateway")
    apigw.create_deployment(
        restApiId=api_id, stageName="prod", canarySettings={"percentTraffic": 50.0}
    )
    try:
        statuses = [engine.http.get("/prod/json").status_code for _ in range(20)]
        statuses.append(engine.http.get("/prod/json?fail=1").status_code)
    finally:
        apigw.update_stage(
            restApiId=api_id,
            stageName="prod",
            patchOperations=[{"op": "remove", "path": "/canarySettings"}],
        )
    assert statuses.count(200) == 20 and statuses[-1] == 502
    lines = _wait_for(
        lambda: [
            orjson.loads(e["message"])
            for group in (ACCESS_GROUP, f"{ACCESS_GROUP}/Canary")
            for e in _events_of(engine.logs, group)
        ],
        lambda found: sum(1 for line in found) >= 21,
    )
    main = [json.loads(e["message"]) for e in _events_of(engine.logs, ACCESS_GROUP)]
    canary = [json.loads(e["message"]) for e in _events_of(engine.logs, f"{ACCESS_GROUP}/Canary")]
    assert len(lines) >= 21 and main and canary
    assert {line["canary"] for line in main} == {"false"}
    assert {line["canary"] for line in canary} == {"true"}
    everything = main + canary
    for line in everything:
        assert line["ip"] == "127.0.0.1" and line["waf"] == "-"
        assert int(line["latency"]) >= int(line["integrationLatency"]) >= 0
    failed = [line for line in everything if line["status"] == "502"]
    assert failed and {line["integrationStatus"] for line in failed} == {"-"}
    assert {line["error"] for line in failed} == {"Internal server error"}
    ok = [line for line in everything if line["status"] == "200"]
    assert {line["integrationStatus"] for line in ok} == {"200"}
    assert {line["error"] for line in ok} == {"-"}


def test_update_stage_access_log_settings(engine: Engine) -> None:
    server = engine.server
    api_id = server.api_id("logs-api")
    apigw = aws_client(server, "apigateway")
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:clf-access"
    apigw.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
            {
                "op": "replace",
                "path": "/accessLogSettings/format",
                "value": "$context.requestId $context.httpMethod $context.resourcePath "
                "$context.status",
            },
        ],
    )
    request_id = engine.http.get("/prod/text").json()["requestId"]
    found = _wait_for(
        lambda: _events_of(engine.logs, "clf-access"),
        lambda found: len(found) >= 1,
    )
    assert [e["message"] for e in found] == [f"{request_id} GET /text 200"]


def test_logging_config_through_the_lambda_api(engine: Engine) -> None:
    lam = aws_client(engine.server, "lambda")
    created = lam.create_function(
        FunctionName="ApiJson",
        Runtime="python3.11",
        Role="arn:aws:iam::123456789012:role/x",
        Handler="app.handler",
        Code={"ZipFile": handler_zip("print('hi')\nreturn 1")},
        LoggingConfig={"LogFormat": "JSON", "LogGroup": "custom/api-json"},
    )
    assert created["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": "custom/api-json"}
    lam.get_waiter("function_active_v2").wait(FunctionName="ApiJson")
    lam.invoke(FunctionName="ApiJson")
    found = _wait_for(
        lambda: _events_of(engine.logs, "custom/api-json"),
        lambda found: len(found) >= 3,
    )
    assert orjson.loads(found[0]["message"])["type"] == "platform.start"
    assert found[1]["message"] == "hi\n"
    updated = lam.update_function_configuration(
        FunctionName="ApiJson",
        LoggingConfig={"LogFormat": "Text", "LogGroup": "/aws/lambda/ApiJson"},
    )
    assert updated["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/ApiJson"}
    lam.get_waiter("function_updated_v2").wait(FunctionName="ApiJson")
    assert lam.get_function_configuration(FunctionName="TextFn")["LoggingConfig"] == {
        "LogFormat": "Text",
        "LogGroup": "/aws/lambda/TextFn",
    }
    with pytest.raises(ClientError) as bad:
        lam.update_function_configuration(
            FunctionName="ApiJson",
            LoggingConfig={"LogFormat": "Text", "ApplicationLogLevel": "INFO"},
        )
    assert bad.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "only supported when LogFormat is JSON" in bad.value.response["Error"]["Message"]


def test_aws_cli_reads_the_logs(engine: Engine) -> None:
    body = engine.http.get("/prod/json").json()
    _request_events(engine.logs, "/aws/lambda/JsonFn", body["requestId"], 3)
    pattern = f'{{ $.record.requestId = "{body["requestId"]}" }}'
    url = engine.server.control_url
    done = aws_cli(
        "logs", url, "filter-log-events", "--log-group-name", "/aws/lambda/JsonFn",
        "--filter-pattern", pattern,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)["events"]
    assert [orjson.loads(e["message"])["type"] for e in events] == [
        "platform.start", "platform.report",
    ]  # fmt: skip
    assert {e["logStreamName"] for e in events} == {body["stream"]}
    got = aws_cli(
        "logs", url, "get-log-events", "--log-group-name", "/aws/lambda/JsonFn",
        "--log-stream-name", body["stream"], "--start-from-head",
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert any(body["requestId"] in e["message"] for e in json.loads(got.stdout)["events"])


def test_bad_logs_delay_exits_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "apicanary", "serve", "--logs-delay", "5 parsecs"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--logs-delay" in done.stderr and "5 parsecs" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "apicanary", "serve", "--logs-delay", "11m"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "the limit is 600 s" in done.stderr


def test_the_calls_aws_logs_tail_makes(engine: Engine) -> None:
    """AWS CLI v2's ``aws logs tail --follow`` (not installed here) pages FilterLogEvents
    with ``interleaved`` and ``startTime`` = 10 minutes ago, then polls again from the newest
    timestamp it saw, skipping the event ids it already printed at that timestamp."""
    params: dict[str, Any] = {
        "logGroupName": "/aws/lambda/TextFn",
        "interleaved": True,
        "startTime": int((time.time() - 600) * 1000),
    }
    first_id = engine.http.get("/prod/text").json()["requestId"]
    _request_events(engine.logs, "/aws/lambda/TextFn", first_id, 4)
    printed: list[dict[str, Any]] = []
    seen: set[str] = set()

    def poll() -> None:
        answer = engine.logs.filter_log_events(**params)
        while True:
            for event in answer["events"]:
                if event["eventId"] not in seen:
                    seen.add(event["eventId"])
                    printed.append(event)
            if "nextToken" not in answer:
                break
            answer = engine.logs.filter_log_events(**params, nextToken=answer["nextToken"])
        if printed:
            params["startTime"] = max(e["timestamp"] for e in printed)

    poll()
    assert any(first_id in e["message"] for e in printed)
    count = len(printed)
    poll()  # nothing new: the newest timestamp's events come back and are skipped
    assert len(printed) == count
    second_id = engine.http.get("/prod/text").json()["requestId"]
    _wait_for(lambda: poll() or printed, lambda _: any(second_id in e["message"] for e in printed))
    new = [e["message"] for e in printed[count:]]
    assert new[0] == f"START RequestId: {second_id} Version: 1\n"
    assert len(new) == len({e["eventId"] for e in printed[count:]}) == 5  # START … REPORT


def test_an_open_live_tail_ends_when_the_server_stops(tmp_path: Path) -> None:
    with running_server(tmp_path / "state") as server:
        logs = _logs_client(server)
        logs.create_log_group(logGroupName="g")
        stream = logs.start_live_tail(logGroupIdentifiers=["g"])["responseStream"]
        events = iter(stream)
        assert "sessionStart" in next(events)
        server.process.terminate()
        rest = list(events)  # ends normally (no ProtocolError from a connection cut)
        assert all("sessionUpdate" in event for event in rest)
        assert server.process.wait(timeout=30) == 0
