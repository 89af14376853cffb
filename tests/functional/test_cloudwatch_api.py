"""The CloudWatch endpoint served for real, driven by real boto3 in each of its three protocols
(the installed default, plus rpc-v2-cbor and query forced through a model copy on botocore's
data path) and by the system AWS CLI v1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from apicanary.errors import AwsApiError
from apicanary.server.awshttp import aws_error_handler
from apicanary.server.cloudwatch.api import CloudWatchBackend, routes
from tests.support.awscli import aws_cli
from tests.support.servers import serve_in_thread

PROTOCOLS = ["smithy-rpc-v2-cbor", "json", "query"]
DIMS = [{"Name": "FunctionName", "Value": "api"}, {"Name": "Resource", "Value": "api:live"}]
ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"


@dataclass
class FakeCloudWatch:
    """A tiny in-memory CloudWatch with the backend contract's param and result shapes."""

    data: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    explode: bool = False

    def _points(self, metric: dict[str, Any], start: float, end: float) -> list[float]:
        return [
            datum.get("Value", 0.0)
            for namespace, datum in self.data
            if namespace == metric["Namespace"]
            and datum["MetricName"] == metric["MetricName"]
            and datum.get("Dimensions", []) == metric.get("Dimensions", [])
            and start <= datum["Timestamp"] < end
        ]

    def put_metric_data(self, params: dict[str, Any]) -> None:
        for datum in params["MetricData"]:
            self.data.append((params["Namespace"], {"Timestamp": 0.0, **datum}))

    def list_metrics(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.explode:
            raise RuntimeError("disk on fire")
        seen: list[dict[str, Any]] = []
        for namespace, datum in self.data:
            metric = {
                "Namespace": namespace,
                "MetricName": datum["MetricName"],
                "Dimensions": datum.get("Dimensions", []),
            }
            if params.get("Namespace", namespace) == namespace and metric not in seen:
                seen.append(metric)
        return {"Metrics": seen}

    def get_metric_statistics(self, params: dict[str, Any]) -> dict[str, Any]:
        points = self._points(params, params["StartTime"], params["EndTime"])
        datapoint = {
            "Timestamp": params["StartTime"],
            "Sum": sum(points),
            "SampleCount": float(len(points)),
            "Unit": "Count",
        }
        return {"Label": params["MetricName"], "Datapoints": [datapoint] if points else []}

    def get_metric_data(self, params: dict[str, Any]) -> dict[str, Any]:
        results = []
        for query in params["MetricDataQueries"]:
            points = self._points(
                query["MetricStat"]["Metric"], params["StartTime"], params["EndTime"]
            )
            results.append(
                {
                    "Id": query["Id"],
                    "Label": query.get("Label", query["Id"]),
                    "Timestamps": [datetime.fromtimestamp(params["StartTime"], UTC)],
                    "Values": [sum(points)],
                    "StatusCode": "Complete",
                }
            )
        return {"MetricDataResults": results, "Messages": []}

    def put_metric_alarm(self, params: dict[str, Any]) -> None:
        name = params["AlarmName"]
        config = {k: v for k, v in params.items() if k != "Tags"}
        previous = self.alarms.get(name, {})
        self.alarms[name] = {
            **config,
            "AlarmArn": ARN + name,
            "AlarmConfigurationUpdatedTimestamp": 1714564800.0,
            "StateValue": previous.get("StateValue", "INSUFFICIENT_DATA"),
            "StateReason": previous.get("StateReason", "Unchecked: Initial alarm creation"),
            "StateUpdatedTimestamp": previous.get("StateUpdatedTimestamp", 1714564800.0),
        }

    def describe_alarms(self, params: dict[str, Any]) -> dict[str, Any]:
        names = params.get("AlarmNames")
        alarms = [
            alarm
            for name, alarm in sorted(self.alarms.items())
            if (names is None or name in names)
            and params.get("StateValue", alarm["StateValue"]) == alarm["StateValue"]
        ]
        return {"MetricAlarms": alarms, "CompositeAlarms": []}

    def describe_alarm_history(self, params: dict[str, Any]) -> dict[str, Any]:
        items = [
            i for i in self.history if params.get("AlarmName", i["AlarmName"]) == i["AlarmName"]
        ]
        return {"AlarmHistoryItems": items}

    def set_alarm_state(self, params: dict[str, Any]) -> None:
        name = params["AlarmName"]
        alarm = self.alarms.get(name)
        if alarm is None:
            raise AwsApiError("ResourceNotFound", f"Alarm {name} does not exist", 404)
        old = alarm["StateValue"]
        alarm.update(
            StateValue=params["StateValue"],
            StateReason=params["StateReason"],
            StateUpdatedTimestamp=datetime(2024, 5, 1, 12, 5, tzinfo=UTC),
        )
        self.history.append(
            {
                "AlarmName": name,
                "AlarmType": "MetricAlarm",
                "Timestamp": datetime(2024, 5, 1, 12, 5, tzinfo=UTC),
                "HistoryItemType": "StateUpdate",
                "HistorySummary": f"Alarm updated from {old} to {params['StateValue']}",
                "HistoryData": json.dumps({"newState": {"stateValue": params["StateValue"]}}),
            }
        )

    def delete_alarms(self, params: dict[str, Any]) -> None:
        for name in params["AlarmNames"]:
            self.alarms.pop(name, None)


def _typed(fake: FakeCloudWatch) -> CloudWatchBackend:
    return fake  # mypy checks FakeCloudWatch against the Protocol here


@pytest.fixture(scope="module")
def fake() -> FakeCloudWatch:
    return FakeCloudWatch()


@pytest.fixture
def backend(fake: FakeCloudWatch) -> FakeCloudWatch:
    fake.data.clear()
    fake.alarms.clear()
    fake.history.clear()
    fake.explode = False
    return fake


class Recorder:
    """ASGI wrapper noting each request's path and Content-Type."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            self.seen.append((scope["path"], headers.get(b"content-type", b"").decode()))
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def recorder(fake: FakeCloudWatch) -> Recorder:
    app = Starlette(
        routes=routes(_typed(fake)), exception_handlers={AwsApiError: aws_error_handler}
    )
    return Recorder(app)


@pytest.fixture(scope="module")
def url(recorder: Recorder) -> Iterator[str]:
    with serve_in_thread(recorder) as base:
        yield base


@pytest.fixture(scope="module")
def data_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per protocol, a botocore data directory holding a CloudWatch model that only speaks it."""
    loader = botocore.session.get_session().get_component("data_loader")
    model = loader.load_service_model("cloudwatch", "service-2")
    paths: dict[str, Path] = {}
    for protocol in PROTOCOLS:
        root = tmp_path_factory.mktemp(f"model-{protocol}")
        target = root / "cloudwatch" / "2010-08-01"
        target.mkdir(parents=True)
        forced = {
            **model,
            "metadata": {**model["metadata"], "protocol": protocol, "protocols": [protocol]},
        }
        (target / "service-2.json").write_text(json.dumps(forced))
        paths[protocol] = root
    return paths


def client(url: str, data_path: Path | None = None, **config: Any) -> Any:
    """A boto3 CloudWatch client; with ``data_path`` its model comes from there first."""
    session = botocore.session.Session()
    if data_path is not None:
        session.set_config_variable("data_path", str(data_path))
    return boto3.Session(botocore_session=session).client(
        "cloudwatch",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(**config) if config else None,
    )


@dataclass
class Wire:
    """What a client put on the wire (captured from botocore's ``before-send`` event)."""

    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def __call__(self, request: Any, **_: Any) -> None:
        headers = {
            key: value.decode() if isinstance(value, bytes) else value
            for key, value in request.headers.items()
        }
        self.requests.append((request.url, headers))


@pytest.fixture(scope="module")
def clients(url: str, data_paths: dict[str, Path]) -> dict[str, Any]:
    """One client per protocol (no retries, so a 500 surfaces at once)."""
    made = {p: client(url, data_paths[p], retries={"total_max_attempts": 1}) for p in PROTOCOLS}
    for protocol, cloudwatch in made.items():
        assert cloudwatch.meta.service_model.resolved_protocol == protocol
    return made


@pytest.fixture(params=PROTOCOLS)
def cw(request: pytest.FixtureRequest, clients: dict[str, Any]) -> Iterator[Any]:
    protocol: str = request.param
    cloudwatch = clients[protocol]
    wire = Wire()
    cloudwatch.meta.events.register("before-send", wire, unique_id="wire-capture")
    yield cloudwatch
    cloudwatch.meta.events.unregister("before-send", unique_id="wire-capture")
    assert wire.requests, "no request was sent"
    for sent_url, headers in wire.requests:
        if protocol == "smithy-rpc-v2-cbor":
            assert "/service/GraniteServiceVersion20100801/operation/" in sent_url
            assert headers["smithy-protocol"] == "rpc-v2-cbor"
        elif protocol == "json":
            assert headers["X-Amz-Target"].startswith("GraniteServiceVersion20100801.")
        else:
            assert headers["Content-Type"].startswith("application/x-www-form-urlencoded")


def test_installed_boto3_protocol_is_served(url: str, backend: FakeCloudWatch) -> None:
    cloudwatch = client(url)
    cloudwatch.put_metric_data(Namespace="app", MetricData=[{"MetricName": "Hits", "Value": 1.0}])
    assert cloudwatch.list_metrics()["Metrics"] == [
        {"Namespace": "app", "MetricName": "Hits", "Dimensions": []}
    ]


def test_every_operation_round_trips(cw: Any, backend: FakeCloudWatch) -> None:
    now = datetime(2024, 5, 1, 12, 0, 30, 125000, tzinfo=UTC)
    start, end = now - timedelta(seconds=30), now + timedelta(seconds=30)
    datum = {"MetricName": "Errors", "Dimensions": DIMS, "Timestamp": now, "Unit": "Count"}
    cw.put_metric_data(
        Namespace="AWS/Lambda", MetricData=[{**datum, "Value": 2.0}, {**datum, "Value": 3.5}]
    )
    assert backend.data[0] == ("AWS/Lambda", {**datum, "Value": 2.0, "Timestamp": now.timestamp()})

    metric = {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": DIMS}
    assert cw.list_metrics(Namespace="AWS/Lambda")["Metrics"] == [metric]

    stats = cw.get_metric_statistics(
        **metric, StartTime=start, EndTime=end, Period=60, Statistics=["Sum", "SampleCount"]
    )
    assert stats["Label"] == "Errors"
    assert stats["Datapoints"] == [
        {"Timestamp": start, "Sum": 5.5, "SampleCount": 2.0, "Unit": "Count"}
    ]

    data = cw.get_metric_data(
        MetricDataQueries=[
            {"Id": "errors", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}}
        ],
        StartTime=start,
        EndTime=end,
    )
    assert data["MetricDataResults"] == [
        {
            "Id": "errors",
            "Label": "errors",
            "Timestamps": [start],
            "Values": [5.5],
            "StatusCode": "Complete",
        }
    ]
    assert data["Messages"] == []

    alarm = {
        **metric,
        "AlarmName": "canary-errors",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "ActionsEnabled": False,
        "AlarmActions": [],
    }
    cw.put_metric_alarm(**alarm, Tags=[{"Key": "app", "Value": "api"}])
    [described] = cw.describe_alarms(AlarmNames=["canary-errors"])["MetricAlarms"]
    assert described == {
        **alarm,
        "AlarmArn": ARN + "canary-errors",
        "AlarmConfigurationUpdatedTimestamp": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        "StateValue": "INSUFFICIENT_DATA",
        "StateReason": "Unchecked: Initial alarm creation",
        "StateUpdatedTimestamp": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    }

    cw.set_alarm_state(AlarmName="canary-errors", StateValue="ALARM", StateReason="drill <&>")
    [alarmed] = cw.describe_alarms(StateValue="ALARM")["MetricAlarms"]
    assert (alarmed["StateReason"], alarmed["StateValue"]) == ("drill <&>", "ALARM")
    [item] = cw.describe_alarm_history(AlarmName="canary-errors")["AlarmHistoryItems"]
    assert item["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    assert item["Timestamp"] == datetime(2024, 5, 1, 12, 5, tzinfo=UTC)

    with pytest.raises(cw.exceptions.ResourceNotFound) as info:
        cw.set_alarm_state(AlarmName="ghost", StateValue="OK", StateReason="x")
    assert info.value.response["Error"]["Message"] == "Alarm ghost does not exist"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    cw.delete_alarms(AlarmNames=["canary-errors"])
    assert cw.describe_alarms()["MetricAlarms"] == []


def test_unsupported_operation(cw: Any, backend: FakeCloudWatch) -> None:
    with pytest.raises(ClientError) as info:
        cw.list_dashboards()
    protocol = cw.meta.service_model.resolved_protocol
    expected = "InvalidAction" if protocol == "query" else "UnknownOperationException"
    assert info.value.response["Error"]["Code"] == expected
    assert "ListDashboards is not supported" in info.value.response["Error"]["Message"]


def test_backend_crash_is_a_500_in_the_clients_protocol(cw: Any, backend: FakeCloudWatch) -> None:
    backend.explode = True
    with pytest.raises(cw.exceptions.InternalServiceFault) as info:
        cw.list_metrics()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "disk on fire" not in str(info.value)


def test_form_post_without_action_is_a_clear_query_error(url: str) -> None:
    response = httpx.post(
        url + "/",
        data={"Version": "2010-08-01"},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Code>MissingAction</Code>" in response.text
    assert "X-Amz-Target" in response.text


def test_json_post_without_target_is_a_clear_json_error(url: str) -> None:
    response = httpx.post(url + "/", content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["__type"].endswith("#UnknownOperationException")


def test_post_root_does_not_shadow_other_routes(backend: FakeCloudWatch) -> None:
    async def dashboard(request: Request) -> Response:
        return PlainTextResponse("dashboard")

    async def lambdas(request: Request) -> Response:
        return PlainTextResponse("lambda")

    app = Starlette(
        routes=[
            *routes(backend),
            Route("/", dashboard, methods=["GET"]),
            Route("/2015-03-31/functions", lambdas, methods=["GET", "POST"]),
        ]
    )
    with serve_in_thread(app) as base, httpx.Client(base_url=base) as http:
        assert http.get("/").text == "dashboard"
        assert http.post("/2015-03-31/functions", json={}).text == "lambda"
        answer = http.post(
            "/",
            content=b"Action=ListMetrics&Version=2010-08-01",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert "<ListMetricsResponse" in answer.text


# --- the system AWS CLI v1 (system python3, its own botocore) --------------------------------


def test_aws_cli_speaks_json_by_default(
    url: str, recorder: Recorder, backend: FakeCloudWatch
) -> None:
    backend.put_metric_data({"Namespace": "cli", "MetricData": [{"MetricName": "Hits"}]})
    listed = aws_cli("cloudwatch", url, "list-metrics", "--namespace", "cli")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["Metrics"] == [
        {"Namespace": "cli", "MetricName": "Hits", "Dimensions": []}
    ]
    assert recorder.seen[-1] == ("/", "application/x-amz-json-1.0")


def test_aws_cli_speaks_query_with_a_query_model(
    url: str, recorder: Recorder, data_paths: dict[str, Path], backend: FakeCloudWatch
) -> None:
    args = ["put-metric-data", "--namespace", "cli", "--metric-name", "Hits", "--value", "3"]
    put = aws_cli(
        "cloudwatch", url, *args, "--dimensions", "FunctionName=api", data_path=data_paths["query"]
    )
    assert put.returncode == 0, put.stderr
    dims = [{"Name": "FunctionName", "Value": "api"}]
    assert backend.data == [
        ("cli", {"Timestamp": 0.0, "MetricName": "Hits", "Dimensions": dims, "Value": 3.0})
    ]
    path, content_type = recorder.seen[-1]
    assert (path, content_type.split(";")[0]) == ("/", "application/x-www-form-urlencoded")
