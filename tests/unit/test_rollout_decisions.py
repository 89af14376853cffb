"""The controller's decisions against a FakePlatform: promote, roll back, hooks, intents,
restarts, leases, the guard, failures of the platform. Fast: no workers, no HTTP (the same
paths with real workers and real HTTP are in tests/functional/test_controller.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apicanary.errors import AwsApiError, BadInputError
from apicanary.model import ArmCounts, Window
from apicanary.platform.base import HookResult
from apicanary.platform.marker import decode
from apicanary.rollout import state as state_module
from apicanary.rollout.analysis.canary import CanaryAnalysis
from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal
from apicanary.rollout.service import start_rollout
from apicanary.store import Store
from tests.support.rollout_world import ANALYSED, HOLD, T0, TIMED, World


@pytest.fixture
def w(tmp_path: Path) -> World:
    return World(tmp_path / "state")


# -- promotion and rollback -----------------------------------------------------------------


def test_a_good_release_is_promoted_step_by_step(w: World) -> None:
    rid = w.start("Canary10Percent5Minutes")
    doc = w.tick(rid)
    assert (doc["status"], doc["phase"], doc["weight"], doc["effectiveShare"]) == (
        "running", "steps", 10.0, 10.0,
    )  # fmt: skip
    assert (w.alias().primary, w.alias().canary, w.alias().weight) == ("1", "2", 0.1)
    assert doc["nextWake"] == pytest.approx(T0 + 10 + 300)  # the pause's end, not "now"
    doc = w.run(rid, seconds=60, canary=1500, stable=13500)  # enough to verify it
    assert doc["status"] == "promoted" and doc["reason"] == "promoted"
    assert (doc["weight"], doc["effectiveShare"], doc["endedAt"]) == (100.0, 100.0, w.clock.now())
    assert (w.alias().primary, w.alias().canary) == ("2", None)
    assert decode(w.alias().description) is None  # the marker left with the rollout
    steps = [m for k, m in w.events(rid) if k == "step"]
    assert steps == ["step 1: canary at 10% of traffic", "step 3: canary at 100% of traffic"]
    assert doc["progress"]["canaryRequests"] > 0 and doc["progress"]["canaryErrors"] == 0


def test_canary_failures_roll_back_at_the_next_tick(w: World) -> None:
    rid = w.start(TIMED)
    w.tick(rid)  # 20 %
    w.tick(rid)  # the first read: the cursor starts at the end of the telemetry
    doc = w.tick(rid, canary=20, stable=80, canary_failures=10)
    assert doc["status"] == "rolled_back" and doc["terminal"] and doc["phase"] == "done"
    assert "canary error rate" in doc["reason"] and "e-value" in doc["reason"]
    assert (w.alias().primary, w.alias().canary, w.alias().weight) == ("1", None, 0.0)
    assert (doc["weight"], doc["effectiveShare"]) == (0.0, 0.0)
    assert w.kinds(rid)[-1] == "rolled_back"
    assert w.tick(rid) == doc  # an ended rollout stays as it ended


def test_windows_from_cloudwatch_roll_back_too(tmp_path: Path) -> None:
    w = World(tmp_path / "state", telemetry="windows")
    rid = w.start(TIMED)
    w.tick(rid)
    w.tick(rid)
    w.platform.send_window(Window(ArmCounts(80, 0), ArmCounts(20, 12), error_order=(True,) * 12))
    doc = w.tick(rid)
    assert doc["status"] == "rolled_back" and "canary error rate" in doc["reason"]


def test_an_alarm_in_alarm_rolls_back(w: World) -> None:
    w.platform.set_alarm("HighErrors", "OK")
    rid = w.start(TIMED, alarms=["HighErrors"])
    assert w.tick(rid)["status"] == "running"
    w.platform.set_alarm("HighErrors", "ALARM")
    doc = w.tick(rid)
    assert doc["status"] == "rolled_back" and doc["reason"] == "alarm in ALARM: HighErrors"
    assert w.alias().canary is None


def test_an_alarm_already_firing_refuses_the_start_unless_forced(w: World) -> None:
    w.platform.set_alarm("Firing", "ALARM")
    with pytest.raises(BadInputError, match="already in ALARM before any traffic moved: Firing"):
        w.start(TIMED, alarms=["Firing"])
    assert w.start(TIMED, alarms=["Firing"], force=True)


def test_the_start_refuses_a_split_alias_and_a_second_rollout(w: World) -> None:
    w.platform.tamper_alias("api", "live", canary="3", weight=0.5)
    with pytest.raises(BadInputError, match=r"already split \(1 \+ 3 at 50%\)"):
        w.start(TIMED)
    w.platform.tamper_alias("api", "live", canary=None, weight=0.0)
    w.start(TIMED)
    with pytest.raises(BadInputError, match="already active"):
        w.start(TIMED)


# -- hooks and notifications ----------------------------------------------------------------


def test_a_failing_pre_traffic_hook_rolls_back_before_any_traffic(w: World) -> None:
    w.platform.script_hook("Pre", False, "Pre failed: smoke test failed")
    rid = w.start(TIMED | {"hooks": {"preTraffic": {"function": "Pre"}}})
    doc = w.tick(rid)
    assert doc["status"] == "rolled_back" and doc["phase"] == "done"
    assert doc["reason"] == "PreTraffic hook failed: Pre failed: smoke test failed"
    assert "step" not in w.kinds(rid)
    # traffic never moved: the only alias write is the rollback to where it already was
    writes = [c for c in w.platform.calls if c[0] == "write_alias"]
    assert writes == [("write_alias", "api", "live", "1", None, 0.0)]
    (called,) = w.platform.hook_payloads
    assert called == ("Pre", {
        "DeploymentId": rid, "LifecycleEventHookExecutionId": f"{rid}-PreTraffic",
        "Hook": "PreTraffic", "Target": doc["target"],
    })  # fmt: skip


def test_hooks_run_once_and_a_failing_post_traffic_hook_rolls_back(w: World) -> None:
    w.platform.script_hook("Pre", True)
    w.platform.script_hook("Post", False, "Post: checks failed")
    hooks = {"preTraffic": {"function": "Pre"}, "postTraffic": {"function": "Post"}}
    rid = w.start({"steps": [{"setWeight": 50}], "hooks": hooks})
    doc = w.run(rid)
    assert doc["status"] == "rolled_back" and doc["reason"].startswith("PostTraffic hook failed")
    assert [f for f, _ in w.platform.hook_payloads] == ["Pre", "Post"]
    assert (w.alias().primary, w.alias().canary) == ("1", None)  # after 100 %: back to stable


def test_a_hook_that_cannot_be_called_is_retried_not_failed(w: World) -> None:
    w.platform.script_hook("Post", True)
    rid = w.start({"steps": [{"setWeight": 50}], "hooks": {"postTraffic": {"function": "Post"}}})
    w.platform.fail_next("invoke_hook")
    doc = w.tick(rid)
    assert (doc["status"], doc["phase"]) == ("running", "post-traffic")
    assert "TooManyRequestsException" in doc["lastError"]
    doc = w.tick(rid)
    assert doc["status"] == "promoted" and doc["lastError"] is None


def test_webhook_hooks_and_notifications_go_through_the_webhooks(w: World) -> None:
    strategy = {
        "steps": [{"setWeight": 50}],
        "hooks": {"preTraffic": {"webhook": "https://ci.example/pre", "timeout": "5s"}},
        "notifications": ["https://chat.example/rollouts"],
    }
    w.webhooks.answer = HookResult(False, "webhook answered 500: boom")
    rid = w.start(strategy)
    doc = w.tick(rid)
    assert doc["reason"] == "PreTraffic hook failed: webhook answered 500: boom"
    ((url, payload, timeout),) = w.webhooks.calls
    assert (url, payload["Hook"], timeout) == ("https://ci.example/pre", "PreTraffic", 5.0)
    events = [body["event"] for urls, body in w.webhooks.notes]
    assert events == ["created", "rolled_back"]
    assert all(urls == ("https://chat.example/rollouts",) for urls, _ in w.webhooks.notes)
    last = w.webhooks.notes[-1][1]
    assert last == {"rolloutId": rid, "event": "rolled_back", "status": "rolled_back",
                    "message": f"rolled back: {doc['reason']}", "target": doc["target"],
                    "weight": 0.0, "reason": doc["reason"], "unverified": False}  # fmt: skip


# -- intents -------------------------------------------------------------------------------


def test_pause_and_resume_while_running_keep_the_traffic(w: World) -> None:
    rid = w.start(TIMED)
    w.tick(rid)
    w.ask(rid, "pause")
    doc = w.tick(rid, seconds=700)  # the timed pause would be over: paused, it does not advance
    assert doc["status"] == "paused" and doc["step"] == 1 and w.alias().weight == 0.2
    w.ask(rid, "resume")
    doc = w.tick(rid)
    assert doc["status"] == "promoted"  # resumed: the pause was already over


def test_pause_and_resume_while_waiting_return_to_waiting(w: World) -> None:
    rid = w.start(HOLD)
    assert w.tick(rid)["status"] == "waiting"
    w.ask(rid, "pause")
    assert w.tick(rid)["status"] == "paused"
    w.ask(rid, "resume")
    doc = w.tick(rid)
    assert doc["status"] == "waiting" and doc["reason"] == "step 2: paused until resumed"
    w.ask(rid, "resume")  # resuming a wait continues the rollout
    assert w.tick(rid)["status"] == "promoted"


def test_promote_ends_the_current_step_and_promote_full_skips_the_rest(w: World) -> None:
    rid = w.start("Linear10PercentEvery10Minutes")
    assert w.tick(rid)["weight"] == 10
    w.ask(rid, "promote")
    doc = w.tick(rid)
    assert doc["weight"] == 20 and doc["status"] == "running"  # one hold skipped, not all
    w.ask(rid, "promote-full")
    assert w.tick(rid)["status"] == "promoted"
    assert ("intent", "promote --full: skipping to full promotion") in w.events(rid)


def test_abort_rolls_back_at_once(w: World) -> None:
    rid = w.start(HOLD)
    w.tick(rid)
    w.ask(rid, "abort")
    w.ask(rid, "resume")  # asked after the abort: never acted on
    doc = w.tick(rid)
    assert doc["status"] == "aborted" and doc["reason"] == "aborted by a human"
    assert w.alias().canary is None
    assert "resumed" not in w.kinds(rid)
    with pytest.raises(BadInputError, match="has already ended"):
        w.ask(rid, "pause")
    with pytest.raises(BadInputError, match="has already ended"):
        w.ask(rid, "retry")  # not an intent: a retry is a new rollout (retryOf)


def test_an_intent_the_status_does_not_allow_is_journalled_as_ignored(w: World) -> None:
    rid = w.start(TIMED)
    w.tick(rid)
    w.ask(rid, "resume")
    doc = w.tick(rid)
    assert doc["status"] == "running"
    assert ("intent", "ignored resume while running") in w.events(rid)


# -- restarts, drift, leases ------------------------------------------------------------------


def test_a_fresh_controller_every_tick_reaches_the_same_end(w: World) -> None:
    rid = w.start(ANALYSED)
    for _ in range(60):
        doc = w.tick(rid, controller=w.fresh_controller(), canary=20, stable=80)
        if doc["terminal"]:
            break
    assert doc["status"] == "promoted" and doc["unverified"] is True
    weights = [m for k, m in w.events(rid) if k == "step"]
    assert weights == [
        f"step {i}: canary at {p}% of traffic" for i, p in ((1, 20), (3, 50), (5, 100))
    ]
    assert "adopted" not in w.kinds(rid)  # nothing drifted: adoption found what it expected


def test_drift_is_repaired_when_a_restarted_controller_adopts_the_rollout(w: World) -> None:
    rid = w.start(HOLD)
    w.tick(rid)
    w.platform.tamper_alias("api", "live", weight=0.9)
    w.tick(rid, controller=w.fresh_controller())
    assert w.alias().weight == 0.2
    kind, message = w.events(rid)[-1]
    assert kind == "adopted" and "platform had the canary at 90.00%" in message


def test_two_controllers_alternating_count_every_request_once(w: World) -> None:
    a, b = w.controller, w.fresh_controller()
    rid = w.start(HOLD)
    for index in range(6):
        doc = w.tick(rid, controller=(a, b)[index % 2], canary=20, stable=80)
    # tick 1's traffic came before 20 %: the cursor is placed just before the weight write
    assert doc["progress"]["canaryRequests"] == 5 * 20
    assert doc["progress"]["stableRequests"] == 5 * 80


def test_the_lease_is_renewed_and_the_users_description_kept(w: World) -> None:
    w.platform.tamper_alias("api", "live", description="owned by team orders")
    rid = w.start(HOLD)
    w.tick(rid)
    marker = decode(w.alias().description)
    assert marker is not None and (marker.rollout_id, marker.weight) == (rid, 0.2)
    assert w.alias().description.startswith("owned by team orders | apicanary:v1")
    w.tick(rid, seconds=200)
    assert decode(w.alias().description) == marker  # more than half the lease left: no write
    w.tick(rid, seconds=200)
    renewed = decode(w.alias().description)
    assert renewed is not None and renewed.expires_at > marker.expires_at
    w.ask(rid, "promote")
    w.tick(rid)
    assert w.alias().description == "owned by team orders"


def test_a_watched_alias_is_refused_and_an_abandoned_one_healed(w: World, tmp_path: Path) -> None:
    dead = w.start(HOLD)
    w.tick(dead)
    elsewhere = Controller(Journal(Store(tmp_path / "elsewhere")), w.platform, w.clock)
    request = {"function": "api", "alias": "live", "toVersion": "3", "strategy": HOLD}
    with pytest.raises(BadInputError, match="being watched"):
        start_rollout(elsewhere, w.platform, request)
    w.clock.advance(601)
    document = start_rollout(elsewhere, w.platform, request)
    first = elsewhere.journal.events(document["id"])[0].message
    assert f"(first rolled back abandoned rollout {dead})" in first
    assert (w.alias().primary, w.alias().canary) == ("1", None)


def test_abort_by_alias_reads_the_marker(w: World) -> None:
    rid = w.start(HOLD)
    w.tick(rid)
    assert w.fresh_controller().abort_by_alias("api", "live") == {
        "rolloutId": rid, "function": "api", "alias": "live", "rolledBackTo": "1",
        "wasAbandoned": False,
    }  # fmt: skip
    assert w.alias().canary is None
    with pytest.raises(BadInputError, match="carries no rollout marker"):
        w.controller.abort_by_alias("api", "live")


# -- the promotion guard --------------------------------------------------------------------


def test_unverified_steps_promote_and_say_so(w: World) -> None:
    doc = w.run(w.start(ANALYSED), canary=20, stable=80)
    assert doc["status"] == "promoted" and doc["unverified"] is True
    assert doc["reason"] == "promoted (unverified: the guard could not confirm it)"
    analysis = [m for k, m in w.events(doc["id"]) if k == "analysis"]
    assert len(analysis) == 3 and all("unverified: " in m for m in analysis)
    assert "canary requests are too few to rule out a 5x" in analysis[-1]  # at promotion


def test_the_guard_stops_for_a_human_when_told_to(w: World) -> None:
    strategy = ANALYSED | {"analysis": {"minDwell": "30s", "maxExtension": "1m"}}
    rid = w.start(strategy)
    doc = w.run(rid, canary=20, stable=80)
    assert doc["status"] == "waiting" and doc["reason"].startswith("step 2: ")
    assert doc["step"] == 1 and w.alias().weight == 0.2
    w.ask(rid, "promote")
    doc = w.tick(rid)
    assert doc["status"] == "running" and doc["step"] == 3 and doc["weight"] == 50
    assert ("step", "step 2: analysis skipped by a human") in w.events(rid)
    doc = w.run(rid, canary=20, stable=80)  # the next guard, again out of time
    assert doc["status"] == "waiting" and doc["reason"].startswith("step 4: ")


def test_enough_traffic_verifies_the_guard(w: World) -> None:
    strategy = ANALYSED | {"analysis": {"minDwell": "30s", "maxExtension": "1h"}}
    doc = w.run(w.start(strategy), canary=4000, stable=16000)
    assert doc["status"] == "promoted" and doc["unverified"] is False
    assert doc["reason"] == "promoted"


# -- failures of the platform: traffic first, bookkeeping second ----------------------------


def test_a_failed_weight_write_is_not_recorded_and_is_retried(w: World) -> None:
    rid = w.start(TIMED)
    w.platform.fail_next("write_alias")
    doc = w.tick(rid)
    assert (doc["status"], doc["phase"], doc["weight"]) == ("running", "steps", 0.0)
    assert "TooManyRequestsException: Rate exceeded" in doc["lastError"]
    assert "step" not in w.kinds(rid) and w.alias().canary is None
    doc = w.tick(rid)
    assert doc["weight"] == 20 and doc["lastError"] is None and w.alias().weight == 0.2


def test_a_write_that_did_not_take_is_caught_by_the_read_back(w: World) -> None:
    rid = w.start(TIMED)
    w.platform.drop_next("write_alias")
    doc = w.tick(rid)
    assert "read back as primary 1, canary None" in doc["lastError"] and doc["weight"] == 0.0
    assert w.tick(rid)["weight"] == 20


def test_a_failed_rollback_is_not_recorded_until_the_traffic_is_back(w: World) -> None:
    rid = w.start(TIMED)
    w.tick(rid)
    w.tick(rid)
    conflict = AwsApiError("PreconditionFailedException", "RevisionId mismatch", 412)
    w.platform.fail_next("write_alias", conflict, times=2)  # re-read, and conflicting again
    doc = w.tick(rid, canary=20, stable=80, canary_failures=10)
    assert doc["status"] == "running" and "PreconditionFailedException" in doc["lastError"]
    assert w.alias().weight == 0.2  # the state says what is really in force
    doc = w.tick(rid, canary=2, stable=8)
    assert doc["status"] == "rolled_back" and w.alias().canary is None


def test_every_alias_write_carries_the_revision_it_read(w: World) -> None:
    rid = w.start(TIMED)
    w.tick(rid)
    w.platform.tamper_alias("api", "live", description="edited by a colleague")
    real_write = w.platform.write_alias
    revisions: list[str | None] = []

    def spy(*args: Any, **kw: Any) -> Any:
        revisions.append(kw.get("expected_revision"))
        if len(revisions) == 1:  # someone writes between our read and our write
            w.platform.tamper_alias("api", "live", description="edited again")
        return real_write(*args, **kw)

    w.platform.write_alias = spy  # type: ignore[method-assign]
    w.ask(rid, "abort")
    doc = w.tick(rid)
    assert doc["status"] == "aborted" and w.alias().canary is None
    assert len(revisions) == 2 and all(revisions) and revisions[0] != revisions[1]
    assert w.alias().description == "edited again"  # re-read: the colleague's text is kept


def test_an_alias_someone_else_repointed_is_never_overwritten(w: World) -> None:
    rid = w.start(HOLD)
    w.tick(rid)
    w.platform.tamper_alias("api", "live", primary="3", canary=None, weight=0.0)
    w.ask(rid, "abort")
    doc = w.tick(rid)
    assert doc["status"] == "waiting" and "changed outside this rollout" in doc["lastError"]
    assert w.alias().primary == "3"
    w.platform.tamper_alias("api", "live", primary="1", canary="2", weight=0.2)  # put back
    assert w.tick(rid)["status"] == "aborted"  # the abort was not lost with the failed tick


def test_the_fake_platform_refuses_a_stale_revision(w: World) -> None:
    stale = w.alias().revision_id
    w.platform.tamper_alias("api", "live", description="changed")
    with pytest.raises(AwsApiError) as raised:
        w.platform.write_alias("api", "live", primary="1", canary=None, weight=0.0,
                               expected_revision=stale)  # fmt: skip
    assert raised.value.code == "PreconditionFailedException" and raised.value.status == 412


# -- stage and both modes -------------------------------------------------------------------


def test_stage_mode_shifts_and_promotes_the_stage_canary(w: World) -> None:
    rid = w.start(HOLD, mode="stage", api="shop", stage="prod")
    doc = w.tick(rid)
    stage = w.platform.get_stage("a1b2c3", "prod")
    assert (stage.canary_percent, dict(stage.canary_overrides)) == (20, {"lambdaAlias": "2"})
    assert doc["effectiveShare"] == 20 and w.alias().canary is None  # the alias is untouched
    assert decode(w.alias().description) is None  # and carries no marker
    w.ask(rid, "promote")
    assert w.tick(rid)["status"] == "promoted"
    stage = w.platform.get_stage("a1b2c3", "prod")
    assert stage.canary_percent is None and stage.variables["lambdaAlias"] == "2"


def test_stage_mode_rollback_removes_the_canary(w: World) -> None:
    rid = w.start(TIMED, mode="stage", api="shop", stage="prod")
    w.tick(rid)
    w.tick(rid)
    doc = w.tick(rid, canary=20, stable=80, canary_failures=10)
    stage = w.platform.get_stage("a1b2c3", "prod")
    assert doc["status"] == "rolled_back" and stage.canary_percent is None
    assert stage.variables["lambdaAlias"] == "live"


def test_both_mode_multiplies_the_shares(w: World) -> None:
    rid = w.start(HOLD, mode="both", api="shop", stage="prod")
    doc = w.tick(rid)
    assert doc["effectiveShare"] == pytest.approx(4.0)  # 20 % of 20 %
    assert w.alias().weight == 0.2 and w.platform.get_stage("a1b2c3", "prod").canary_percent == 20


# -- what a tick does not redo ----------------------------------------------------------------


def counted(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[tuple[Any, ...]]:
    """Every call of ``owner.name`` from now on (it still does its work)."""
    calls: list[tuple[Any, ...]] = []
    original = getattr(owner, name)

    def wrapper(*args: Any) -> Any:
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(owner, name, staticmethod(wrapper) if isinstance(owner, type) else wrapper)
    return calls


def test_the_strategy_is_validated_once_not_on_every_tick(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counted(monkeypatch, state_module, "parse_strategy")
    state_module._strategy_of.cache_clear()
    rid = w.start({"name": "counted", **TIMED})
    for _ in range(5):
        w.tick(rid, controller=w.fresh_controller())
    assert len(calls) == 1


def test_the_analysis_is_rebuilt_only_when_someone_else_saved(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuilt = counted(monkeypatch, CanaryAnalysis, "from_dict")
    rid = w.start(HOLD)
    for _ in range(5):
        w.tick(rid, canary=5, stable=20)
    assert len(rebuilt) == 1  # the first tick of this process only
    w.tick(rid, controller=w.fresh_controller(), canary=5, stable=20)
    w.tick(rid, canary=5, stable=20)  # its cached copy is stale now: rebuilt from the journal
    assert len(rebuilt) == 3


# -- evidence: the watermark, unverified promotion, pauses that keep watching, retry ---------


def _tick_behind(w: World, rid: str, seconds: float, behind: float) -> dict[str, Any]:
    """``seconds`` pass; the platform's evidence is complete only up to ``behind`` ago."""
    w.clock.advance(seconds)
    w.platform.now = w.clock.now() - behind
    return w.controller.reconcile(rid)


def test_no_step_ends_before_its_evidence_is_read(w: World) -> None:
    rid = w.start("Canary10Percent5Minutes")
    w.tick(rid)  # 10 %
    ended = T0 + 10 + 300
    doc = _tick_behind(w, rid, 400, behind=180)  # the pause ended, its evidence is not in
    assert (doc["step"], doc["weight"], doc["status"]) == (1, 10.0, "running")
    assert doc["stepEndedAt"] == ended
    wait = doc_view(w, rid)["telemetryWait"]
    assert wait.startswith("waiting for telemetry up to ") and wait.endswith(", 180 s behind")
    assert [k for k in w.kinds(rid) if k == "telemetry"] == ["telemetry"]  # journalled once
    doc = _tick_behind(w, rid, 60, behind=185)  # still short of the pause's end
    assert doc["step"] == 1
    doc = _tick_behind(w, rid, 60, behind=100)  # now past it: on to 100 %, promoted
    assert doc["status"] == "promoted"


def test_a_promotion_without_a_timed_step_waits_for_the_evidence_up_to_now(w: World) -> None:
    rid = w.start("AllAtOnce")
    doc = _tick_behind(w, rid, 10, behind=30)
    assert (doc["status"], doc["phase"], doc["weight"]) == ("running", "post-traffic", 100.0)
    assert _tick_behind(w, rid, 1, behind=0)["status"] == "promoted"  # its evidence read


def doc_view(w: World, rid: str) -> dict[str, Any]:
    from apicanary.rollout.views import with_view

    return with_view(w.journal.load(rid).document, w.clock.now())["view"]


def test_time_scale_never_shortens_the_wait_for_evidence(w: World) -> None:
    rid = w.start("Linear10PercentEvery1Minute", timeScale=60)
    w.tick(rid, seconds=1)  # 10 %
    for _ in range(20):  # the strategy's minutes pass in seconds; the evidence is 180 s late
        doc = _tick_behind(w, rid, 1, behind=180)
    assert doc["status"] == "running" and doc["weight"] == 10.0


def test_a_canary_that_served_nothing_is_never_a_verified_success(w: World) -> None:
    doc = w.run(w.start("Canary10Percent5Minutes"), seconds=60)
    assert doc["status"] == "promoted" and doc["unverified"] is True
    assert "the canary received no requests" in [
        m.removeprefix("unverified: ") for k, m in w.events(doc["id"]) if k == "analysis"
    ]
    assert doc_view(w, doc["id"])["unverified"] is True


def test_an_analysed_strategy_stops_for_a_human_rather_than_promote_blind(w: World) -> None:
    strategy = {"steps": [{"setWeight": 20}, {"analysis": {}}, {"pause": {"duration": "1m"}}]}
    rid = w.start(strategy)
    w.tick(rid)
    w.ask(rid, "promote")  # a human skips the analysis step ...
    doc = w.run(rid)  # ... the pause ends, and the release would be promoted blind
    assert doc["status"] == "waiting" and doc["phase"] == "post-traffic"
    assert doc["reason"].startswith("unverified: the canary received no requests")
    w.ask(rid, "promote")
    doc = w.tick(rid)
    assert doc["status"] == "promoted" and doc["unverified"] is True


def test_a_paused_canary_is_still_watched_and_rolled_back(w: World) -> None:
    rid = w.start(HOLD)
    w.tick(rid)
    w.tick(rid)
    w.ask(rid, "pause")
    assert w.tick(rid, canary=20, stable=80)["status"] == "paused"
    doc = w.tick(rid, canary=30, stable=70, canary_failures=12)
    assert doc["status"] == "rolled_back" and "canary error rate" in doc["reason"]
    assert w.alias().canary is None


def test_a_retry_is_a_new_rollout_linked_to_the_old_one(w: World) -> None:
    rid = w.start(HOLD)
    w.tick(rid)
    w.ask(rid, "abort")
    w.tick(rid)
    new = w.start(HOLD, retryOf=rid)
    assert w.journal.load(new).document["retryOf"] == rid
    assert ("retried", f"re-run as rollout {new}") in w.events(rid)
    assert w.events(new)[0][1].endswith(f"(retry of {rid})")
    with pytest.raises(BadInputError, match="only a rolled-back or aborted rollout"):
        w.start(HOLD, retryOf=new)
