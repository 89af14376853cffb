"""`apicanary demo`: the whole story, as `make demo` runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_demo_promotes_the_good_release_and_rolls_back_the_bad(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "apicanary", "demo", "--output", "json", "--report", str(report)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["goodRelease"] == "promoted"
    assert summary["badRelease"] == "rolled_back"
    assert summary["requestsServed"] > 300
    # caught after a handful of failed canary requests, well before its 10 s bake ended
    assert 1 <= summary["failedCanaryRequestsBeforeRollback"] <= 12
    assert summary["secondsToRollback"] < 10
    assert summary["failedRequests"] <= summary["failedRequestsDuringBadRollout"] + 2
    kinds = [d["kind"] for d in summary["decisions"]]
    assert kinds.count("promoted") == 1 and kinds.count("rolled_back") == 1
    # the sequential test usually decides first; the template's alarm (errors in a 60 s
    # period) can win when its period happens to close just after the first failures
    bad = summary["releases"][1]
    assert "canary error rate" in bad["reason"] or "alarm in ALARM" in bad["reason"]
    # the example's HTTP API is listed beside its REST API
    kinds_and_names = {(api["kind"], api["name"]) for api in summary["apis"]}
    assert kinds_and_names == {("REST", "ServerlessRestApi"), ("HTTP", "ServerlessHttpApi")}
    page = report.read_text()
    assert page.count("<svg") == 3 and bad["reason"] in page
