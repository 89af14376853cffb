"""The one view-model (rollout/views.py) and the CLI's drawings of it."""

from __future__ import annotations

from rich.console import Console

from apicanary.cli import rollout_view
from apicanary.platform.base import Mode
from apicanary.rollout.state import Phase, Progress, RolloutState, Status
from apicanary.rollout.strategy.parse import parse_strategy
from apicanary.rollout.target import RolloutTarget
from apicanary.rollout.views import rollout_view as build
from apicanary.rollout.views import with_view

T0 = 1_700_000_000.0


def state(**changes: object) -> RolloutState:
    target = RolloutTarget(function="api", alias="live", from_version="1", to_version="2")
    strategy = parse_strategy({"steps": [{"setWeight": 10}, {"pause": {"duration": "5m"}}]})
    base = RolloutState(
        "r1", target, strategy, T0, phase=Phase.STEPS, step=1, step_started_at=T0,
        strategy_summary=strategy.describe(), weight=10.0, effective_share=10.0,
        progress=Progress(900, 100, 9, 3, 12.5, 200.0, "", 1.0, 200.0, "", 4100),
    )  # fmt: skip
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def test_a_running_rollout_in_a_timed_pause() -> None:
    v = build(state(), T0 + 60)
    assert (v.status, v.status_text, v.phase_text) == (Status.RUNNING, "running", "steps, 2 of 3")
    assert [(s.label, s.state) for s in v.steps] == [
        ("10%", "done"), ("for 5m", "current"), ("100%", "todo"),
    ]  # fmt: skip
    assert v.time_left_in_step == 240.0
    assert (v.canary.requests, v.canary.errors, v.canary.error_rate) == (100, 3, 0.03)
    assert v.stable.error_rate == 0.01
    assert (v.error_evidence, v.error_threshold, v.remaining_canary_requests) == (12.5, 200, 4100)
    assert v.target == "api:live 1 → 2" and v.mode_text == "alias weights"
    assert v.allowed_actions == ("promote", "promote-full", "pause", "abort")
    assert v.note == ""


def test_notes_prefer_the_last_error_then_the_reason() -> None:
    assert build(state(last_error="Throttled"), T0).note == "last error: Throttled"
    assert build(state(reason="step 2: paused until resumed"), T0).note.startswith("step 2")


def test_an_ended_rollout_and_a_stage_rollout() -> None:
    ended = state()
    ended.end(Status.ROLLED_BACK, "canary error rate 3% vs stable 1%", T0 + 90, share=0.0)
    v = build(ended, T0 + 100)
    assert (v.phase_text, v.status_text, v.allowed_actions) == ("done", "rolled back", ())
    assert {s.state for s in v.steps} == {"done"} and v.time_left_in_step is None
    target = RolloutTarget(
        function="api", alias="live", from_version="1", to_version="2", mode=Mode.STAGE,
        api_id="a1", stage="prod", overrides={"lambdaAlias": "2"},
    )  # fmt: skip
    assert build(state(target=target), T0).mode_text == "stage mode, stage prod"


def test_documents_gain_a_view_and_keep_every_field() -> None:
    document = state(status=Status.WAITING).to_dict()
    shown = with_view(document, T0)
    assert {k: v for k, v in shown.items() if k != "view"} == document
    assert shown["view"]["allowedActions"] == [
        "promote",
        "promote-full",
        "pause",
        "resume",
        "abort",
    ]
    assert shown["view"]["canary"] == {"requests": 100, "errors": 3, "errorRate": 0.03}


def test_the_cli_draws_the_view() -> None:
    v = rollout_view.view(state().to_dict(), T0 + 60)
    text = rollout_view.text(v)
    assert "target    api:live 1 → 2 (alias)" in text
    assert "steps     ✓ 10%  ▶ for 5m  · 100%" in text
    assert "canary    10% of traffic" in text and "guard     4100 more canary" in text
    assert "step      240 s left" in text
    line = rollout_view.line(v)
    assert line.startswith("r1 running | canary 10% | canary 100 req 3.00% err")
    assert "evidence 12.5/200" in line
    console = Console(record=True, width=100, color_system=None)
    console.print(rollout_view.panel(v))
    drawn = console.export_text()
    assert "rollout r1  running" in drawn and "errors 12.5 / 200" in drawn
