"""The dashboard in a real Chromium, for an HTTP API (API Gateway v2) and a rollout behind it.

quote-http (an implicit SAM HTTP API, payload 2.0, the `$default` stage) is served by a real
`apicanary serve`. The page lists the HTTP API beside REST APIs, marked as one, with its
`$default` stage and no stage canary ("alias only"); a rollout of the function's alias, under
traffic through the HTTP API, shows as an alias-weights rollout whose actions are intents
only (the dashboard offers no stage-canary controls), and its Promote button moves the alias.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.support import lambda_client, page_problems, wait_for
from tests.fixtures.quote_project import FUNCTION, HTTP_PROJECT, write_release
from tests.support.local import ServerProcess, running_server
from tests.support.traffic import SteadyGets

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/apicanary-dashboard-http-api.png")
STRATEGY = {"steps": [{"setWeight": 20}, {"pause": {}}]}
API = "ServerlessHttpApi"  # SAM's implicit HTTP API


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "quote-http"
    shutil.copytree(HTTP_PROJECT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.fixture
def server(tmp_path: Path, project: Path) -> Iterator[ServerProcess]:
    with running_server(tmp_path / "state", project / "template.yaml", seed=5) as served:
        yield served


def test_an_http_api_and_a_rollout_behind_it_appear_as_such(
    page: Any, server: ServerProcess, project: Path
) -> None:
    from playwright.sync_api import expect

    problems = page_problems(page)
    http_apis = server.info["provisioned"]["httpApis"]
    assert [a["name"] for a in http_apis] == [API]
    api_id = http_apis[0]["api_id"]

    page.goto(server.control_url + "/")
    row = page.locator("#apis tbody tr", has_text=API)
    expect(row).to_be_visible()  # zero-size text on a fontless machine fails here
    cells = row.locator("td")
    expect(cells).to_have_text(
        [f"{API} ({api_id}) · HTTP API", "$default", re.compile(r"\S+"), "alias only", "–", "–"]
    )
    fn = page.locator("#functions tbody tr", has_text="live")
    expect(fn).to_contain_text(FUNCTION)
    expect(fn).to_contain_text("live → 1")

    write_release(project, "new_quote_body")
    lam = lambda_client(server)
    assert lam.publish_version(FunctionName=FUNCTION)["Version"] == "2"

    control = httpx.Client(base_url=server.control_url, timeout=10)
    # a stage canary cannot exist on an HTTP API: the control plane refuses it with the reason
    refused = control.post(
        "/_apicanary/rollouts",
        json={"function": FUNCTION, "alias": "live", "toVersion": "2", "mode": "stage",
              "api": api_id, "stage": "$default", "strategy": STRATEGY},
    )  # fmt: skip
    assert refused.status_code == 400, refused.text
    assert "alias" in refused.text and "HTTP API" in refused.text

    with SteadyGets(server, "/quote/AB-100"):  # the only API: no Host needed, no stage prefix
        started = control.post(
            "/_apicanary/rollouts",
            json={"function": FUNCTION, "alias": "live", "toVersion": "2", "strategy": STRATEGY},
        )
        assert started.status_code == 201, started.text
        rid = started.json()["id"]

        def rollout() -> dict[str, Any]:
            document: dict[str, Any] = control.get(f"/_apicanary/rollouts/{rid}").json()
            return document

        card = page.locator("#rollouts article", has_text=rid)
        expect(card.locator(".badge")).to_have_text("waiting")
        expect(card.locator('[data-f="weight"]')).to_have_text("20%")
        expect(card.locator('[data-f="mode"]')).to_have_text("alias weights")
        expect(fn).to_contain_text("1: 80% · 2: 20%")
        # the API row is unchanged: the canary is in the alias, not in the HTTP API's stage
        expect(cells.nth(3)).to_have_text("alias only")
        # the rollout's actions are intents; nothing offers a stage canary or a mode
        actions = card.get_by_role("group", name=f"Actions for rollout {rid}")
        expect(actions.get_by_role("button")).to_have_text(
            ["Promote", "Promote fully", "Pause", "Resume", "Abort", "Show journal"]
        )
        expect(page.get_by_text(re.compile("stage canary|canary deployment", re.I))).to_have_count(
            1  # the column header of the APIs table, and nothing else
        )
        # traffic through the HTTP API reached the canary through the alias
        legend = page.locator(".chart-group", has_text=f"{FUNCTION}:live").locator(".legend")
        expect(legend).to_contain_text(
            re.compile(r"version 2 \(canary\): [1-9]\d* requests"), timeout=15_000
        )
        page.screenshot(path=str(SCREENSHOT))

        actions.get_by_role("button", name="Promote", exact=True).click()
        done = wait_for(rollout, lambda d: bool(d["terminal"]))
        assert done["status"] == "promoted", done

    alias = lam.get_alias(FunctionName=FUNCTION, Name="live")
    assert alias["FunctionVersion"] == "2"
    expect(card).to_have_count(0)
    expect(fn).to_contain_text("live → 2")
    expect(fn).to_contain_text("2: 100%")
    # the HTTP API now answers with the release (the alias serves version 2 only)
    answer = httpx.get(server.gateway_url + "/quote/AB-100", timeout=10)
    assert answer.status_code == 200 and answer.json()["currency"] == "EUR"
    assert not problems, problems
