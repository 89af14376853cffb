"""`apicanary rehearse` on an HTTP API (API Gateway v2): the release against its baseline.

quote-http (tests/functional/projects/quote-http) is the quote-api on an HTTP API: payload
format 2.0, routes `GET /quote/{sku}`, `GET /catalogue` and `$default`, the `$default` stage
served without a prefix. HTTP API stages have no canary, so the rollout goes through the
function's alias. Before this feature `rehearse` refused the project ("no API route that
invokes its alias"): it placed traffic on REST APIs only.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.fixtures.quote_project import HTTP_PROJECT, committed_project, write_release
from tests.functional.test_rehearse_baseline import rehearse, result_of, routes_of, skus
from tests.support.local import running_server


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return committed_project(tmp_path / "quote-http", HTTP_PROJECT)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A `serve --record` session of the released HTTP API under varied client traffic."""
    root = tmp_path_factory.mktemp("recorded-http")
    released = committed_project(root / "released", HTTP_PROJECT)
    recording = root / "traffic.jsonl"
    with running_server(
        root / "state", released / "template.yaml", extra_args=["--record", str(recording)]
    ) as server:
        rng = random.Random(11)
        with httpx.Client(base_url=server.gateway_url, timeout=10) as client:
            for sku in skus(rng, 60):
                assert client.get(f"/quote/{sku}", params={"quantity": 3}).status_code == 200
                if rng.random() < 0.3:
                    assert client.get("/catalogue", params={"category": "tea"}).status_code == 200
                if rng.random() < 0.2:
                    assert client.get("/health").status_code == 200
    yield recording


@pytest.fixture(scope="module")
def access_log(capture: Path) -> Path:
    """The access log `serve` wrote in the same session as ``capture``."""
    return capture.parent / "state" / "logs" / "access.log"


def test_a_bad_release_on_an_http_api_is_rolled_back_on_synthetic_traffic(
    project: Path,
) -> None:
    write_release(project, "thirds_fail")
    done = rehearse(project, "--baseline", "HEAD")
    assert done.returncode == 3, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["verdict"] == "rolled_back" and "canary error rate" in result["reason"]
    assert result["traffic"]["kind"] == "synthetic"
    routes = routes_of(result)
    assert set(routes) == {"GET /quote/{sku}", "GET /catalogue", "$default"}
    quote = routes["GET /quote/{sku}"]
    assert quote["canary"]["errorTypes"].get("KeyError", 0) > 0
    assert quote["baseline"]["failed"] == 0 and quote["baseline"]["requests"] > 0
    assert any("KeyError" in finding for finding in quote["findings"])
    assert not routes["GET /catalogue"]["findings"]


def test_a_recorded_http_api_session_replays_without_a_stage_prefix(
    project: Path, capture: Path
) -> None:
    lines = [orjson.loads(raw) for raw in capture.read_bytes().splitlines()]
    assert lines and all(not line["path"].startswith("/$default") for line in lines)
    write_release(project, "thirds_fail")
    done = rehearse(project, "--baseline", "HEAD", "--replay", str(capture), "--rate", "30")
    assert done.returncode == 3, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["traffic"]["kind"] == "capture" and not result["traffic"]["skipped"]
    routes = routes_of(result)
    assert routes["GET /quote/{sku}"]["canary"]["errorTypes"].get("KeyError", 0) > 0
    assert routes["$default"]["baseline"]["statusClasses"] == {"2xx": routes["$default"][
        "baseline"]["requests"]}  # fmt: skip  # /health, through the $default route


def test_the_released_http_api_against_itself_is_promoted(project: Path, capture: Path) -> None:
    done = rehearse(project, "--baseline", "HEAD", "--replay", str(capture), "--rate", "20")
    assert done.returncode == 0, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["verdict"] == "promoted" and result["failed"] == 0
    assert result["decidedAfterSeconds"] >= 300  # Canary10Percent5Minutes, through the alias
    assert result["canaryRequests"] > 0
    assert all(not route["findings"] for route in result["routes"])


def test_hand_written_requests_are_placed_on_http_api_routes(project: Path, tmp_path: Path) -> None:
    write_release(project, "thirds_fail")
    listing = tmp_path / "requests.txt"
    quotes = [f"GET /quote/{s}" for s in skus(random.Random(5), 30)]
    listing.write_text("\n".join([*quotes, "GET /health", "POST /quote/abc"]) + "\n")
    done = rehearse(project, "--requests", str(listing))
    assert done.returncode == 3, done.stderr + done.stdout[:1500]
    result = result_of(done)
    # POST /quote/abc has no route of its own: the $default route takes it, as on AWS
    assert result["traffic"]["recorded"] == 32 and not result["traffic"]["skipped"]
    assert set(routes_of(result)) == {"GET /quote/{sku}", "$default"}


def test_a_fault_on_one_http_api_route_lands_on_that_route_only(project: Path) -> None:
    done = rehearse(project, "--fault", "error-rate=0.5@GET /catalogue", "--rate", "30")
    assert done.returncode == 3, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["injectedFaults"] > 0
    routes = routes_of(result)
    assert routes["GET /catalogue"]["canary"]["errorTypes"].get("Rehearsal.InjectedError", 0) > 0
    assert routes["GET /quote/{sku}"]["canary"]["failed"] == 0


def test_api_names_the_api_to_rehearse_on(project: Path) -> None:
    done = rehearse(project, "--api", "ServerlessRestApi")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--api ServerlessRestApi: not an API with a route of this function" in (
        done.stdout + done.stderr
    )
    assert "ServerlessHttpApi (HTTP)" in done.stdout + done.stderr
    write_release(project, "thirds_fail")
    chosen = rehearse(project, "--api", "ServerlessHttpApi", "--baseline", "HEAD")
    assert chosen.returncode == 3, chosen.stderr + chosen.stdout[:1500]


def test_an_http_api_access_log_replays_too(project: Path, access_log: Path) -> None:
    write_release(project, "thirds_fail")
    done = rehearse(project, "--replay", str(access_log), "--rate", "30")
    assert done.returncode == 3, done.stderr + done.stdout[:1500]
    result = result_of(done)
    assert result["traffic"]["kind"] == "access-log" and not result["traffic"]["skipped"]
    assert routes_of(result)["GET /quote/{sku}"]["canary"]["failed"] > 0
