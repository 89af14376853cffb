"""The rollout controller: ``reconcile(rollout_id)`` is one idempotent tick.

A tick reads like a checklist (DESIGN §4)::

    load the rollout (document + revision)
    consume the humans' intents        abort, pause/resume, promote, promote --full
    adopt after a restart              compare the journal with the platform's traffic
    watch                              new telemetry → sequential tests; alarms in ALARM
    run the current phase              pre-traffic hook → steps → post-traffic hook → promote
    persist                            document + journal events + consumed intents, one
                                       transaction, revision-checked

Traffic first, bookkeeping second: every platform write is absolute and verified by reading
back (``routers.py``) *before* the document records it, so a controller killed at any line and
re-run on the same state converges: it repeats the same absolute write, or finds it done.
Decisions come from the pure judges in ``analysis.py``; this module only does I/O around them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from apicanary.clock import Clock
from apicanary.errors import ApicanaryError, BadInputError, RolloutError
from apicanary.platform.base import Mode, Platform, TelemetryTarget
from apicanary.rollout import lease
from apicanary.rollout.analysis.canary import AnalysisConfig, CanaryAnalysis, StepAction
from apicanary.rollout.analysis.guard import GuardConfig, OnExhausted
from apicanary.rollout.journal import Journal, StoredRollout
from apicanary.rollout.routers import AliasRouter, BothRouter, Router, StageCanaryRouter
from apicanary.rollout.strategy.parse import parse_strategy
from apicanary.rollout.strategy.types import (
    Analysis,
    Approval,
    HookKind,
    HookSpec,
    OnUnverified,
    Pause,
    SetWeight,
    Strategy,
)
from apicanary.rollout.target import RolloutTarget

RUNNING = "running"
PAUSED = "paused"
WAITING = "waiting"  # an indefinite pause or an approval: waits for resume/promote
PROMOTED = "promoted"
ROLLED_BACK = "rolled_back"
ABORTED = "aborted"
TERMINAL = (PROMOTED, ROLLED_BACK, ABORTED)
BAD_ENDINGS = (ROLLED_BACK, ABORTED)

Events = list[tuple[str, str, dict[str, Any]]]
Notifier = Callable[[dict[str, Any]], None]


class Controller:
    """Starts rollouts and ticks them against one :class:`Platform`."""

    def __init__(
        self,
        journal: Journal,
        platform: Platform,
        clock: Clock,
        *,
        notifier: Notifier | None = None,
    ) -> None:
        self.journal = journal
        self.platform = platform
        self.clock = clock
        self._notifier = notifier or post_webhooks
        self._adopted: set[str] = set()

    # -- starting ------------------------------------------------------------------------------

    def start(
        self,
        target: RolloutTarget,
        strategy: Strategy,
        *,
        force: bool = False,
        rollout_id: str | None = None,
    ) -> dict[str, Any]:
        """Check the target and create a running rollout (no traffic moves until a tick)."""
        alias = self.platform.get_alias(target.function, target.alias)
        healed = ""
        if target.mode != "stage":
            state = lease.judge(alias.description, self.clock.now())
            if state.judgement == "watched":
                raise BadInputError(
                    f"alias {target.function}:{target.alias}: {state.reason}",
                    hint="wait for it, or 'apicanary rollout abort' it where it runs",
                )
            if state.judgement == "abandoned" and state.marker is not None:
                healed = self._roll_back_abandoned(target, state)
                alias = self.platform.get_alias(target.function, target.alias)
        if alias.canary is not None and alias.canary != target.to_version:
            raise BadInputError(
                f"alias {target.function}:{target.alias} is already split ({alias.primary} + "
                f"{alias.canary} at {alias.weight:.0%})",
                hint="finish or undo that split first (apicanary doctor shows it)",
            )
        if target.mode == "alias" and alias.primary != target.from_version:
            raise BadInputError(
                f"alias {target.function}:{target.alias} serves {alias.primary}, not "
                f"{target.from_version}"
            )
        if target.mode in ("stage", "both"):
            assert target.api_id and target.stage
            stage = self.platform.get_stage(target.api_id, target.stage)
            if stage.canary_percent is not None and stage.canary_percent > 0 and not force:
                raise BadInputError(
                    f"stage {target.stage} already has a canary at {stage.canary_percent}%",
                    hint="remove it, or pass --force to take it over",
                )
        alarms = list(strategy.alarms)
        if alarms:
            firing = [n for n, s in self.platform.alarm_states(alarms).items() if s == "ALARM"]
            if firing and not force:
                raise BadInputError(
                    f"alarm(s) already in ALARM before any traffic moved: {', '.join(firing)}",
                    hint="fix what they report, or pass --force to start anyway",
                )
        analysis = _new_analysis(strategy)
        now = self.clock.now()
        rid = rollout_id or uuid.uuid4().hex[:12]
        document: dict[str, Any] = {
            "id": rid,
            "status": RUNNING,
            "terminal": False,
            "phase": "pre-traffic",
            "target": target.to_dict(),
            "strategy": strategy.to_dict(),
            "strategySummary": strategy.describe(),
            "step": 0,
            "stepStartedAt": now,
            "weight": 0.0,
            "effectiveShare": 0.0,
            "analysis": analysis.to_dict(),
            "cursor": None,
            "unverified": False,
            "reason": "",
            "lastError": None,
            "createdAt": now,
            "updatedAt": now,
            "endedAt": None,
            "nextWake": now,
            "progress": _progress(analysis, None),
        }
        self.journal.create(
            rid,
            target.key,
            document,
            at=now,
            message=f"release {target.function}:{target.alias} {target.from_version} → "
            f"{target.to_version} with {strategy.describe()}{healed}",
        )
        self._notify(document, "created", "rollout created")
        return document

    def _roll_back_abandoned(self, target: RolloutTarget, state: lease.LeaseState) -> str:
        """Undo what an abandoned rollout left on the alias; returns a note for the journal."""
        assert state.marker is not None
        AliasRouter(
            self.platform, target.function, target.alias, state.marker.from_version,
            state.marker.to_version,
        ).rollback()  # fmt: skip
        return f" (first rolled back abandoned {state.reason.split(' left', 1)[0]})"

    def abort_by_alias(self, function: str, alias: str) -> dict[str, Any]:
        """Roll back whatever rollout marker is on ``function:alias`` (from any machine)."""
        current = self.platform.get_alias(function, alias)
        state = lease.judge(current.description, self.clock.now())
        if state.marker is None:
            raise BadInputError(f"alias {function}:{alias} carries no rollout marker")
        AliasRouter(
            self.platform, function, alias, state.marker.from_version, state.marker.to_version
        ).rollback()
        return {
            "rolloutId": state.marker.rollout_id,
            "function": function,
            "alias": alias,
            "rolledBackTo": state.marker.from_version,
            "wasAbandoned": state.judgement == "abandoned",
        }

    # -- intents -------------------------------------------------------------------------------

    def request(self, rollout_id: str, kind: str) -> dict[str, Any]:
        """Record a human intent (the next tick acts on it); returns the current document."""
        stored = self.journal.load(rollout_id)
        if stored.document.get("terminal") and kind != "retry":
            raise BadInputError(
                f"rollout {stored.id} has already ended ({stored.document['status']})"
            )
        self.journal.add_intent(stored.id, kind)
        return stored.document

    # -- the tick ------------------------------------------------------------------------------

    def reconcile(self, rollout_id: str) -> dict[str, Any]:
        """One tick. Safe to call at any time, any number of times, after any crash."""
        stored = self.journal.load(rollout_id)
        doc = _copy(stored.document)
        if doc.get("terminal"):
            return doc
        events: Events = []
        consumed: list[int] = []
        now = self.clock.now()
        strategy = parse_strategy(doc["strategy"])
        target = RolloutTarget.from_dict(doc["target"])
        router = self._router(target, doc)
        analysis = CanaryAnalysis.from_dict(doc["analysis"])
        try:
            for intent in self.journal.pending_intents(stored.id):
                consumed.append(intent.seq)
                self._apply_intent(doc, intent.kind, router, events, now)
                if doc.get("terminal"):
                    break
            if not doc.get("terminal"):
                self._adopt(doc, router, events)
                if doc["status"] in (RUNNING, WAITING):
                    self._watch(doc, strategy, target, router, analysis, events, now)
                if doc["status"] == RUNNING and not doc.get("terminal"):
                    self._advance(doc, strategy, target, router, analysis, events, now)
            doc["lastError"] = None
        except ApicanaryError as error:
            # a platform or hook call failed: nothing is half-recorded; retry next tick
            doc["lastError"] = str(error)
            events.append(("error", f"tick failed, will retry: {error}", {}))
        doc["analysis"] = analysis.to_dict()
        doc["progress"] = _progress(analysis, doc.get("progress"))
        doc["updatedAt"] = now
        saved = self.journal.save(stored, doc, events, at=now, consumed=consumed)
        for kind, message, _ in events:
            if kind in ("promoted", "rolled_back", "aborted", "paused", "resumed", "step"):
                self._notify(saved.document, kind, message)
        return saved.document

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

    # -- steps ---------------------------------------------------------------------------------

    def _apply_intent(
        self, doc: dict[str, Any], kind: str, router: Router, events: Events, now: float
    ) -> None:
        status = doc["status"]
        if kind == "abort":
            self._roll_back(doc, router, events, now, "aborted by a human", ABORTED)
        elif kind == "pause" and status in (RUNNING, WAITING):
            doc["pausedFrom"] = status
            doc["status"] = PAUSED
            events.append(("paused", "paused by a human; traffic stays where it is", {}))
        elif kind == "resume" and status == PAUSED:
            doc["status"] = doc.pop("pausedFrom", RUNNING)
            events.append(("resumed", "resumed by a human", {}))
        elif kind == "resume" and status == WAITING:
            doc["status"] = RUNNING
            doc["humanGo"] = True
            events.append(("resumed", "continued by a human", {}))
        elif kind == "promote":
            doc["status"] = RUNNING
            doc["humanGo"] = True
            events.append(("intent", "promote: the current step ends now", {}))
        elif kind == "promote-full":
            doc["status"] = RUNNING
            doc["skipToEnd"] = True
            events.append(("intent", "promote --full: skipping to full promotion", {}))
        else:
            events.append(("intent", f"ignored {kind} while {status}", {}))

    def _adopt(self, doc: dict[str, Any], router: Router, events: Events) -> None:
        """First tick in this process: compare the journal with the platform's traffic."""
        if doc["id"] in self._adopted:
            return
        self._adopted.add(doc["id"])
        if doc["phase"] != "steps":
            return
        observed = router.observed()
        if abs(observed - doc["effectiveShare"]) > 1e-6:
            applied = router.apply(doc["weight"]) if doc["weight"] > 0 else observed
            events.append(
                (
                    "adopted",
                    f"platform had the canary at {observed:.2f}%, journal says "
                    f"{doc['effectiveShare']:.2f}%: rewrote {doc['weight']:.2f}%",
                    {"observed": observed, "journal": doc["effectiveShare"], "applied": applied},
                )
            )

    def _watch(
        self,
        doc: dict[str, Any],
        strategy: Strategy,
        target: RolloutTarget,
        router: Router,
        analysis: CanaryAnalysis,
        events: Events,
        now: float,
    ) -> None:
        """Feed new telemetry to the tests and check alarms; roll back on any failure."""
        if doc["phase"] != "steps" or doc["effectiveShare"] <= 0:
            return
        if target.mode != "stage" and doc.get("leaseUntil", 0) - now < lease.LEASE_S / 2:
            router.apply(doc["weight"])  # the same weights, a renewed marker deadline
        batch = self.platform.read_telemetry(self._telemetry_target(target), doc["cursor"])
        doc["cursor"] = batch.cursor
        verdict = None
        if batch.invocations is not None and batch.invocations:
            verdict = analysis.update_invocations(batch.invocations, now=now)
        for window in batch.windows or ():
            verdict = analysis.update(window, now=now)
        if verdict is not None and verdict.outcome.value == "fail":
            self._roll_back(doc, router, events, now, verdict.reason, ROLLED_BACK)
            return
        if strategy.alarms:
            states = self.platform.alarm_states(list(strategy.alarms))
            firing = sorted(name for name, state in states.items() if state == "ALARM")
            if firing:
                self._roll_back(
                    doc, router, events, now, f"alarm in ALARM: {', '.join(firing)}", ROLLED_BACK
                )

    def _advance(
        self,
        doc: dict[str, Any],
        strategy: Strategy,
        target: RolloutTarget,
        router: Router,
        analysis: CanaryAnalysis,
        events: Events,
        now: float,
    ) -> None:
        if doc["phase"] == "pre-traffic":
            if not self._hook(doc, strategy.hooks.pre_traffic, "PreTraffic", router, events, now):
                return
            doc["phase"] = "steps"
            doc["step"] = 0
            doc["stepStartedAt"] = now
        while doc["phase"] == "steps" and doc["status"] == RUNNING:
            if doc.pop("skipToEnd", False):
                doc["step"] = len(strategy.steps)
            if doc["step"] >= len(strategy.steps):
                doc["phase"] = "post-traffic"
                break
            if not self._run_step(doc, strategy, router, analysis, events, now):
                return
            doc["step"] += 1
            doc["stepStartedAt"] = now
            doc.pop("humanGo", None)
        if doc["phase"] == "post-traffic" and doc["status"] == RUNNING:
            if not self._hook(doc, strategy.hooks.post_traffic, "PostTraffic", router, events, now):
                return
            router.promote()
            doc.update(
                status=PROMOTED, terminal=True, phase="done", weight=100.0,
                effectiveShare=100.0, endedAt=now, nextWake=None,
                reason="promoted" + (" (unverified: the guard could not confirm it)"
                                     if doc["unverified"] else ""),
            )  # fmt: skip
            events.append(
                ("promoted", f"{target.function}:{target.alias} now serves {target.to_version}", {})
            )

    def _run_step(
        self,
        doc: dict[str, Any],
        strategy: Strategy,
        router: Router,
        analysis: CanaryAnalysis,
        events: Events,
        now: float,
    ) -> bool:
        """Run step ``doc["step"]``; True when it is complete."""
        index = doc["step"]
        step = strategy.steps[index]
        elapsed = (now - doc["stepStartedAt"]) * strategy.time_scale  # strategy seconds
        if isinstance(step, SetWeight):
            share = router.apply(step.weight)
            doc["weight"] = step.weight
            doc["effectiveShare"] = share
            events.append(
                ("step", f"step {index + 1}: canary at {share:g}% of traffic",
                 {"step": index, "weight": step.weight, "readBack": share}),
            )  # fmt: skip
            return True
        if isinstance(step, Pause):
            if step.duration is None:
                return self._wait_for_human(doc, events, f"step {index + 1}: paused until resumed")
            if elapsed >= step.duration or doc.get("humanGo"):
                return True
            doc["nextWake"] = doc["stepStartedAt"] + (step.duration / strategy.time_scale)
            return False
        if isinstance(step, Approval):
            return self._wait_for_human(doc, events, f"step {index + 1}: waiting for approval")
        if isinstance(step, Analysis):
            if doc.get("humanGo"):
                events.append(("step", f"step {index + 1}: analysis skipped by a human", {}))
                return True
            settings = strategy.step_settings(index)
            analysis.config = dataclasses.replace(
                analysis.config,
                guard=GuardConfig(
                    min_dwell_s=float(settings.min_dwell),
                    max_dwell_s=float(settings.min_dwell + settings.max_extension),
                    k_min=settings.min_regression,
                    on_exhausted=OnExhausted.PROMOTE_UNVERIFIED
                    if settings.on_unverified is OnUnverified.PROMOTE_UNVERIFIED
                    else OnExhausted.STOP_FOR_HUMAN,
                ),
            )
            verdict = analysis.judge_step(dwell_s=elapsed)
            if verdict.action is StepAction.COMPLETE:
                events.append(("analysis", f"step {index + 1}: {verdict.reason}", {}))
                return True
            if verdict.action is StepAction.PROMOTE_UNVERIFIED:
                doc["unverified"] = True
                events.append(("analysis", f"step {index + 1}: unverified: {verdict.reason}", {}))
                return True
            if verdict.action is StepAction.ROLLBACK:
                self._roll_back(doc, router, events, now, verdict.reason, ROLLED_BACK)
                return False
            if verdict.action is StepAction.STOP_FOR_HUMAN:
                return self._wait_for_human(doc, events, f"step {index + 1}: {verdict.reason}")
            return False
        raise RolloutError(f"unknown step {step!r}")

    def _wait_for_human(self, doc: dict[str, Any], events: Events, why: str) -> bool:
        if doc.get("humanGo"):
            return True
        if doc["status"] != WAITING:
            doc["status"] = WAITING
            doc["reason"] = why
            events.append(("waiting", why, {}))
        return False

    def _hook(
        self,
        doc: dict[str, Any],
        hook: HookSpec | None,
        name: str,
        router: Router,
        events: Events,
        now: float,
    ) -> bool:
        """Run a lifecycle hook once; its failure rolls the release back."""
        done_key = f"hook{name}"
        if hook is None or doc.get(done_key):
            return True
        payload = {
            "DeploymentId": doc["id"],
            "LifecycleEventHookExecutionId": f"{doc['id']}-{name}",
            "Hook": name,
            "Target": doc["target"],
        }
        timeout = float(hook.timeout)
        if hook.kind is HookKind.FUNCTION:
            result = self.platform.invoke_hook(hook.target, payload, timeout)
            succeeded, detail = result.succeeded, result.detail
        else:
            succeeded, detail = _call_webhook(hook.target, payload, timeout)
        events.append(("hook", f"{name} hook {hook.describe()}: {detail}", {"ok": succeeded}))
        if not succeeded:
            self._roll_back(doc, router, events, now, f"{name} hook failed: {detail}", ROLLED_BACK)
            return False
        doc[done_key] = True
        return True

    def _roll_back(
        self,
        doc: dict[str, Any],
        router: Router,
        events: Events,
        now: float,
        reason: str,
        status: str,
    ) -> None:
        router.rollback()  # traffic first: verified by read-back before we record anything
        doc.update(
            status=status, terminal=True, phase="done", weight=0.0, effectiveShare=0.0,
            reason=reason, endedAt=now, nextWake=None,
        )  # fmt: skip
        events.append((status, f"rolled back: {reason}", {"reason": reason}))

    # -- plumbing ------------------------------------------------------------------------------

    def _router(self, target: RolloutTarget, doc: dict[str, Any]) -> Router:
        def marker_for(current: str, share: float) -> str:
            now = self.clock.now()
            doc["leaseUntil"] = now + lease.LEASE_S
            return lease.marker_description(
                current, rollout_id=doc["id"], to_version=target.to_version,
                from_version=target.from_version, step=int(doc.get("step", 0)), weight=share,
                now=now, mode=target.mode,
            )  # fmt: skip

        alias = AliasRouter(
            self.platform, target.function, target.alias, target.from_version,
            target.to_version, marker_for=marker_for,
        )  # fmt: skip
        if target.mode == "alias":
            return alias
        assert target.api_id and target.stage
        stage = StageCanaryRouter(self.platform, target.api_id, target.stage, target.overrides)
        return stage if target.mode == "stage" else BothRouter(alias, stage)

    @staticmethod
    def _telemetry_target(target: RolloutTarget) -> TelemetryTarget:
        return TelemetryTarget(
            function=target.function,
            alias=target.alias,
            stable_version=target.from_version,
            canary_version=target.to_version,
            api_name=target.api_name,
            api_id=target.api_id,
            stage=target.stage,
            mode=Mode.ALIAS if target.mode is Mode.ALIAS else Mode.STAGE,
        )

    def _notify(self, document: Mapping[str, Any], kind: str, message: str) -> None:
        urls = list(parse_strategy(document["strategy"]).notifications)
        if not urls:
            return
        body = {
            "rolloutId": document["id"],
            "event": kind,
            "message": message,
            "status": document["status"],
            "target": document["target"],
            "weight": document.get("weight"),
            "reason": document.get("reason"),
            "urls": urls,
        }
        self._notifier(body)


def _new_analysis(strategy: Strategy) -> CanaryAnalysis:
    alpha = strategy.analysis.alpha
    return CanaryAnalysis(AnalysisConfig(alpha_errors=alpha / 2, alpha_latency=alpha / 2))


def _progress(analysis: CanaryAnalysis, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """The numbers the live views show: per-arm counts, evidence against its threshold."""
    errors, latency = analysis.verdicts()
    stable, canary = analysis.errors.requests
    stable_err, canary_err = analysis.errors.errors
    return {
        "stableRequests": stable,
        "canaryRequests": canary,
        "stableErrors": stable_err,
        "canaryErrors": canary_err,
        "errorEvidence": errors.evidence,
        "errorThreshold": errors.threshold,
        "errorReason": errors.reason,
        "latencyEvidence": latency.evidence,
        "latencyThreshold": latency.threshold,
        "latencyReason": latency.reason,
        "remainingCanaryRequests": analysis.remaining_canary_requests(),
    }


def _copy(document: Mapping[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(dict(document))


def _call_webhook(url: str, payload: Mapping[str, Any], timeout: float) -> tuple[bool, str]:
    try:
        response = httpx.post(url, json=dict(payload), timeout=timeout)
    except httpx.HTTPError as error:
        return False, f"webhook {url} failed: {error}"
    if 200 <= response.status_code < 300:
        return True, f"webhook answered {response.status_code}"
    return False, f"webhook answered {response.status_code}: {response.text[:200]}"


def post_webhooks(body: Mapping[str, Any]) -> None:
    """Best-effort JSON notification to each URL; a failing receiver never stops a rollout."""
    for url in body.get("urls", ()):
        payload = {k: v for k, v in body.items() if k != "urls"}
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(url, json=payload, timeout=2.0)


def rollout_ended_badly(document: Mapping[str, Any]) -> bool:
    return document.get("status") in BAD_ENDINGS


__all__: Sequence[str] = (
    "ABORTED",
    "PROMOTED",
    "ROLLED_BACK",
    "Controller",
    "StoredRollout",
    "rollout_ended_badly",
)
