"""`apicanary rehearse` against a real baseline, on recorded and synthetic traffic.

The quote-api project (tests/functional/projects/quote) is committed to a fresh git repository
as the released version; its next release, written into the working tree, raises for every
SKU whose character sum is divisible by 3. Before this feature the release rehearsed as
promoted (stable and canary were the same code, every SKU was `1`).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.fixtures.quote_project import FUNCTION, committed_project, git, write_release
from tests.support.local import running_server

SECRET = "Bearer secret-token-123"


def rehearse(project: Path, *args: str, output: str = "json") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apicanary", "rehearse", "--template",
         str(project / "template.yaml"), "--function", FUNCTION, "--output", output, *args],
        capture_output=True, text=True, timeout=240, cwd=project,
    )  # fmt: skip


def result_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def routes_of(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {route["route"]: route for route in result["routes"]}


def skus(rng: random.Random, count: int) -> list[str]:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 8))) for _ in range(count)]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return committed_project(tmp_path / "quote-api")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A `serve --record` session of the released version under varied client traffic."""
    root = tmp_path_factory.mktemp("recorded")
    released = committed_project(root / "released")
    capture = root / "traffic.jsonl"
    state = root / "state"
    with running_server(
        state, released / "template.yaml",
        extra_args=["--record", str(capture), "--record-redact", "X-Api-Key"],
    ) as server:  # fmt: skip
        rng = random.Random(7)
        headers = {"Authorization": SECRET, "Cookie": "session=abc", "X-Api-Key": "k-123",
                   "X-Trace": "keep-me"}  # fmt: skip
        with httpx.Client(base_url=server.gateway_url, headers=headers, timeout=10) as client:
            for sku in skus(rng, 90):
                assert client.get(f"/Prod/quote/{sku}", params={"quantity": 2}).status_code == 200
                if rng.random() < 0.3:
                    client.get("/Prod/catalogue", params={"category": "tea"})
                if rng.random() < 0.2:
                    client.get("/Prod/health")
    yield {"capture": capture, "access_log": state / "logs" / "access.log"}


def test_recording_redacts_secrets_and_keeps_what_a_replay_needs(
    recorded: dict[str, Path],
) -> None:
    lines = [orjson.loads(raw) for raw in recorded["capture"].read_bytes().splitlines()]
    quotes = [line for line in lines if line["path"].startswith("/Prod/quote/")]
    assert len(quotes) == 90
    for line in lines:
        headers = dict(line["headers"])
        assert headers["authorization"] == headers["cookie"] == headers["x-api-key"] == "REDACTED"
        assert headers["x-trace"] == "keep-me"
        assert line["method"] == "GET" and line["api"] == "quote-api" and line["v"] == 1
    assert quotes[0]["query"] == "quantity=2"
    assert SECRET.encode() not in recorded["capture"].read_bytes()
    # the access log names the request path and query string, not just the resource
    access = [orjson.loads(raw) for raw in recorded["access_log"].read_bytes().splitlines()]
    logged = [entry for entry in access if entry["resourcePath"] == "/quote/{sku}"]
    assert [entry["path"] for entry in logged] == [line["path"] for line in quotes]
    assert {entry["queryString"] for entry in logged} == {"quantity=2"}


def test_a_bad_release_replayed_from_a_recorded_session_is_rolled_back(
    project: Path, recorded: dict[str, Path]
) -> None:
    write_release(project, "thirds_fail")
    runs = [
        rehearse(project, "--baseline", "HEAD", "--replay", str(recorded["capture"]), "--seed", "5")
        for _ in range(2)
    ]
    assert runs[0].returncode == 3, runs[0].stderr + runs[0].stdout[:1500]
    first, second = (result_of(run) for run in runs)
    assert first["verdict"] == "rolled_back" and "canary error rate" in first["reason"]
    assert first["baseline"]["kind"] == "git" and first["traffic"]["kind"] == "capture"
    routes = routes_of(first)
    quote = routes["GET /quote/{sku}"]
    assert quote["canary"]["errorTypes"].get("KeyError", 0) > 0
    assert quote["baseline"]["failed"] == 0
    assert any("KeyError" in finding for finding in quote["findings"])
    assert not routes["GET /catalogue"]["findings"]
    # the same capture and seed replay identically: same requests, split, outcomes, verdict
    keys = ("verdict", "reason", "requests", "canaryRequests", "canaryFailed", "failed")
    assert {k: first[k] for k in keys} == {k: second[k] for k in keys}
    assert {r: (v["baseline"]["statusClasses"], v["canary"]["statusClasses"])
            for r, v in routes.items()} == {
        r: (v["baseline"]["statusClasses"], v["canary"]["statusClasses"])
        for r, v in routes_of(second).items()
    }  # fmt: skip


def test_an_access_log_replays_too(project: Path, recorded: dict[str, Path]) -> None:
    write_release(project, "thirds_fail")
    done = rehearse(project, "--replay", str(recorded["access_log"]), "--rate", "30")
    assert done.returncode == 3, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["traffic"]["kind"] == "access-log"
    assert result["baseline"]["kind"] == "git" and result["baseline"]["implicit"]


def test_the_released_version_against_itself_is_promoted(
    project: Path, recorded: dict[str, Path]
) -> None:
    # at 20 requests per virtual second: the recorded pace (a tight loop) would send 5x more
    done = rehearse(
        project, "--baseline", "HEAD", "--replay", str(recorded["capture"]), "--rate", "20"
    )
    assert done.returncode == 0, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["verdict"] == "promoted" and result["failed"] == 0
    assert result["decidedAfterSeconds"] >= 300  # Canary10Percent5Minutes, virtual
    assert result["traffic"]["passes"] > 1  # the recording was cycled through
    assert all(not route["findings"] for route in result["routes"])


def test_a_bad_release_is_rolled_back_on_synthetic_traffic_with_varied_values(
    project: Path, tmp_path: Path
) -> None:
    write_release(project, "thirds_fail")
    report = tmp_path / "rehearsal.html"
    done = rehearse(project, "--report", str(report))  # default baseline: HEAD, code changed
    assert done.returncode == 3, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["baseline"]["kind"] == "git" and result["baseline"]["implicit"]
    assert result["traffic"]["kind"] == "synthetic"
    quote = routes_of(result)["GET /quote/{sku}"]
    assert quote["canary"]["failed"] > 0 and quote["baseline"]["failed"] == 0
    page = report.read_text()
    assert "would have been rolled back" in page and "GET /quote/{sku}" in page
    assert "<script" not in page


def test_text_output_names_the_baseline_and_the_route_that_regressed(project: Path) -> None:
    write_release(project, "thirds_fail")
    done = rehearse(project, "--baseline", "HEAD", output="text")
    assert done.returncode == 3, done.stderr + done.stdout[:1500]
    assert "rolled_back" in done.stdout
    assert "HEAD, the last commit" in done.stdout
    lines = [line.strip() for line in done.stdout.splitlines()]
    row = next(i for i, line in enumerate(lines) if line.startswith("GET /quote/{sku}"))
    findings = [i for i, line in enumerate(lines) if line.startswith("!")]
    assert findings == [row + 1, row + 2]  # only the quote route is flagged, right below it
    assert lines[row + 1].startswith("! 5xx") and "KeyError" in lines[row + 2]


def test_without_changes_and_without_baseline_it_says_so(project: Path) -> None:
    done = rehearse(project, "--strategy", "AllAtOnce")
    assert done.returncode == 0, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["baseline"]["kind"] == "none"
    assert result["baseline"]["description"].startswith(
        "no baseline: canary = stable + injected faults"
    )


def test_compare_bodies_flags_the_one_route_whose_body_changed(project: Path) -> None:
    write_release(project, "new_quote_body")
    done = rehearse(project, "--compare-bodies", "--strategy", "AllAtOnce")
    assert done.returncode == 0, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["bodiesCompared"]
    routes = routes_of(result)
    quote = routes["GET /quote/{sku}"]["bodies"]
    assert quote["differing"] == quote["compared"] > 0
    assert set(quote["fields"]) == {"$.currency"}
    assert {"$.answeredAt", "$.answerId"} <= set(quote["noise"])
    for route in ("GET /catalogue", "GET /health"):
        bodies = routes[route]["bodies"]
        assert bodies["compared"] > 0 and bodies["differing"] == 0, route
        assert not routes[route]["findings"], route
        assert {"$.answeredAt", "$.answerId"} <= set(bodies["noise"])


def test_the_live_version_of_a_running_serve_is_a_baseline(project: Path, tmp_path: Path) -> None:
    with running_server(tmp_path / "state", project / "template.yaml") as server:
        write_release(project, "thirds_fail")  # serve keeps running the released version
        done = rehearse(project, "--baseline", "live", "--control-url", server.control_url)
    assert done.returncode == 3, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["baseline"]["kind"] == "live" and result["baseline"]["revision"] == "1"
    assert routes_of(result)["GET /quote/{sku}"]["baseline"]["failed"] == 0


def test_a_directory_is_a_baseline(project: Path, tmp_path: Path) -> None:
    released = tmp_path / "released-copy"
    shutil.copytree(project, released, ignore=shutil.ignore_patterns(".git"))
    write_release(project, "thirds_fail")
    done = rehearse(project, "--baseline", str(released))
    assert done.returncode == 3, done.stderr + done.stdout[:1500]
    assert result_of(done)["baseline"]["kind"] == "directory"


def test_requests_listed_by_hand(project: Path, tmp_path: Path) -> None:
    write_release(project, "thirds_fail")
    listing = tmp_path / "requests.txt"
    lines = [
        "# a hand-written list",
        *(f"GET /quote/{s}?quantity=1" for s in skus(random.Random(3), 30)),
    ]
    listing.write_text("\n".join(lines) + '\n{"method": "GET", "path": "/health"}\n')
    done = rehearse(project, "--requests", str(listing))
    assert done.returncode == 3, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["traffic"]["kind"] == "requests" and result["traffic"]["recorded"] == 31


def test_rehearsing_never_touches_the_working_tree_or_the_index(project: Path) -> None:
    write_release(project, "thirds_fail")
    index = project / ".git" / "index"
    before = (git(project, "status", "--porcelain"), index.read_bytes(), index.stat().st_mtime_ns)
    done = rehearse(project, "--baseline", "HEAD", "--strategy", "AllAtOnce")
    assert done.returncode in (0, 3), done.stderr
    after = (git(project, "status", "--porcelain"), index.read_bytes(), index.stat().st_mtime_ns)
    assert before == after


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--baseline", "no-such-branch"], "--baseline no-such-branch"),
        (["--replay", "missing.jsonl"], "--replay missing.jsonl: no such file"),
        (["--replay", "a.jsonl", "--requests", "b.txt"], "alternatives"),
        (["--rate", "0"], "--rate 0"),
    ],
)
def test_bad_input_exits_2_naming_it(project: Path, args: list[str], expected: str) -> None:
    (project / "a.jsonl").write_text('{"v": 1}\n')
    (project / "b.txt").write_text("GET /health\n")
    done = rehearse(project, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stdout + done.stderr


def test_a_recording_of_other_routes_only_is_refused(project: Path, tmp_path: Path) -> None:
    listing = tmp_path / "other.txt"
    listing.write_text("GET /not/a/route\nPOST /quote/abc\n")
    done = rehearse(project, "--requests", str(listing))
    assert done.returncode == 2
    assert "none of its 2 request(s)" in done.stdout + done.stderr


def test_a_rehearsal_that_never_decides_fails_rather_than_passes(project: Path) -> None:
    done = rehearse(project, "--max-minutes", "0.1")  # 6 virtual seconds of a 5-minute bake
    assert done.returncode == 1, done.stdout + done.stderr
    assert result_of(done)["verdict"] == "running"
    text = rehearse(project, "--max-minutes", "0.1", output="text")
    assert text.returncode == 1
    assert "had not decided after 0.1 virtual minutes" in text.stderr
