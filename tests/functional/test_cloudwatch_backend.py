"""``EngineCloudWatch`` served in-process by the control app, driven by real boto3 in each of
CloudWatch's three protocols: results fit the botocore model, pages and errors work."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from apicanary.engine.engine import Engine
from apicanary.engine.gateway.messages import RequestRecord
from apicanary.server.control import build_control_app
from tests.support.servers import serve_in_thread

PROTOCOLS = ["smithy-rpc-v2-cbor", "json", "query"]
DIMS = [{"Name": "Service", "Value": "cart"}]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, str]]:
    engine = Engine(tmp_path_factory.mktemp("cw") / "state")
    with serve_in_thread(build_control_app(engine)) as url:
        yield engine, url
    engine.store.close()


@pytest.fixture(params=PROTOCOLS)
def cw(
    request: pytest.FixtureRequest,
    served: tuple[Engine, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    """A client whose CloudWatch model speaks only one protocol (a copy on its data path)."""
    protocol: str = request.param
    loader = botocore.session.get_session().get_component("data_loader")
    model = loader.load_service_model("cloudwatch", "service-2")
    root = tmp_path_factory.mktemp(f"model-{protocol}")
    target = root / "cloudwatch" / "2010-08-01"
    target.mkdir(parents=True)
    meta = {**model["metadata"], "protocol": protocol, "protocols": [protocol]}
    (target / "service-2.json").write_text(json.dumps({**model, "metadata": meta}))
    session = botocore.session.Session()
    session.set_config_variable("data_path", str(root))
    client = boto3.Session(botocore_session=session).client(
        "cloudwatch",
        endpoint_url=served[1],
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert client.meta.service_model.resolved_protocol == protocol
    return client


def _namespace(cw: Any) -> str:
    return "T" + str(cw.meta.service_model.resolved_protocol).replace("-", "")


def test_put_then_read_in_every_protocol(cw: Any) -> None:
    ns, now = _namespace(cw), time.time()
    cw.put_metric_data(
        Namespace=ns,
        MetricData=[{"MetricName": "Items", "Dimensions": DIMS, "Unit": "Count",
                     "Values": [1.0, 2.0, 3.0], "Counts": [1.0, 2.0, 3.0]}],
    )  # fmt: skip
    stats = cw.get_metric_statistics(
        Namespace=ns, MetricName="Items", Dimensions=DIMS, StartTime=now - 60,
        EndTime=now + 60, Period=120, Statistics=["Sum", "SampleCount", "Average"],
    )  # fmt: skip
    (point,) = stats["Datapoints"]
    assert (point["Sum"], point["SampleCount"], point["Unit"]) == (14.0, 6.0, "Count")
    assert point["Average"] == pytest.approx(14 / 6)
    # GetMetricData pages by MaxDatapoints: three 1-second points, two per page
    for offset in (0.0, 1.0):
        cw.put_metric_data(
            Namespace=ns,
            MetricData=[{"MetricName": "Tick", "Value": 1.0, "Timestamp": now - 30 + offset}],
        )
    query = {"Id": "t", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Tick"},
             "Period": 1, "Stat": "Sum"}}  # fmt: skip
    cw.put_metric_data(
        Namespace=ns, MetricData=[{"MetricName": "Tick", "Value": 1.0, "Timestamp": now - 28}]
    )
    first = cw.get_metric_data(
        MetricDataQueries=[query], StartTime=now - 60, EndTime=now + 60, MaxDatapoints=2
    )
    assert len(first["MetricDataResults"][0]["Values"]) == 2
    assert first["MetricDataResults"][0]["StatusCode"] == "PartialData"
    second = cw.get_metric_data(
        MetricDataQueries=[query], StartTime=now - 60, EndTime=now + 60, MaxDatapoints=2,
        NextToken=first["NextToken"],
    )  # fmt: skip
    assert len(second["MetricDataResults"][0]["Values"]) == 1 and "NextToken" not in second


def test_alarms_pages_history_and_errors(cw: Any, served: tuple[Engine, str]) -> None:
    engine = served[0]
    prefix = _namespace(cw)
    # a metric no test writes: the first evaluation must find no data (notBreaching: OK),
    # whatever test_put_then_read left in this namespace a few seconds ago
    for i in range(3):
        cw.put_metric_alarm(
            AlarmName=f"{prefix}-{i}", Namespace=prefix, MetricName="Unwritten", Dimensions=DIMS,
            Statistic="Sum", Period=10, EvaluationPeriods=1, Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
        )  # fmt: skip
    pages = list(
        cw.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=prefix, PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["MetricAlarms"]) for p in pages] == [2, 1]
    only_composite = cw.describe_alarms(AlarmNamePrefix=prefix, AlarmTypes=["CompositeAlarm"])
    assert only_composite["MetricAlarms"] == [] and only_composite["CompositeAlarms"] == []
    engine.housekeeping()
    cw.set_alarm_state(AlarmName=f"{prefix}-0", StateValue="ALARM", StateReason="drill")
    (alarm,) = cw.describe_alarms(AlarmNames=[f"{prefix}-0"])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM" and alarm["StateReason"] == "drill"
    history = cw.describe_alarm_history(AlarmName=f"{prefix}-0", HistoryItemType="StateUpdate")
    assert [h["HistorySummary"] for h in history["AlarmHistoryItems"]] == [
        "Alarm updated from OK to ALARM",
        "Alarm updated from INSUFFICIENT_DATA to OK",
    ]
    with pytest.raises(ClientError) as info:
        cw.describe_alarm_history(NextToken="bm9wZQ==")
    assert info.value.response["Error"]["Code"] == "InvalidNextToken"
    cw.delete_alarms(AlarmNames=[f"{prefix}-{i}" for i in range(3)])
    assert cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"] == []


def test_reads_see_traffic_not_yet_drained(cw: Any, served: tuple[Engine, str]) -> None:
    """A gateway record still pending in the feed is visible to the next CloudWatch read."""
    engine, now = served[0], time.time()
    api = _namespace(cw)
    record = RequestRecord(
        timestamp=now, request_id="r1", api_id="a1", api_name=api, stage="prod",
        is_canary=True, deployment_id="d1", resource_path="/x", method="GET",
        function_name="fn", qualifier="live", executed_version="1", status=502,
        latency_ms=12.0, integration_latency_ms=10.0, cold_start=False, error_type="Handled",
    )  # fmt: skip
    engine.feed.add(record)
    stats = cw.get_metric_statistics(
        Namespace="AWS/ApiGateway", MetricName="5XXError",
        Dimensions=[{"Name": "ApiName", "Value": api}, {"Name": "Stage", "Value": "prod/Canary"}],
        StartTime=now - 60, EndTime=now + 60, Period=120, Statistics=["Sum"],
    )  # fmt: skip
    assert [d["Sum"] for d in stats["Datapoints"]] == [1.0]


def test_state_dir_outlives_the_server(tmp_path: Path) -> None:
    """Alarms and metric data written through the endpoint survive a restart."""
    engine = Engine(tmp_path / "state")
    with serve_in_thread(build_control_app(engine)) as url:
        client = boto3.client("cloudwatch", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
        client.put_metric_data(Namespace="App", MetricData=[{"MetricName": "m", "Value": 1.0}])
        client.put_metric_alarm(
            AlarmName="kept", Namespace="App", MetricName="m", Statistic="Sum", Period=60,
            EvaluationPeriods=1, Threshold=0.0, ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
    engine.persist()
    engine.store.close()
    again = Engine(tmp_path / "state")
    try:
        assert [a["AlarmName"] for a in again.alarms.describe_alarms()] == ["kept"]
        assert again.metrics.list_metrics("App")[0]["MetricName"] == "m"
    finally:
        again.store.close()
