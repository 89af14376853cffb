"""The rollout controller: ``reconcile(rollout_id)`` is one idempotent tick.

A tick reads like a checklist (DESIGN §4); each line is one ``reconcile_*`` method over one
:class:`~apicanary.rollout.tick.Tick`::

    load the rollout                   typed state + revision; strategy and analysis cached
    reconcile_intents                  abort, pause/resume, promote, promote --full
    reconcile_adoption                 first tick in this process: journal vs the platform
    reconcile_watch                    new telemetry → sequential tests; alarms in ALARM; in
                                       every status in which the canary takes traffic
    reconcile_phases                   pre-traffic hook → steps → post-traffic hook → promote;
                                       a step is left (and a release promoted) only once the
                                       evidence watermark passed its end (evidence_gate.py)
    persist                            document + journal events + consumed intents, one
                                       transaction, revision-checked; then notifications

Traffic first, bookkeeping second: every platform write is absolute and verified by reading
back (``routers.py``) *before* the state records it (``actions.py``), so a controller killed
at any line and re-run on the same state converges: it repeats the same absolute write, or
finds it done. Decisions come from pure judges (``analysis/``) and the step runners
(``steps.py``); hooks and notifications go out through ``hooks.py``; which status may follow
which is ``state.py``'s table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from apicanary.clock import Clock
from apicanary.errors import ApicanaryError, BadInputError
from apicanary.platform.base import Mode, Platform
from apicanary.rollout import actions, evidence_gate, hooks, lease, preflight
from apicanary.rollout.analysis.canary import AnalysisConfig, CanaryAnalysis
from apicanary.rollout.intents import apply_intent
from apicanary.rollout.journal import Journal, StoredRollout
from apicanary.rollout.routers import AliasRouter, BothRouter, Router, StageCanaryRouter
from apicanary.rollout.state import IllegalTransition, Phase, Progress, RolloutState, Status
from apicanary.rollout.steps import COMPLETE, Next, run_step
from apicanary.rollout.strategy.types import HookSpec, SetWeight, Strategy
from apicanary.rollout.target import RolloutTarget, telemetry_target
from apicanary.rollout.tick import Tick

TELEMETRY_POLL_S = 0.25
"""How soon a step waiting for telemetry looks again (the AWS backend ticks every second)."""


class Controller:
    """Starts rollouts and ticks them against one :class:`Platform`."""

    def __init__(
        self,
        journal: Journal,
        platform: Platform,
        clock: Clock,
        *,
        webhooks: hooks.Webhooks | None = None,
    ) -> None:
        self.journal = journal
        self.platform = platform
        self.clock = clock
        self.webhooks = webhooks or hooks.HttpWebhooks()
        self._adopted: set[str] = set()
        # the analysis as left by this process's last save, by rollout: (revision, analysis);
        # reused only while the journal still has that revision (no one else wrote since)
        self._analyses: dict[str, tuple[int, CanaryAnalysis]] = {}

    # -- starting ------------------------------------------------------------------------------

    def start(
        self,
        target: RolloutTarget,
        strategy: Strategy,
        *,
        force: bool = False,
        rollout_id: str | None = None,
        retry_of: str | None = None,
    ) -> dict[str, Any]:
        """Check the target and create a running rollout (no traffic moves until a tick).

        ``retry_of``: the id of a rolled-back or aborted rollout this one re-runs; both
        journals say so."""
        old = self._retried(retry_of) if retry_of is not None else None
        healed = preflight.check_start(
            self.platform, self.clock.now(), target, strategy, force=force
        )
        half = strategy.analysis.alpha / 2  # the budget, split between errors and latency
        analysis = CanaryAnalysis(AnalysisConfig(alpha_errors=half, alpha_latency=half))
        now = self.clock.now()
        state = RolloutState(
            id=rollout_id or uuid.uuid4().hex[:12],
            target=target,
            strategy=strategy,
            created_at=now,
            strategy_summary=strategy.describe(),
            step_started_at=now,
            analysis=analysis.to_dict(),
            updated_at=now,
            next_wake=now,
            progress=_progress(analysis),
            retry_of=retry_of,
        )
        document = state.to_dict()
        again = f" (retry of {retry_of})" if retry_of else ""
        self.journal.create(
            state.id,
            target.key,
            document,
            at=now,
            message=f"release {target.function}:{target.alias} {target.from_version} → "
            f"{target.to_version} with {strategy.describe()}{healed}{again}",
        )
        if old is not None:
            self.journal.save(
                old, dict(old.document),
                [("retried", f"re-run as rollout {state.id}", {"retry": state.id})], at=now,
            )  # fmt: skip
        hooks.notify(state, self.webhooks, "created", "rollout created")
        return document

    def abort_by_alias(self, function: str, alias: str) -> dict[str, Any]:
        """Roll back whatever rollout marker is on ``function:alias`` (from any machine)."""
        return actions.abort_by_alias(self.platform, self.clock.now(), function, alias)

    # -- intents -------------------------------------------------------------------------------

    def request(self, rollout_id: str, kind: str) -> dict[str, Any]:
        """Record a human intent (the next tick acts on it); returns the current document."""
        stored = self.journal.load(rollout_id)
        if stored.document.get("terminal"):
            raise BadInputError(
                f"rollout {stored.id} has already ended ({stored.document['status']})"
            )
        self.journal.add_intent(stored.id, kind)
        return stored.document

    # -- the tick ------------------------------------------------------------------------------

    def reconcile(self, rollout_id: str) -> dict[str, Any]:
        """One tick. Safe to call at any time, any number of times, after any crash."""
        stored = self.journal.load(rollout_id)
        if stored.document.get("terminal"):
            return stored.document
        state = RolloutState.from_dict(stored.document)
        tick = Tick(
            state=state,
            analysis=self._analysis(stored, state),
            router=self._router(state),
            platform=self.platform,
            webhooks=self.webhooks,
            now=self.clock.now(),
        )
        consumed: list[int] = []
        try:
            self.reconcile_intents(tick, consumed)
            if not state.terminal:
                self.reconcile_adoption(tick)
            if state.status in (Status.RUNNING, Status.WAITING, Status.PAUSED):
                self.reconcile_watch(tick)
            if state.status is Status.RUNNING:
                self.reconcile_phases(tick)
            state.last_error = None
        except IllegalTransition:
            raise  # a bug, not a platform hiccup: never saved, never retried silently
        except ApicanaryError as error:
            # a platform or hook call failed: nothing is half-recorded; retry next tick
            state.last_error = str(error)
            tick.record("error", f"tick failed, will retry: {error}")
        state.analysis = tick.analysis.to_dict()
        state.progress = _progress(tick.analysis)
        state.updated_at = tick.now
        saved = self.journal.save(
            stored, state.to_dict(), tick.events, at=tick.now, consumed=consumed
        )
        if not state.terminal:
            self._analyses[stored.id] = (saved.revision, tick.analysis)
        for kind, message, _ in tick.events:
            if kind in hooks.NOTIFIED_EVENTS:
                hooks.notify(state, self.webhooks, kind, message)
        return saved.document

    def reconcile_intents(self, tick: Tick, consumed: list[int]) -> None:
        """Act on the humans' intents, in order; an abort ends the list."""
        for intent in self.journal.pending_intents(tick.state.id):
            apply_intent(tick, intent.kind)
            consumed.append(intent.seq)  # only once acted on: a failed abort is asked again
            if tick.state.terminal:
                return

    def reconcile_adoption(self, tick: Tick) -> None:
        """First tick in this process: compare the journal with the platform's traffic."""
        state = tick.state
        if state.id in self._adopted:
            return
        self._adopted.add(state.id)
        if state.phase is not Phase.STEPS:
            return
        observed = tick.router.observed()
        if abs(observed - state.effective_share) > 1e-6:
            applied = tick.router.apply(state.weight) if state.weight > 0 else observed
            tick.record(
                "adopted",
                f"platform had the canary at {observed:.2f}%, journal says "
                f"{state.effective_share:.2f}%: rewrote {state.weight:.2f}%",
                observed=observed, journal=state.effective_share, applied=applied,
            )  # fmt: skip

    def reconcile_watch(self, tick: Tick) -> None:
        """Feed new telemetry to the tests and check alarms; roll back on any failure.

        Runs whenever the canary takes traffic: running, waiting for a human, paused, and
        between the last step and the promotion. Requests lost to a bounded telemetry buffer
        are journalled per arm; the tests judge on what remains."""
        state, target = tick.state, tick.target
        if state.phase not in (Phase.STEPS, Phase.POST_TRAFFIC) or state.effective_share <= 0:
            return
        if (
            target.mode is not Mode.STAGE
            and (state.lease_until or 0) - tick.now < lease.LEASE_S / 2
        ):
            tick.router.apply(state.weight)  # the same weights, a renewed marker deadline
        batch = self.platform.read_telemetry(telemetry_target(target), state.cursor)
        state.cursor = batch.cursor
        state.evidence_until = max(state.evidence_until or batch.fresh_until, batch.fresh_until)
        if batch.lost_stable or batch.lost_canary:
            state.lost_stable += batch.lost_stable
            state.lost_canary += batch.lost_canary
            tick.record(
                "gap",
                f"fell behind the telemetry buffer: {batch.lost_stable} stable and "
                f"{batch.lost_canary} canary requests never read; judging on the rest",
                stable=batch.lost_stable, canary=batch.lost_canary,
            )  # fmt: skip
        verdict = None
        if batch.invocations:
            verdict = tick.analysis.update_invocations(batch.invocations, now=tick.now)
        for window in batch.windows or ():
            verdict = tick.analysis.update(window, now=tick.now)
        if verdict is not None and verdict.outcome.value == "fail":
            actions.roll_back(tick, verdict.reason)
            return
        if tick.strategy.alarms:
            states = self.platform.alarm_states(list(tick.strategy.alarms))
            firing = sorted(name for name, value in states.items() if value == "ALARM")
            if firing:
                actions.roll_back(tick, f"alarm in ALARM: {', '.join(firing)}")

    def reconcile_phases(self, tick: Tick) -> None:
        """Pre-traffic hook → the steps, in order → post-traffic hook → promote."""
        state, strategy = tick.state, tick.strategy
        if state.phase is Phase.PRE_TRAFFIC:
            if not self._hook(tick, strategy.hooks.pre_traffic, "PreTraffic"):
                return
            state.move(phase=Phase.STEPS)
            state.step = 0
            state.step_started_at = tick.now
        # the end of a step whose evidence was read this tick: if only set-weight steps follow
        # it, the promotion needs no later evidence (no time passed at the new weights)
        checked: float | None = None
        while state.phase is Phase.STEPS and state.status is Status.RUNNING:
            if state.skip_to_end:
                state.skip_to_end = False
                state.human_go = True  # promote --full: a human said go
                state.step = len(strategy.steps)
            if state.step >= len(strategy.steps):
                state.move(phase=Phase.POST_TRAFFIC)
                state.step_ended_at = checked
                break
            # a step that already ended and waits for its evidence is not run again
            outcome = COMPLETE if state.step_ended_at is not None else run_step(tick)
            if outcome.next is Next.COMPLETE and not self._evidence_reaches_step_end(tick):
                return
            if outcome.next is Next.COMPLETE:
                if state.step_ended_at is not None:
                    checked = state.step_ended_at
                state.step += 1
                state.step_started_at = tick.now
                state.step_ended_at = None
                state.human_go = state.human_go and state.step >= len(strategy.steps)
            elif outcome.next is Next.ROLLBACK:
                actions.roll_back(tick, outcome.reason)
                return
            elif outcome.next is Next.WAIT:  # the loop runs while running: this is news
                state.move(Status.WAITING)
                state.reason = outcome.reason
                tick.record("waiting", outcome.reason)
                return
            else:
                if outcome.wake_at is not None:
                    state.next_wake = outcome.wake_at
                return
        post_traffic = state.phase is Phase.POST_TRAFFIC and state.status is Status.RUNNING
        if post_traffic and self._hook(tick, strategy.hooks.post_traffic, "PostTraffic"):
            self._promote_on_evidence(tick)

    def _evidence_reaches_step_end(self, tick: Tick) -> bool:
        """True when the watermark passed the end of the step that just said it is complete
        (a set-weight step needs nothing: its evidence is the next step's); otherwise the
        step holds, visibly, and the controller looks again soon."""
        state, strategy = tick.state, tick.strategy
        if isinstance(strategy.steps[state.step], SetWeight):
            return True
        end = evidence_gate.step_end(state, strategy, tick.now)
        return self._evidence_reaches(tick, end, f"step {state.step + 1}")

    def _evidence_reaches(self, tick: Tick, end: float, label: str) -> bool:
        """Whether the evidence reaches ``end`` (fixed the first time it is asked for this
        step); the first wait is journalled, the views show it live."""
        state = tick.state
        first = state.step_ended_at is None
        if first:
            state.step_ended_at = end
        assert state.step_ended_at is not None
        waiting = evidence_gate.telemetry_wait(state.step_ended_at, state.evidence_until, tick.now)
        if waiting is None:
            return True
        if first:
            tick.record("telemetry", f"{label}: {waiting}", until=state.step_ended_at)
        state.next_wake = tick.now + TELEMETRY_POLL_S
        return False

    def _promote_on_evidence(self, tick: Tick) -> None:
        """Promote once the evidence reaches the end of the last step: verified when the
        canary's traffic could have shown a regression, else as ``onUnverified`` says
        (marked, or stopped for a human), never as if verified."""
        state = tick.state
        if not self._evidence_reaches(tick, tick.now, "before promotion"):
            return
        why = evidence_gate.unverified_reason(tick.analysis)
        if why is not None:
            state.unverified = True
            if not evidence_gate.promote_unverified(tick.strategy, state.human_go):
                state.move(Status.WAITING)
                state.reason = f"unverified: {why}; promote to release it anyway, or abort"
                tick.record("waiting", state.reason)
                return
            tick.record("analysis", f"unverified: {why}")
        actions.promote(tick)

    def run_until_done(
        self,
        rollout_id: str,
        *,
        tick_s: float = 1.0,
        on_tick: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Tick until the rollout ends (the CLI's loop for the AWS backend)."""
        while True:
            doc = self.reconcile(rollout_id)
            if on_tick is not None:
                on_tick(doc)
            if doc.get("terminal"):
                return doc
            self.clock.sleep(tick_s)

    # -- plumbing ------------------------------------------------------------------------------

    def _hook(self, tick: Tick, hook: HookSpec | None, name: str) -> bool:
        """Run a lifecycle hook once; True when it passed (or there is none). Its failure
        rolls the release back."""
        state = tick.state
        if hook is None or name in state.hooks_done:
            return True
        result = hooks.run_hook(hook, hooks.hook_payload(state, name), self.platform, self.webhooks)
        tick.record("hook", f"{name} hook {hook.describe()}: {result.detail}", ok=result.succeeded)
        if not result.succeeded:
            actions.roll_back(tick, f"{name} hook failed: {result.detail}")
            return False
        state.hooks_done = state.hooks_done | {name}
        return True

    def _retried(self, retry_of: str) -> StoredRollout:
        old = self.journal.load(retry_of)
        if old.document.get("status") not in (Status.ROLLED_BACK.value, Status.ABORTED.value):
            raise BadInputError(
                f"retryOf: rollout {old.id} is {old.document.get('status')}: only a rolled-back "
                "or aborted rollout can be retried"
            )
        return old

    def _analysis(self, stored: StoredRollout, state: RolloutState) -> CanaryAnalysis:
        """The analysis this process saved at this revision, else rebuilt from the document."""
        cached = self._analyses.pop(stored.id, None)
        if cached is not None and cached[0] == stored.revision:
            return cached[1]
        return CanaryAnalysis.from_dict(state.analysis)

    def _router(self, state: RolloutState) -> Router:
        target = state.target

        def marker_for(current: str, share: float) -> str:
            now = self.clock.now()
            state.lease_until = now + lease.LEASE_S
            return lease.marker_description(
                current, rollout_id=state.id, to_version=target.to_version,
                from_version=target.from_version, step=state.step, weight=share,
                now=now, mode=target.mode,
            )  # fmt: skip

        alias = AliasRouter(
            self.platform, target.function, target.alias, target.from_version,
            target.to_version, marker_for=marker_for,
        )  # fmt: skip
        if target.mode is Mode.ALIAS:
            return alias
        assert target.api_id and target.stage
        stage = StageCanaryRouter(self.platform, target.api_id, target.stage, target.overrides)
        return stage if target.mode is Mode.STAGE else BothRouter(alias, stage)


def _progress(analysis: CanaryAnalysis) -> Progress:
    """The numbers the live views show, from the analysis as it is now."""
    errors, latency = analysis.verdicts()
    stable, canary = analysis.errors.requests
    stable_errors, canary_errors = analysis.errors.errors
    return Progress(
        stable_requests=stable,
        canary_requests=canary,
        stable_errors=stable_errors,
        canary_errors=canary_errors,
        error_evidence=errors.evidence,
        error_threshold=errors.threshold,
        error_reason=errors.reason,
        latency_evidence=latency.evidence,
        latency_threshold=latency.threshold,
        latency_reason=latency.reason,
        remaining_canary_requests=analysis.remaining_canary_requests(),
    )


__all__ = ["Controller", "StoredRollout"]
