"""CloudWatch Logs filter patterns: terms and JSON forms, and the errors for bad ones."""

from __future__ import annotations

import orjson
import pytest

from apicanary.engine.logs.filter import FilterPatternError, compile_pattern

REPORT = orjson.dumps(
    {
        "type": "platform.report",
        "record": {"status": "error", "errorType": "ValueError", "metrics": {"durationMs": 120.5}},
        "tags": ["a", "b"],
        "ok": False,
        "gone": None,
    }
).decode()


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("", "anything", True),
        ("   ", "anything", True),
        ("ERROR", "[ERROR] boom", True),
        ("ERROR", "[error] boom", False),  # case-sensitive
        ("ERROR boom", "[ERROR] boom", True),
        ("ERROR bang", "[ERROR] boom", False),
        ('"Task timed out"', "x Task timed out after 3.00 seconds", True),
        ('"Task timed out"', "Task was timed out", False),
        ("ERROR -DEBUG", "ERROR only", True),
        ("ERROR -DEBUG", "ERROR DEBUG", False),
        ("?ERROR ?WARN", "WARN x", True),
        ("?ERROR ?WARN", "INFO x", False),
        ("REPORT ?Init", "REPORT Duration", False),
    ],
)
def test_terms(pattern: str, message: str, expected: bool) -> None:
    assert compile_pattern(pattern)(message) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.type = "platform.report" }', True),
        ("{ $.type = platform.report }", True),
        ('{ $.type = "platform.start" }', False),
        ('{ $.record.status != "success" }', True),
        ('{ $.record.status = "succ*" }', False),
        ('{ $.record.errorType = "Value*" }', True),
        ("{ $.record.metrics.durationMs > 100 }", True),
        ("{ $.record.metrics.durationMs >= 120.5 }", True),
        ("{ $.record.metrics.durationMs < 100 }", False),
        ("{ $.record.metrics.durationMs = 120.5 }", True),
        ('{ $.tags[1] = "b" }', True),
        ("{ $.ok IS FALSE }", True),
        ("{ $.gone IS NULL }", True),
        ("{ $.missing NOT EXISTS }", True),
        ("{ $.record EXISTS }", True),
        ('{ $.type = "platform.report" && $.record.status = "error" }', True),
        ('{ $.type = "x" || $.record.status = "error" }', True),
        ('{ ($.type = "x" || $.type = "y") && $.record.status = "error" }', False),
        ('{ $.missing != "x" }', False),  # != needs the field
    ],
)
def test_json_patterns(pattern: str, expected: bool) -> None:
    assert compile_pattern(pattern)(REPORT) is expected


def test_json_pattern_never_matches_text() -> None:
    assert compile_pattern('{ $.level = "ERROR" }')("[ERROR] not json") is False
    assert compile_pattern('{ $.level = "ERROR" }')('["ERROR"]') is False


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ('"unclosed', "unbalanced quotes"),
        ("{ $.a = 1", "ends too early"),
        ("{ $.a > abc }", "needs a number"),
        ("{ a = 1 }", "expected a $.selector"),
        ("{ $.a = 1 } extra", "after the closing"),
        ("[ip, user]", "not supported"),
        ("x" * 1025, "the limit is 1024"),
    ],
)
def test_bad_patterns_say_why(pattern: str, why: str) -> None:
    with pytest.raises(FilterPatternError) as caught:
        compile_pattern(pattern)
    assert why in str(caught.value)
