"""Metrics and alarms end to end: real boto3 ``cloudwatch`` against a real ``apicanary serve``
with gateway traffic, Prometheus ``/metrics`` scraped over HTTP, and the ``metrics`` /
``alarms`` CLI commands run as subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.canary_project import set_handler_tag, write_project
from tests.support.local import ServerProcess, aws_client, running_server
from tests.support.servers import free_port

API = "canary-api"
GOOD, BAD = 30, 10
N = GOOD + BAD
BAD_HANDLER = "def handler(event, context):\n    raise RuntimeError('bad release')\n"


def _host(server: ServerProcess) -> dict[str, str]:
    return {"Host": f"{server.api_id(API)}.execute-api.localhost"}


def _stage_canary(server: ServerProcess, project: Path) -> str:
    """Publish a new version behind a `canary` alias and send 50 % of `prod` to it."""
    set_handler_tag(project, "v2")
    lam = aws_client(server, "lambda")
    version = str(lam.publish_version(FunctionName="Fn")["Version"])
    lam.create_alias(FunctionName="Fn", Name="canary", FunctionVersion=version)
    aws_client(server, "apigateway").create_deployment(
        restApiId=server.api_id(API),
        stageName="prod",
        canarySettings={
            "percentTraffic": 50.0,
            "stageVariableOverrides": {"lambdaAlias": "canary"},
        },
    )
    return version


def _sum(cw: Any, namespace: str, name: str, dims: dict[str, str], since: float) -> float:
    answer = cw.get_metric_statistics(
        Namespace=namespace,
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=since,
        EndTime=time.time() + 60,
        Period=60,
        Statistics=["Sum"],
    )
    return float(sum(d["Sum"] for d in answer["Datapoints"]))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apicanary", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


@dataclass
class Traffic:
    server: ServerProcess
    cw: Any
    since: float
    canary_version: str


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traffic]:
    """A server with a 50 % stage canary that has served exactly GOOD + BAD requests."""
    root = tmp_path_factory.mktemp("observe")
    template = write_project(root / "project")
    with running_server(root / "state", template, seed=5) as server:
        version = _stage_canary(server, root / "project")
        since = time.time() - 60
        with httpx.Client(base_url=server.gateway_url, headers=_host(server), timeout=10) as http:
            statuses = [http.get(f"/prod/{'raise' if i % 4 == 3 else 'hello'}").status_code
                        for i in range(N)]  # fmt: skip
        assert statuses.count(200) == GOOD and statuses.count(502) == BAD
        yield Traffic(server, aws_client(server, "cloudwatch"), since, version)


def test_gateway_and_lambda_metrics_count_every_request(traffic: Traffic) -> None:
    cw, since = traffic.cw, traffic.since
    stable = _sum(cw, "AWS/ApiGateway", "Count", {"ApiName": API, "Stage": "prod"}, since)
    canary = _sum(cw, "AWS/ApiGateway", "Count", {"ApiName": API, "Stage": "prod/Canary"}, since)
    assert stable + canary == N and stable > 0 and canary > 0
    assert _sum(cw, "AWS/ApiGateway", "Count", {"ApiName": API}, since) == N
    assert _sum(cw, "AWS/ApiGateway", "5XXError", {"ApiName": API}, since) == BAD
    assert _sum(cw, "AWS/ApiGateway", "4XXError", {"ApiName": API}, since) == 0
    assert _sum(cw, "AWS/Lambda", "Invocations", {"FunctionName": "Fn"}, since) == N
    assert _sum(cw, "AWS/Lambda", "Errors", {"FunctionName": "Fn"}, since) == BAD
    by_alias = {
        alias: _sum(
            cw,
            "AWS/Lambda",
            "Invocations",
            {"FunctionName": "Fn", "Resource": f"Fn:{alias}"},
            since,
        )
        for alias in ("live", "canary")
    }
    assert by_alias == {"live": stable, "canary": canary}
    executed = {"FunctionName": "Fn", "Resource": "Fn:canary", "ExecutedVersion": "2"}
    assert _sum(cw, "AWS/Lambda", "Invocations", executed, since) == canary

    listed = cw.list_metrics(Namespace="AWS/ApiGateway", MetricName="Count")["Metrics"]
    stages = {d["Value"] for m in listed for d in m["Dimensions"] if d["Name"] == "Stage"}
    assert stages == {"prod", "prod/Canary"}

    # metric math: the error rate per hourly period, in percent, with its inputs returned too
    stat = {"Period": 3600, "Stat": "Sum"}
    fn = [{"Name": "FunctionName", "Value": "Fn"}]
    data = cw.get_metric_data(
        MetricDataQueries=[
            {"Id": "e", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda",
             "MetricName": "Errors", "Dimensions": fn}, **stat}},
            {"Id": "i", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda",
             "MetricName": "Invocations", "Dimensions": fn}, **stat}},
            {"Id": "rate", "Expression": "100 * e / i"},
        ],
        StartTime=since - 3600,
        EndTime=time.time() + 3600,
    )  # fmt: skip
    series = {
        r["Id"]: dict(zip(r["Timestamps"], r["Values"], strict=True))
        for r in data["MetricDataResults"]
    }
    assert sum(series["e"].values()) == BAD and sum(series["i"].values()) == N
    for ts, rate in series["rate"].items():
        assert rate == pytest.approx(100 * series["e"][ts] / series["i"][ts])


def test_prometheus_scrape_shows_the_same_counts(traffic: Traffic) -> None:
    response = httpx.get(f"{traffic.server.control_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}

    def total(family: str, suffix: str = "_total", **labels: str) -> float:
        return sum(
            s.value
            for s in families[family].samples
            if s.name == family + suffix and all(s.labels.get(k) == v for k, v in labels.items())
        )

    assert total("apicanary_gateway_requests", api=API) == N
    canary = total("apicanary_gateway_requests", api=API, canary="true")
    since = traffic.since
    dims = {"ApiName": API, "Stage": "prod/Canary"}
    assert canary == _sum(traffic.cw, "AWS/ApiGateway", "Count", dims, since)
    assert total("apicanary_gateway_requests", api=API, canary="true",
                 version=traffic.canary_version) == canary  # fmt: skip
    assert total("apicanary_gateway_errors", api=API, **{"class": "5xx"}) == BAD
    assert total("apicanary_gateway_errors", api=API, **{"class": "4xx"}) == 0
    assert total("apicanary_gateway_latency_seconds", "_count", api=API) == N
    inf = total("apicanary_gateway_latency_seconds", "_bucket", api=API, le="+Inf")
    assert inf == N
    assert total("apicanary_lambda_invocations", function="Fn") == N
    assert total("apicanary_lambda_errors", function="Fn") == BAD
    assert total("apicanary_lambda_duration_seconds", "_count", function="Fn", alias="canary") == (
        canary
    )
    assert total("apicanary_runtime_workers", "") >= 2  # one pool per served version at least
    assert total("apicanary_runtime_cold_starts", function="Fn") >= 2
    assert total("apicanary_rollouts_active", "") == 0


def test_rollout_gauges(traffic: Traffic) -> None:
    server = traffic.server
    started = httpx.post(
        f"{server.control_url}/_apicanary/rollouts",
        json={"function": "Fn", "alias": "live", "toVersion": traffic.canary_version,
              "strategy": "Canary10Percent5Minutes"},
    )  # fmt: skip
    assert started.status_code == 201, started.text
    rollout_id = started.json()["id"]
    deadline = time.monotonic() + 10
    weight = None
    while time.monotonic() < deadline:
        text = httpx.get(f"{server.control_url}/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert families["apicanary_rollouts_active"].samples[0].value == 1
        samples = families["apicanary_rollout_weight_percent"].samples
        assert [s.labels["rollout"] for s in samples] == [rollout_id]
        assert samples[0].labels["function"] == "Fn" and samples[0].labels["alias"] == "live"
        weight = samples[0].value
        if weight == 10.0:
            break
        time.sleep(0.2)
    assert weight == 10.0
    aborted = httpx.post(
        f"{server.control_url}/_apicanary/rollouts/{rollout_id}/intents", json={"kind": "abort"}
    )
    assert aborted.status_code == 202


def test_put_metric_data_and_percentiles(traffic: Traffic) -> None:
    cw = traffic.cw
    now = time.time()
    dims = [{"Name": "Service", "Value": "checkout"}]
    cw.put_metric_data(
        Namespace="Shop",
        MetricData=[
            {"MetricName": "Latency", "Dimensions": dims, "Timestamp": now, "Unit": "Milliseconds",
             "Values": [float(v) for v in range(1, 101)], "Counts": [10.0] * 100},
            {"MetricName": "Latency", "Dimensions": dims, "Timestamp": now, "Unit": "Milliseconds",
             "StatisticValues": {"SampleCount": 4.0, "Sum": 10.0, "Minimum": 1.0, "Maximum": 4.0}},
            {"MetricName": "Orders", "Value": 3.0, "Timestamp": now},
        ],
    )  # fmt: skip
    window = {"StartTime": now - 120, "EndTime": now + 120, "Period": 300}
    latency = {"Namespace": "Shop", "MetricName": "Latency", "Dimensions": dims}
    extended = cw.get_metric_statistics(**latency, **window, ExtendedStatistics=["p99", "p50"])
    (point,) = extended["Datapoints"]
    assert point["ExtendedStatistics"]["p99"] == pytest.approx(99.0, rel=0.02)
    assert point["ExtendedStatistics"]["p50"] == pytest.approx(50.0, rel=0.02)
    assert point["Unit"] == "Milliseconds" and "Sum" not in point
    basic = cw.get_metric_statistics(
        **latency, **window, Statistics=["SampleCount", "Sum", "Maximum"]
    )
    (point,) = basic["Datapoints"]
    assert (
        point["SampleCount"] == 1004 and point["Sum"] == 10 * 5050 + 10 and point["Maximum"] == 100
    )
    assert basic["Label"] == "Latency"
    metrics = cw.list_metrics(Namespace="Shop")["Metrics"]
    assert {m["MetricName"] for m in metrics} == {"Latency", "Orders"}
    assert cw.list_metrics(Namespace="Shop", Dimensions=[{"Name": "Service"}])["Metrics"] == [
        {"Namespace": "Shop", "MetricName": "Latency", "Dimensions": dims}
    ]


@pytest.mark.parametrize(
    ("datum", "code", "needle"),
    [
        ({"MetricName": "m", "Value": 1.0, "StatisticValues":
          {"SampleCount": 1.0, "Sum": 1.0, "Minimum": 1.0, "Maximum": 1.0}},
         "InvalidParameterCombination", "MetricData.member.1.Value"),
        ({"MetricName": "m", "Values": [1.0, 2.0], "Counts": [1.0]},
         "InvalidParameterValue", "MetricData.member.1.Values"),
        ({"MetricName": "m", "Value": 1.0, "Unit": "Parsecs"},
         "InvalidParameterValue", "MetricData.member.1.Unit"),
        ({"MetricName": "m", "Value": 1.0, "Timestamp": time.time() - 15 * 86400},
         "InvalidParameterValue", "MetricData.member.1.Timestamp"),
        ({"MetricName": "m", "Value": 1e300},
         "InvalidParameterValue", "MetricData.member.1.Value"),
    ],
)  # fmt: skip
def test_put_metric_data_is_validated_like_cloudwatch(
    traffic: Traffic, datum: dict[str, Any], code: str, needle: str
) -> None:
    with pytest.raises(ClientError) as info:
        traffic.cw.put_metric_data(Namespace="Bad", MetricData=[datum])
    assert info.value.response["Error"]["Code"] == code
    assert needle in info.value.response["Error"]["Message"]
    assert traffic.cw.list_metrics(Namespace="Bad")["Metrics"] == []


def test_reads_are_validated_like_cloudwatch(traffic: Traffic) -> None:
    cw, now = traffic.cw, time.time()
    cases: list[tuple[Callable[[], Any], str]] = [
        (lambda: cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[
            {"MetricName": "Errors", "Value": 1.0}]), "InvalidParameterValue"),
        (lambda: cw.get_metric_statistics(Namespace="Shop", MetricName="Orders",
            StartTime=now - 60, EndTime=now, Period=60, Statistics=["Sum"],
            ExtendedStatistics=["p99"]), "InvalidParameterCombination"),
        (lambda: cw.get_metric_statistics(Namespace="Shop", MetricName="Orders",
            StartTime=now - 86400, EndTime=now, Period=1, Statistics=["Sum"]),
         "InvalidParameterCombination"),
        (lambda: cw.set_alarm_state(AlarmName="nope", StateValue="OK", StateReason="x"),
         "ResourceNotFound"),
        (lambda: cw.describe_alarms(NextToken="garbage"), "InvalidNextToken"),
    ]  # fmt: skip
    for call, code in cases:
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == code


def test_metrics_cli(traffic: Traffic) -> None:
    url = traffic.server.control_url
    query = ["metrics", "--namespace", "AWS/Lambda", "--metric-name", "Invocations",
             "--dimension", "FunctionName=Fn", "--stat", "Sum", "--period", "60",
             "--since", "15m", "--control-url", url]  # fmt: skip
    done = _cli(*query, "--output", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["stat"] == "Sum" and data["dimensions"] == {"FunctionName": "Fn"}
    assert sum(p["value"] for p in data["datapoints"]) == N
    text = _cli(*query)
    assert text.returncode == 0 and "AWS/Lambda Invocations {FunctionName=Fn}" in text.stdout

    bad = _cli(*query[:-2], "--dimension", "FunctionName", "--control-url", url)
    assert bad.returncode == 2 and "--dimension" in bad.stderr
    bad_stat = _cli(*query, "--stat", "p101")
    assert bad_stat.returncode == 2 and "--stat" in bad_stat.stderr
    bad_since = _cli(*query, "--since", "yesterday")
    assert bad_since.returncode == 2 and "--since" in bad_since.stderr
    down = _cli(*query[:-1], f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1 and "apicanary serve" in down.stderr


def test_error_rate_alarm_fires_within_one_period(tmp_path: Path) -> None:
    """A metric-math alarm on the canary's error rate reaches ALARM within one period of the
    canary alias moving to a failing version (alarms are evaluated every 0.25 s)."""
    period = 5
    project = tmp_path / "project"
    template = write_project(project)
    with running_server(tmp_path / "state", template, seed=3) as server:
        _stage_canary(server, project)
        (project / "src" / "app.py").write_text(BAD_HANDLER)
        lam = aws_client(server, "lambda")
        bad_version = str(lam.publish_version(FunctionName="Fn")["Version"])
        cw = aws_client(server, "cloudwatch")
        canary = [
            {"Name": "FunctionName", "Value": "Fn"},
            {"Name": "Resource", "Value": "Fn:canary"},
        ]

        def stat(metric: str) -> dict[str, Any]:
            return {"Metric": {"Namespace": "AWS/Lambda", "MetricName": metric,
                               "Dimensions": canary}, "Period": period, "Stat": "Sum"}  # fmt: skip

        cw.put_metric_alarm(
            AlarmName="canary-error-rate",
            Metrics=[
                {"Id": "e", "MetricStat": stat("Errors"), "ReturnData": False},
                {"Id": "i", "MetricStat": stat("Invocations"), "ReturnData": False},
                {"Id": "rate", "Expression": "100 * e / i", "ReturnData": True},
            ],
            EvaluationPeriods=1,
            Threshold=5.0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )
        stop = threading.Event()
        failures: list[float] = []

        def load() -> None:
            with httpx.Client(base_url=server.gateway_url, headers=_host(server)) as http:
                while not stop.is_set():
                    if http.get("/prod/hello", timeout=10).status_code == 502:
                        failures.append(time.time())
                    time.sleep(0.02)

        worker = threading.Thread(target=load, daemon=True)
        worker.start()
        try:
            state = _wait_state(cw, "canary-error-rate", "OK", timeout=3 * period)
            assert state == "OK" and not failures
            while time.time() % period > 0.1:  # start failing right after a period boundary
                time.sleep(0.01)
            lam.update_alias(FunctionName="Fn", Name="canary", FunctionVersion=bad_version)
            switched = time.time()
            state = _wait_state(cw, "canary-error-rate", "ALARM", timeout=3 * period)
            elapsed = time.time() - switched
        finally:
            stop.set()
            worker.join(10)
        assert state == "ALARM" and failures
        assert elapsed <= period + 1.0, f"ALARM after {elapsed:.2f}s (period {period}s)"

        (alarm,) = cw.describe_alarms(AlarmNames=["canary-error-rate"])["MetricAlarms"]
        reason = json.loads(alarm["StateReasonData"])
        assert reason["evaluatedDatapoints"][0]["value"] > 5.0
        history = cw.describe_alarm_history(AlarmName="canary-error-rate")["AlarmHistoryItems"]
        summaries = [h["HistorySummary"] for h in history]
        assert summaries[0] == "Alarm updated from OK to ALARM"
        assert summaries[-1] == 'Alarm "canary-error-rate" created'
        assert "Alarm updated from INSUFFICIENT_DATA to OK" in summaries
        only_config = cw.describe_alarm_history(
            AlarmName="canary-error-rate", HistoryItemType="ConfigurationUpdate"
        )["AlarmHistoryItems"]
        assert len(only_config) == 1

        scrape = httpx.get(f"{server.control_url}/metrics").text
        states = {
            s.labels["state"]: s.value
            for f in text_string_to_metric_families(scrape)
            if f.name == "apicanary_alarm_state"
            for s in f.samples
        }
        assert states == {"ALARM": 1.0, "OK": 0.0, "INSUFFICIENT_DATA": 0.0}

        listed = _cli("alarms", "--state", "ALARM", "--control-url", server.control_url,
                      "--output", "json")  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        (row,) = json.loads(listed.stdout)["alarms"]
        assert row["name"] == "canary-error-rate" and row["state"] == "ALARM"
        assert row["reason"].startswith("Threshold Crossed")
        none_ok = _cli("alarms", "--state", "OK", "--control-url", server.control_url)
        assert none_ok.returncode == 0 and "no alarms" in none_ok.stdout
        bad = _cli("alarms", "--state", "RED", "--control-url", server.control_url)
        assert bad.returncode == 2 and "--state" in bad.stderr

        cw.set_alarm_state(AlarmName="canary-error-rate", StateValue="OK", StateReason="manual")
        cw.delete_alarms(AlarmNames=["canary-error-rate"])
        assert cw.describe_alarms()["MetricAlarms"] == []


def _wait_state(cw: Any, name: str, want: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        (alarm,) = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        state = str(alarm["StateValue"])
        if state == want:
            return state
        time.sleep(0.05)
    return state
