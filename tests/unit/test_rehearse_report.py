"""The differential report: per-route statistics, findings, body differences, HTML."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from apicanary.local.rehearse.bodies import Comparison, Response, compare, differences, fields
from apicanary.local.rehearse.html import render_html
from apicanary.local.rehearse.report import arm_stats, fisher_greater, route_reports
from apicanary.local.rehearse.session import Observation


def obs(route: str, version: str, status: int = 200, ms: float = 10.0, **kw: Any) -> Observation:
    return Observation(0.0, route, version, status, kw.get("error"), ms, kw.get("cold", False))


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(status, "application/json", orjson.dumps(body))


# --- statistics and findings -------------------------------------------------------------------


def test_fisher_exact_matches_the_hypergeometric_tail() -> None:
    # 3 of 3 canary failures vs 0 of 3: P = 1 / C(6, 3)
    assert fisher_greater(3, 3, 0, 3) == pytest.approx(1 / 20)
    # no evidence at all when the shares are equal
    assert fisher_greater(5, 50, 5, 50) > 0.5
    # a third of 60 canary requests failing against none of 600 is far beyond chance
    assert fisher_greater(20, 60, 0, 600) < 1e-15
    direct = sum(math.comb(7, x) * math.comb(93, 20 - x) for x in range(4, 8)) / math.comb(100, 20)
    assert fisher_greater(4, 20, 3, 80) == pytest.approx(direct)


def test_arm_statistics() -> None:
    arm = [obs("r", "1", ms=float(i)) for i in range(1, 101)]
    arm += [obs("r", "1", 502, 1.0, error="KeyError"), obs("r", "1", 404, 1000.0, cold=True)]
    stats = arm_stats(arm)
    assert stats["requests"] == 102 and stats["failed"] == 1
    assert stats["errorTypes"] == {"KeyError": 1}
    assert stats["statusClasses"] == {"2xx": 100, "4xx": 1, "5xx": 1}
    assert stats["p50Ms"] == 50.0 and stats["p99Ms"] == 99.0  # warm only: the cold 1000 ms out
    assert stats["coldStarts"] == 1


def test_findings_name_the_route_that_regressed_and_only_it() -> None:
    observations = [obs("GET /a", "1") for _ in range(300)] + [
        obs("GET /b", "1") for _ in range(300)
    ]
    observations += [obs("GET /a", "2", 502, error="KeyError") for _ in range(10)]
    observations += [obs("GET /a", "2") for _ in range(20)]
    observations += [obs("GET /b", "2") for _ in range(30)]
    reports = route_reports(observations, stable="1", canary="2")
    assert [r["route"] for r in reports] == ["GET /a", "GET /b"]  # findings first
    a, b = reports
    assert a["findings"][0].startswith("5xx: 33.3% of canary requests vs 0.0%")
    assert "KeyError" in a["findings"][1]
    assert b["findings"] == []


def test_a_few_errors_on_both_arms_are_not_a_finding() -> None:
    observations = [obs("GET /a", "1", 502 if i % 50 == 0 else 200) for i in range(500)]
    observations += [obs("GET /a", "2", 502 if i % 40 == 0 else 200) for i in range(80)]
    (report,) = route_reports(observations, stable="1", canary="2")
    assert report["findings"] == []


# --- bodies ------------------------------------------------------------------------------------


def test_fields_flatten_json_and_keep_other_bodies_whole() -> None:
    flat = fields(json_response({"a": {"b": [1, {"c": None}]}, "odd key": [], "e": {}}))
    assert flat == {"status": 200, "content-type": "application/json", "$.a.b[0]": 1,
                    "$.a.b[1].c": None, '$["odd key"]': [], "$.e": {}}  # fmt: skip
    text = fields(Response(200, "text/plain; charset=utf-8", b"hello"))
    assert text == {"status": 200, "content-type": "text/plain", "$body": b"hello"}
    found = differences({"x": 1, "z": True}, {"x": 1.0, "y": 2, "z": True})
    assert set(found) == {"x", "y"} and found["x"] == (1, 1.0)  # 1 and 1.0 are not the same


def comparison(route: str, i: int, canary_extra: dict[str, Any]) -> Comparison:
    def answer(run: int, extra: dict[str, Any]) -> Response:
        return json_response({"id": i, "items": [{"at": f"t{i}.{run}"}, {"at": f"u{i}.{run}"}],
                              "requestId": f"r{i}-{run}", **extra})  # fmt: skip

    return Comparison(route, f"GET /x/{i}", answer(1, {}), answer(2, canary_extra), answer(3, {}))


def test_noise_is_what_two_baseline_runs_disagree_about() -> None:
    comparisons = [comparison("GET /a", i, {"currency": "EUR"}) for i in range(5)]
    comparisons += [comparison("GET /b", i, {}) for i in range(5)]
    summary = compare(comparisons)
    a, b = summary["GET /a"], summary["GET /b"]
    assert a["compared"] == 5 and a["differing"] == 5 and a["fields"] == {"$.currency": 5}
    assert a["noise"] == ["$.items[*].at", "$.requestId"]
    assert a["examples"][0] == {"request": "GET /x/0", "field": "$.currency",
                                "baseline": "(absent)", "canary": '"EUR"'}  # fmt: skip
    assert b["differing"] == 0 and b["fields"] == {}


def test_a_changed_status_is_a_difference() -> None:
    same = json_response({"ok": True})
    summary = compare(
        [Comparison("GET /a", "GET /a", same, json_response({"ok": True}, 502), same)]
    )
    assert summary["GET /a"]["fields"] == {"status": 1}


def test_a_field_noisy_anywhere_on_a_route_is_noise_everywhere_on_it() -> None:
    # the second request's baseline runs agree on `n`, the first's do not: `n` is noise
    first = Comparison("GET /a", "1", json_response({"n": 1}), json_response({"n": 5}),
                       json_response({"n": 2}))  # fmt: skip
    second = Comparison("GET /a", "2", json_response({"n": 3}), json_response({"n": 4}),
                        json_response({"n": 3}))  # fmt: skip
    assert compare([first, second])["GET /a"]["differing"] == 0


# --- HTML --------------------------------------------------------------------------------------


def result_with(route: str, finding: str) -> dict[str, Any]:
    stats = arm_stats([obs(route, "1")])
    return {
        "verdict": "rolled_back", "reason": "canary error rate <high>", "unverified": False,
        "canaryVersion": "3", "stableVersion": "2",
        "baseline": {"description": "HEAD (abc)"},
        "traffic": {"description": "synthetic", "pace": "20 requests per second"},
        "strategy": "10% for 5m", "faults": [], "decidedAfterSeconds": 12.0, "requests": 10,
        "canaryRequests": 1,
        "timeline": {"baseline": [[0, 9, 0, 1.0]], "canary": [[0, 1, 1, 2.0]]},
        "routes": [{"route": route, "baseline": stats, "canary": stats, "findings": [finding],
                    "bodies": {"compared": 1, "differing": 1, "fields": {"$.x": 1},
                               "noise": [], "examples": []}}],
        "bodiesCompared": True,
        "journal": [{"at": 1.0, "kind": "rolled_back", "message": "rolled back"}],
    }  # fmt: skip


def test_the_html_report_is_self_contained_and_escapes_what_it_shows() -> None:
    page = render_html(result_with("GET /<script>", "5xx: <b>"))
    assert page.startswith("<!doctype html>") and "would have been rolled back" in page
    assert "<script" not in page and "&lt;script&gt;" in page and "&lt;b&gt;" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert page.count("<svg") == 3 and "Response bodies" in page
