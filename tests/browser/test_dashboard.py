"""The dashboard in a real Chromium against a real ``apicanary serve``.

It shows the API, its stage and the function's alias weights; a rollout started through the
JSON API appears live; the page's Pause, Resume and Promote buttons write intents that the
controller consumes, up to the alias serving the new version.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.support import lambda_client, page_problems, wait_for
from tests.fixtures.canary_project import set_handler_tag, write_project
from tests.support.local import ServerProcess, running_server
from tests.support.traffic import SteadyGets

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/apicanary-dashboard.png")
SCREENSHOT_DARK = Path("/tmp/apicanary-dashboard-dark.png")
STRATEGY = {"steps": [{"setWeight": 20}, {"pause": {}}]}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    template = write_project(tmp_path / "project")
    with running_server(tmp_path / "state", template, seed=5) as served:
        yield served


def test_dashboard_shows_state_and_drives_a_rollout(
    page: Any, server: ServerProcess, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    problems = page_problems(page)

    page.goto(server.control_url + "/")
    apis = page.locator("#apis tbody tr", has_text="canary-api")
    expect(apis).to_contain_text("prod")
    expect(apis).to_be_visible()  # zero-size text on a fontless machine fails here
    fn = page.locator("#functions tbody tr", has_text="live")
    expect(fn).to_contain_text("Fn")
    expect(fn).to_contain_text("live → 1")
    expect(fn).to_contain_text("1: 100%")
    expect(page.locator("#no-rollouts")).to_be_visible()

    set_handler_tag(tmp_path / "project", "v2")
    lam = lambda_client(server)
    assert lam.publish_version(FunctionName="Fn")["Version"] == "2"

    with SteadyGets(server, "/prod/hello", api="canary-api"):
        control = httpx.Client(base_url=server.control_url, timeout=10)
        started = control.post(
            "/_apicanary/rollouts",
            json={"function": "Fn", "alias": "live", "toVersion": "2", "strategy": STRATEGY},
        )
        assert started.status_code == 201, started.text
        rid = started.json()["id"]

        def rollout() -> dict[str, Any]:
            document: dict[str, Any] = control.get(f"/_apicanary/rollouts/{rid}").json()
            return document

        # the page shows it live: waiting at the indefinite pause, 20 % on version 2
        card = page.locator("#rollouts article", has_text=rid)
        expect(card.locator(".badge")).to_have_text("waiting")
        expect(card.locator('[data-f="weight"]')).to_have_text("20%")
        expect(card).to_contain_text("version 1 → 2")
        expect(fn).to_contain_text("1: 80% · 2: 20%")
        expect(page.locator("#journal")).to_contain_text("canary at 20% of traffic")
        # both versions drawn once a complete metric period has passed
        legend = page.locator(".chart-group", has_text="Fn:live").locator(".legend")
        expect(legend).to_contain_text(
            re.compile(r"version 2 \(canary\): [1-9]\d* requests"), timeout=15_000
        )
        page.screenshot(path=str(SCREENSHOT))
        page.emulate_media(color_scheme="dark")
        page.screenshot(path=str(SCREENSHOT_DARK))
        page.emulate_media(color_scheme="light")

        actions = card.get_by_role("group", name=f"Actions for rollout {rid}")
        actions.get_by_role("button", name="Pause", exact=True).click()
        assert wait_for(rollout, lambda d: d["status"] == "paused")["status"] == "paused"
        expect(card.locator(".badge")).to_have_text("paused")
        expect(actions.get_by_role("button", name="Pause", exact=True)).to_be_disabled()

        actions.get_by_role("button", name="Resume", exact=True).click()
        assert wait_for(rollout, lambda d: d["status"] == "waiting")["status"] == "waiting"
        expect(card.locator(".badge")).to_have_text("waiting")

        actions.get_by_role("button", name="Promote", exact=True).click()
        done = wait_for(rollout, lambda d: bool(d["terminal"]))
        assert done["status"] == "promoted", done

    alias = lam.get_alias(FunctionName="Fn", Name="live")
    assert alias["FunctionVersion"] == "2"
    assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")
    # the page follows: the card leaves, the rollout is in the past table, the alias moved
    expect(card).to_have_count(0)
    expect(page.locator("#past tbody tr", has_text=rid)).to_contain_text("promoted")
    expect(fn).to_contain_text("live → 2")
    expect(fn).to_contain_text("2: 100%")
    expect(page.locator("#journal")).to_contain_text("promote")
    assert not problems, problems

    # off loopback the page needs the control token: ?token= is kept for the session (not in
    # the address bar) and sent as a bearer token with every API call
    with page.expect_request(lambda r: r.url.endswith("/_apicanary/view")) as sent:
        page.goto(server.control_url + "/?token=s3cret")
    assert sent.value.headers.get("authorization") == "Bearer s3cret"
    assert "token" not in page.url
    with page.expect_request(lambda r: r.url.endswith("/_apicanary/view")) as again:
        page.reload()
    assert again.value.headers.get("authorization") == "Bearer s3cret"

    # a rejected token: the page asks for one (prompt) and retries with it
    def guarded(route: Any) -> None:
        if route.request.headers.get("authorization") == "Bearer typed":
            route.continue_()
        else:
            route.fulfill(status=401, json={"error": {"message": "token required"}})

    page.route("**/_apicanary/view", guarded)
    page.once("dialog", lambda dialog: dialog.accept("typed"))
    page.reload()
    expect(page.locator("#conn")).to_contain_text("live")
    expect(fn).to_contain_text("live → 2")
