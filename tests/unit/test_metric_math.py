"""Metric math parser/evaluator and GetMetricData semantics."""

from __future__ import annotations

from typing import Any

import pytest

from apicanary.clock import VirtualClock
from apicanary.engine.cloudwatch.expressions.evaluator import Context, evaluate
from apicanary.engine.cloudwatch.expressions.syntax import (
    BinOp,
    Call,
    MathError,
    Num,
    Ref,
    Unary,
    parse,
    references,
)
from apicanary.engine.cloudwatch.metrics.store import MetricStore
from apicanary.engine.cloudwatch.values import metric_key
from apicanary.errors import AwsApiError

T0 = 1_800_000_000.0
NS = "AWS/Lambda"
DIMS = [{"Name": "FunctionName", "Value": "api"}]


def test_parser_precedence_and_shapes() -> None:
    assert parse("100 * errors / invocations") == BinOp(
        "/", BinOp("*", Num(100.0), Ref("errors")), Ref("invocations")
    )
    assert parse("-a + b * 2 ^ 2") == BinOp(
        "+", Unary("-", Ref("a")), BinOp("*", Ref("b"), BinOp("^", Num(2.0), Num(2.0)))
    )
    assert parse("FILL(m1, 0)") == Call("FILL", (Ref("m1"), Num(0.0)))
    assert parse("SUM(METRICS())") == Call("SUM", (Call("METRICS", ()),))
    assert references(parse("IF(a > 0, b / a, 0)")) == {"a", "b"}


@pytest.mark.parametrize(
    "text",
    ["", "a +", "(a", "a b", "__import__('os')", "a; b", "Foo", "a.b", "1 +* 2", "AND"],
)
def test_parser_rejects_garbage_without_eval(text: str) -> None:
    with pytest.raises(MathError):
        node = parse(text)
        evaluate(node, Context({}, [], []))


def ctx(**series: dict[float, float]) -> Context:
    return Context(dict(series), [(k, k, v) for k, v in series.items()], [0.0, 10.0, 20.0, 30.0])


def run(text: str, c: Context) -> Any:
    return evaluate(parse(text), c)


def test_arithmetic_missing_counts_as_zero_and_division_by_zero_is_dropped() -> None:
    c = ctx(e={0.0: 1.0, 10.0: 0.0, 30.0: 2.0}, i={0.0: 20.0, 10.0: 0.0, 20.0: 5.0})
    assert run("100 * e / i", c) == {0.0: 5.0, 20.0: 0.0}  # 10: 0/0 dropped, 30: 2/0 dropped
    assert run("e + i", c) == {0.0: 21.0, 10.0: 0.0, 20.0: 5.0, 30.0: 2.0}
    assert run("FILL(e, 0)", c) == {0.0: 1.0, 10.0: 0.0, 20.0: 0.0, 30.0: 2.0}
    assert run("FILL(i, REPEAT)", c) == {0.0: 20.0, 10.0: 0.0, 20.0: 5.0, 30.0: 5.0}
    assert run("IF(i > 0, 100 * e / i)", c) == {0.0: 5.0, 20.0: 0.0}
    assert run("IF(i > 0, e, -1)", c) == {0.0: 1.0, 10.0: -1.0}  # e missing at 20: dropped
    assert run("SUM(METRICS())", c) == {0.0: 21.0, 10.0: 0.0, 20.0: 5.0, 30.0: 2.0}
    assert run("MAX(METRICS())", c) == {0.0: 20.0, 10.0: 0.0, 20.0: 5.0, 30.0: 2.0}
    assert run("AVG(e)", c) == 1.0  # one series -> scalar over time
    assert run("MIN(i)", c) == 0.0
    assert run("ABS(-e)", c) == {0.0: 1.0, 10.0: 0.0, 30.0: 2.0}
    with pytest.raises(MathError, match="Function 'NOPE' not found"):
        run("NOPE(e)", c)
    with pytest.raises(MathError, match="Unrecognized metric id zz"):
        run("zz + 1", c)


def stat(qid: str, name: str, stat: str = "Sum", period: int = 10, **extra: Any) -> dict[str, Any]:
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": NS, "MetricName": name, "Dimensions": DIMS},
            "Period": period,
            "Stat": stat,
        },
        **extra,
    }


def loaded_store() -> MetricStore:
    clock = VirtualClock(T0)
    metrics = MetricStore(clock)
    inv = metric_key(NS, "Invocations", DIMS)
    err = metric_key(NS, "Errors", DIMS)
    # periods: [T0: 20 inv, 1 err] [T0+10: 10 inv, 0 err] [T0+20: nothing] [T0+30: 0 inv?]
    metrics.put_many((inv, T0 + i / 4, 1.0, "Count") for i in range(20))
    metrics.put_many((err, T0 + 1, 1.0, "Count") for _ in range(1))
    metrics.put_many((inv, T0 + 10 + i / 4, 1.0, "Count") for i in range(10))
    metrics.put_many((err, T0 + 31, 1.0, "Count") for _ in range(2))  # errors, no invocations
    clock.advance(60)
    return metrics


def test_get_metric_data_error_rate_descending_and_return_data() -> None:
    metrics = loaded_store()
    out = metrics.get_metric_data(
        [
            stat("errors", "Errors", ReturnData=False),
            stat("invocations", "Invocations", ReturnData=False),
            {"Id": "rate", "Expression": "100 * errors / invocations", "Label": "Error %"},
        ],
        T0,
        T0 + 60,
    )
    assert out == {
        "MetricDataResults": [
            {
                "Id": "rate",
                "Label": "Error %",
                "Timestamps": [T0 + 10, T0],  # T0+30: 2/0 dropped
                "Values": [0.0, 5.0],
                "StatusCode": "Complete",
            }
        ],
        "Messages": [],
    }
    asc = metrics.get_metric_data(
        [stat("m1", "Invocations", "SampleCount")], T0, T0 + 60, scan_by="TimestampAscending"
    )["MetricDataResults"][0]
    assert (asc["Label"], asc["Timestamps"], asc["Values"]) == (
        "Invocations",
        [T0, T0 + 10],
        [20.0, 10.0],
    )


def test_get_metric_data_fill_and_metrics_function() -> None:
    metrics = loaded_store()
    (filled,) = metrics.get_metric_data(
        [stat("e", "Errors", ReturnData=False), {"Id": "f", "Expression": "FILL(e, 0)"}],
        T0,
        T0 + 40,
    )["MetricDataResults"]
    assert filled["Timestamps"] == [T0 + 30, T0 + 20, T0 + 10, T0]
    assert filled["Values"] == [2.0, 0.0, 0.0, 1.0]
    results = metrics.get_metric_data(
        [
            stat("e", "Errors", ReturnData=False),
            stat("i", "Invocations", ReturnData=False),
            {"Id": "total", "Expression": "SUM(METRICS())"},
        ],
        T0,
        T0 + 40,
    )["MetricDataResults"]
    assert results[0]["Values"] == [2.0, 10.0, 21.0]


@pytest.mark.parametrize(
    ("queries", "code", "fragment"),
    [
        ([{"Id": "Bad", "Expression": "1"}], "ValidationError", "Bad"),
        ([stat("a", "Errors"), stat("a", "Errors")], "ValidationError", "not unique"),
        ([{"Id": "e", "Expression": "x * 2"}], "ValidationError", "Unrecognized metric id x"),
        (
            [{"Id": "a", "Expression": "b + 1"}, {"Id": "b", "Expression": "a + 1"}],
            "ValidationError",
            "Circular",
        ),
        ([{"Id": "e", "Expression": "1 +"}], "ValidationError", "Error in expression 'e'"),
        ([stat("m", "Errors", "tm99")], "InvalidParameterValue", "tm99"),
        ([{"Id": "m"}], "ValidationError", "Exactly one of MetricStat and Expression"),
    ],
)
def test_get_metric_data_validation(
    queries: list[dict[str, Any]], code: str, fragment: str
) -> None:
    metrics = loaded_store()
    with pytest.raises(AwsApiError) as err:
        metrics.get_metric_data(queries, T0, T0 + 60)
    assert err.value.code == code
    assert fragment in err.value.message
