from __future__ import annotations

import pytest

from apicanary.demo import releases, report
from apicanary.demo.story import ending, example_dir
from apicanary.demo.traffic import Answer
from apicanary.errors import PlatformError


def test_release_edits_apply_to_the_bundled_example_exactly_once() -> None:
    source = (example_dir() / "src" / "app.py").read_text()
    good = releases.apply(releases.GOOD, source)
    bad = releases.apply(releases.BAD, good)
    assert '"count": len(ORDERS)' in good and "eta_days" not in good
    assert 'eta_days = 14 // (order["quantity"] - 1)' in bad and '"count"' in bad
    compile(bad, "app.py", "exec")  # both releases are valid Python
    with pytest.raises(PlatformError, match="found it 0 times"):
        releases.apply(releases.BAD, bad)  # an edit never applies silently twice


def test_the_bad_release_fails_only_single_item_orders() -> None:
    namespace: dict[str, object] = {}
    source = releases.apply(releases.BAD, (example_dir() / "src" / "app.py").read_text())
    exec(compile(source, "app.py", "exec"), namespace)
    get_order = namespace["get_order"]
    assert callable(get_order)
    assert get_order({"pathParameters": {"id": "1001"}})[0] == 200  # quantity 2
    with pytest.raises(ZeroDivisionError):
        get_order({"pathParameters": {"id": "1002"}})  # quantity 1


def test_report_series_and_page() -> None:
    answers = [
        Answer(at=0.1, route="GET /", status=200, latency_ms=10, version="1"),
        Answer(at=0.5, route="GET /", status=502, latency_ms=30, version="2"),
        Answer(at=0.7, route="GET /", status=200, latency_ms=20, version="2"),
        Answer(at=1.2, route="GET /", status=599, latency_ms=1, version=None),
    ]
    errors, latency = report.per_version(answers)
    assert errors["v1"] == [(0.0, 0.0)]
    assert errors["v2"] == [(0.0, 50.0)]
    assert errors["no answer"] == [(1.0, 100.0)]
    assert latency["v2"] == [(0.0, 30.0)]
    page = report.render(
        {"requestsServed": 4, "releases": [], "decisions": []},
        answers,
        {"v2": [(0.0, 0.0), (0.4, 10.0)]},
        [(0.6, "v2 rolled_back")],
    )
    assert page.count("<svg") == 3 and "v2 rolled_back" in page


@pytest.mark.parametrize(
    ("status", "reason", "after_s", "said"),
    [
        ("promoted", "promoted", 10.06, "promoted after 10.1s"),
        ("promoted", "", None, "promoted"),
        (
            "promoted",
            "promoted (unverified: the guard could not confirm it)",
            None,
            "promoted (unverified: the guard could not confirm it)",
        ),
        (
            "rolled_back",
            "canary error rate 50.00%",
            2.3,
            "rolled back after 2.3s: canary error rate 50.00%",
        ),
        ("rolled_back", "rolled back: alarm X in ALARM", None, "rolled back: alarm X in ALARM"),
        ("aborted", "aborted by a human", 3.04, "aborted after 3.0s by a human"),
    ],
)
def test_a_rollouts_ending_says_its_reason_once(
    status: str, reason: str, after_s: float | None, said: str
) -> None:
    assert ending(status, reason, after_s) == said
