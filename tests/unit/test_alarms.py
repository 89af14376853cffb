"""Alarm evaluation with CloudWatch semantics (reference §4.2) and the AlarmEngine API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apicanary.clock import VirtualClock
from apicanary.engine.cloudwatch.alarms.decide import ALARM, INSUFFICIENT_DATA, OK, Slot, decide
from apicanary.engine.cloudwatch.alarms.service import AlarmEngine, AlarmStateChange
from apicanary.engine.cloudwatch.metrics.store import MetricStore
from apicanary.engine.cloudwatch.values import metric_key
from apicanary.errors import AwsApiError
from apicanary.store import Store

T0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
NS = "AWS/Lambda"
DIMS = [
    {"Name": "FunctionName", "Value": "api"},
    {"Name": "Resource", "Value": "api:live"},
    {"Name": "ExecutedVersion", "Value": "8"},
]
KEEP = "unchanged"


def slots_of(pattern: str) -> list[Slot]:
    """``"0 - X - X"`` (oldest first): 0 = good (0.0), X = bad (5.0), - = missing."""
    values = {"0": 0.0, "X": 5.0, "-": None}
    return [Slot(T0 + 60 * i, values[c]) for i, c in enumerate(pattern.split())]


def outcome(pattern: str, treat: str, m: int = 3, n: int = 3) -> str:
    decision = decide(
        slots_of(pattern),
        threshold=1.0,
        operator="GreaterThanOrEqualToThreshold",
        evaluation_periods=n,
        datapoints_to_alarm=m,
        treat_missing=treat,
    )
    return decision.state or KEEP


# Every example of reference §4.2 (M = N = 3, evaluation range 5), per TreatMissingData.
REFERENCE_TABLE = [
    ("0 - X - X", {"missing": OK, "ignore": OK, "breaching": OK, "notBreaching": OK}),
    (
        "- - - - -",
        {"missing": INSUFFICIENT_DATA, "ignore": KEEP, "breaching": ALARM, "notBreaching": OK},
    ),
    ("0 X X - X", {"missing": ALARM, "ignore": ALARM, "breaching": ALARM, "notBreaching": ALARM}),
]


@pytest.mark.parametrize(("pattern", "expected"), REFERENCE_TABLE)
@pytest.mark.parametrize("treat", ["missing", "ignore", "breaching", "notBreaching"])
def test_reference_examples(pattern: str, expected: dict[str, str], treat: str) -> None:
    assert outcome(pattern, treat) == expected[treat]


def test_premature_alarm_guard_from_the_reference() -> None:
    assert outcome("- - - - X", "missing") != ALARM  # stays non-ALARM
    assert outcome("- - - - X", "missing") == KEEP
    assert outcome("- - X - -", "missing") == ALARM  # oldest breach >= M periods old


@pytest.mark.parametrize(
    ("pattern", "treat", "m", "n", "expected"),
    [
        ("X 0 X 0 X", "missing", 2, 3, ALARM),  # 2 of the last 3, not consecutive
        ("X 0 0 X 0", "missing", 2, 3, OK),
        ("0 0 - - X", "breaching", 3, 3, OK),  # 3 real points: no fill
        ("- - - X X", "breaching", 3, 3, ALARM),  # one fill, as few as possible
        ("- - - X X", "notBreaching", 3, 3, OK),
        ("0 0 0 - X", "missing", 3, 3, OK),  # >= N real points: TreatMissingData not used
        ("- - - - 0", "missing", 1, 3, OK),
        ("- - - X X", "missing", 2, 3, ALARM),
    ],
)
def test_m_of_n_and_fills(pattern: str, treat: str, m: int, n: int, expected: str) -> None:
    assert outcome(pattern, treat, m, n) == expected


@pytest.mark.parametrize(
    ("operator", "value", "breach"),
    [
        ("GreaterThanOrEqualToThreshold", 1.0, True),
        ("GreaterThanOrEqualToThreshold", 0.9, False),
        ("GreaterThanThreshold", 1.0, False),
        ("GreaterThanThreshold", 1.1, True),
        ("LessThanThreshold", 1.0, False),
        ("LessThanThreshold", 0.9, True),
        ("LessThanOrEqualToThreshold", 1.0, True),
        ("LessThanOrEqualToThreshold", 1.1, False),
    ],
)
def test_every_comparison_operator(operator: str, value: float, breach: bool) -> None:
    decision = decide(
        [Slot(T0, value)],
        threshold=1.0,
        operator=operator,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing="missing",
    )
    assert decision.state == (ALARM if breach else OK)


# -- the engine -----------------------------------------------------------------------------


def single(name: str = "errors", **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "AlarmName": name,
        "Namespace": NS,
        "MetricName": "Errors",
        "Dimensions": DIMS,
        "Statistic": "Sum",
        "Period": 10,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }
    request.update(extra)
    return request


def error_rate_alarm() -> dict[str, Any]:
    def query(qid: str, metric: str) -> dict[str, Any]:
        return {
            "Id": qid,
            "MetricStat": {
                "Metric": {"Namespace": NS, "MetricName": metric, "Dimensions": DIMS},
                "Period": 10,
                "Stat": "Sum",
            },
            "ReturnData": False,
        }

    return {
        "AlarmName": "canary-error-rate",
        "Metrics": [
            query("errors", "Errors"),
            query("invocations", "Invocations"),
            {"Id": "rate", "Expression": "100 * errors / invocations", "ReturnData": True},
        ],
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }


def engine(store: Store | None = None) -> tuple[VirtualClock, MetricStore, AlarmEngine]:
    clock = VirtualClock(T0)
    metrics = MetricStore(clock, store)
    return clock, metrics, AlarmEngine(metrics, clock, store)


def test_threshold_crossed_reason_like_aws() -> None:
    clock, metrics, alarms = engine()
    alarms.put_metric_alarm(single())
    (created,) = alarms.describe_alarms()
    assert (created["StateValue"], created["StateReason"]) == (
        INSUFFICIENT_DATA,
        "Unchecked: Initial alarm creation",
    )
    metrics.put(NS, "Errors", DIMS, 5.0, T0 + 3, unit="Count")
    clock.advance(10)
    (change,) = alarms.evaluate()
    assert change.new_state == ALARM
    assert change.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (15/01/27 08:00:00)] was "
        "greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM "
        "transition)."
    )
    data = json.loads(alarms.describe_alarms()[0]["StateReasonData"])
    assert data["evaluatedDatapoints"] == [
        {"timestamp": "2027-01-15T08:00:00.000+0000", "sampleCount": 1.0, "value": 5.0}
    ]
    assert (data["statistic"], data["period"], data["threshold"]) == ("Sum", 10, 1.0)
    # no datapoint in the next periods: missing -> evaluated what exists, then insufficient
    clock.advance(10)
    assert alarms.evaluate() == []  # 1 real point in range still >= N = 1: stays ALARM
    clock.advance(40)
    (change,) = alarms.evaluate()
    assert change.new_state == INSUFFICIENT_DATA
    assert change.reason == "Insufficient Data: 3 datapoints were unknown."


def test_error_rate_alarm_fires_within_one_evaluation() -> None:
    clock, metrics, alarms = engine()
    alarms.put_metric_alarm(error_rate_alarm())
    seen: list[AlarmStateChange] = []
    alarms.on_state_change(seen.append)
    inv = metric_key(NS, "Invocations", DIMS)
    err = metric_key(NS, "Errors", DIMS)
    # healthy traffic for 30 s
    for _ in range(30):
        metrics.put_many([(inv, clock.now() + i / 20, 1.0, "Count") for i in range(20)])
        metrics.put_many([(err, clock.now(), 0.0, "Count")])
        clock.advance(1)
        alarms.evaluate()
    assert alarms.state_of("canary-error-rate") == OK
    # errors start: 2 of 20 requests fail (10 %) from now on
    for _ in range(10):
        metrics.put_many([(inv, clock.now() + i / 20, 1.0, "Count") for i in range(20)])
        metrics.put_many([(err, clock.now() + 0.5, 1.0, "Count")] * 2)
        clock.advance(1)
        if clock.now() % 10 == 0:
            break
        assert alarms.evaluate() == []  # the period is not complete yet
    changes = alarms.evaluate()  # first evaluation after the period closes
    assert [c.new_state for c in changes] == [ALARM]
    assert seen[-1].new_state == ALARM and seen[-1].alarm_name == "canary-error-rate"
    assert "[10.0 (15/01/27 08:00:30)]" in changes[0].reason
    assert "statistic" not in json.loads(changes[0].reason_data or "{}")


def test_set_alarm_state_holds_until_next_evaluation_and_history() -> None:
    clock, _metrics, alarms = engine()
    alarms.put_metric_alarm(single(TreatMissingData="notBreaching"))
    alarms.set_alarm_state("errors", ALARM, "testing the rollback", '{"why": "drill"}')
    assert alarms.state_of("errors") == ALARM
    clock.advance(10)
    (change,) = alarms.evaluate()
    assert (change.old_state, change.new_state) == (ALARM, OK)
    history = alarms.describe_alarm_history("errors")
    assert [h["HistorySummary"] for h in history] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
        'Alarm "errors" created',
    ]
    data = json.loads(history[1]["HistoryData"])
    assert data["oldState"]["stateValue"] == INSUFFICIENT_DATA
    assert data["newState"] == {
        "stateValue": ALARM,
        "stateReason": "testing the rollback",
        "stateReasonData": {"why": "drill"},
    }
    assert [
        h["HistoryItemType"]
        for h in alarms.describe_alarm_history(history_item_type="ConfigurationUpdate")
    ] == ["ConfigurationUpdate"]
    with pytest.raises(AwsApiError) as err:
        alarms.set_alarm_state("nope", OK, "x")
    assert err.value.code == "ResourceNotFound"


def test_update_keeps_state_describe_filters_and_delete() -> None:
    clock, _metrics, alarms = engine()
    alarms.put_metric_alarm(single("a-1", TreatMissingData="breaching"))
    alarms.put_metric_alarm(single("a-2", TreatMissingData="notBreaching"))
    alarms.put_metric_alarm(single("b-1"))
    clock.advance(10)
    alarms.evaluate()
    assert [a["AlarmName"] for a in alarms.describe_alarms(state_value=ALARM)] == ["a-1"]
    assert [a["AlarmName"] for a in alarms.describe_alarms(alarm_name_prefix="a-")] == [
        "a-1",
        "a-2",
    ]
    alarms.put_metric_alarm(single("a-1", TreatMissingData="breaching", Threshold=9.0))
    (updated,) = alarms.describe_alarms(["a-1"])
    assert (updated["StateValue"], updated["Threshold"]) == (ALARM, 9.0)
    assert updated["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a-1"
    alarms.delete_alarms(["a-1", "does-not-exist"])
    assert [a["AlarmName"] for a in alarms.describe_alarms()] == ["a-2", "b-1"]


def test_percentile_alarm_ignores_low_sample_counts() -> None:
    clock, metrics, alarms = engine()
    alarms.put_metric_alarm(
        single(
            "p90",
            MetricName="Duration",
            Statistic=None,
            ExtendedStatistic="p90",
            Threshold=100.0,
            EvaluateLowSampleCountPercentile="ignore",
        )
    )
    duration = metric_key(NS, "Duration", DIMS)
    metrics.put_many([(duration, T0 + i / 10, 500.0, "Milliseconds") for i in range(50)])
    clock.advance(10)
    assert alarms.evaluate() == []  # 50 samples < 10 / (1 - 0.9) = 100
    metrics.put_many([(duration, T0 + 10 + i / 20, 500.0, "Milliseconds") for i in range(150)])
    clock.advance(10)
    assert [c.new_state for c in alarms.evaluate()] == [ALARM]


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"AlarmName": None}, "ValidationError", "Value null at 'alarmName'"),
        ({"EvaluationPeriods": 0}, "ValidationError", "greater than or equal to 1"),
        ({"ComparisonOperator": "Bigger"}, "ValidationError", "enum value set"),
        ({"Statistic": "Median"}, "ValidationError", "enum value set"),
        ({"ExtendedStatistic": "p99"}, "InvalidParameterCombination", "Statistic"),
        ({"Statistic": None}, "MissingParameter", "Statistic or ExtendedStatistic"),
        ({"Statistic": None, "ExtendedStatistic": "tm90"}, "InvalidParameterValue", "tm90"),
        ({"Period": None}, "MissingParameter", "Period"),
        ({"Threshold": None}, "MissingParameter", "Threshold"),
        ({"DatapointsToAlarm": 2}, "ValidationError", "DatapointsToAlarm"),
        ({"EvaluationPeriods": 9000}, "ValidationError", "86400"),
        ({"TreatMissingData": "maybe"}, "InvalidParameterValue", "TreatMissingData"),
        ({"MetricName": None}, "ValidationError", "should return data"),
        ({"Metrics": error_rate_alarm()["Metrics"]}, "InvalidParameterCombination", "Metrics"),
    ],
)
def test_put_metric_alarm_validation(change: dict[str, Any], code: str, message: str) -> None:
    _, _, alarms = engine()
    request = single()
    request.update(change)
    with pytest.raises(AwsApiError) as err:
        alarms.put_metric_alarm({k: v for k, v in request.items() if v is not None})
    assert err.value.code == code
    assert message in err.value.message
    assert err.value.status == 400


def test_metrics_form_needs_exactly_one_return_data() -> None:
    _, _, alarms = engine()
    request = error_rate_alarm()
    request["Metrics"][2]["ReturnData"] = False
    with pytest.raises(AwsApiError) as err:
        alarms.put_metric_alarm(request)
    assert err.value.message == "Exactly one element of the metrics list should return data."
    del request["Metrics"][0]["ReturnData"]  # defaults to true: now two return data
    request["Metrics"][2]["ReturnData"] = True
    with pytest.raises(AwsApiError):
        alarms.put_metric_alarm(request)


def test_alarms_and_history_survive_restart(tmp_path: Path) -> None:
    store = Store(tmp_path)
    clock, _metrics, alarms = engine(store)
    alarms.put_metric_alarm(error_rate_alarm())
    alarms.set_alarm_state("canary-error-rate", ALARM, "forced")
    store.close()
    store = Store(tmp_path)
    reopened = AlarmEngine(MetricStore(clock, store), clock, store)
    (alarm,) = reopened.describe_alarms()
    assert (alarm["StateValue"], alarm["StateReason"]) == (ALARM, "forced")
    assert alarm["Metrics"][2]["Expression"] == "100 * errors / invocations"
    assert len(reopened.describe_alarm_history()) == 2
    clock.advance(10)
    (change,) = reopened.evaluate()  # notBreaching, no traffic -> OK
    assert change.new_state == OK
    store.close()
