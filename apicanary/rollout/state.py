"""Typed rollout state: :class:`Status`, :class:`Phase`, :class:`RolloutState`, and the
transition table the controller may move a rollout along.

A rollout is a :class:`RolloutState` everywhere in the rollout package, the CLI and the
dashboard; its JSON document (:meth:`RolloutState.to_dict`) is the form stored in the
journal and served by ``/_apicanary/rollouts`` and ``rollout status --output json``. Only
the journal boundary converts (:meth:`RolloutState.from_dict` reads every document written
so far: unknown keys are ignored, missing ones take their defaults).

Status transitions (anything else raises :class:`IllegalTransition`; staying put is no
transition)::

    running → paused       a human paused it
            → waiting      an indefinite pause, an approval, or the guard stopping for a human
            → promoted     the last step and the post-traffic hook passed (or promote --full)
            → rolled_back  a sequential test crossed, an alarm fired, a hook failed
            → aborted      a human aborted it
    waiting → running      a human resumed or promoted
            → paused       a human paused it
            → rolled_back  a test or an alarm, watched while it waits
            → aborted      a human aborted it
    paused  → running      a human resumed a running rollout, or promoted
            → waiting      a human resumed a rollout that was waiting when paused
            → rolled_back  a test or an alarm: a paused canary still takes traffic, and is
                           still watched
            → aborted      a human aborted it
    promoted, rolled_back, aborted: terminal, never left

Phase transitions::

    pre-traffic  → steps         the pre-traffic hook passed (or there is none)
                 → done          the hook failed, or a human aborted
    steps        → post-traffic  after the last step (or promote --full)
                 → done          rolled back or aborted
    post-traffic → done          promoted, or the hook failed, or a human aborted
    done: terminal, and only terminal statuses are in it

Human intents (:class:`IntentKind`) are accepted at any time and journalled; which ones the
controller acts on in each status is :data:`INTENT_EFFECTS` (the dashboard's buttons and
``allowedActions`` come from it too). Retrying an ended rollout is not an intent: it is a
new rollout from the same request (``rollout retry``), linked to the old one by ``retryOf``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from apicanary.errors import RolloutError
from apicanary.rollout.strategy.parse import parse_strategy
from apicanary.rollout.strategy.types import Strategy
from apicanary.rollout.target import RolloutTarget


class Status(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    WAITING = "waiting"  # an indefinite pause, an approval or the guard: waits for a human
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


class Phase(StrEnum):
    PRE_TRAFFIC = "pre-traffic"
    STEPS = "steps"
    POST_TRAFFIC = "post-traffic"
    DONE = "done"


class IntentKind(StrEnum):
    """What a human can ask for (CLI, dashboard, API); the controller consumes it once."""

    PROMOTE = "promote"
    PROMOTE_FULL = "promote-full"
    ABORT = "abort"
    PAUSE = "pause"
    RESUME = "resume"


TERMINAL = frozenset({Status.PROMOTED, Status.ROLLED_BACK, Status.ABORTED})
BAD_ENDINGS = frozenset({Status.ROLLED_BACK, Status.ABORTED})
"""The endings a waiting CLI reports with exit code 3."""
UNVERIFIED_EXIT_CODE = 4
"""What a waiting CLI exits with when the release was promoted without the evidence to
verify it (too little canary traffic to have seen a regression): never 0, never 3."""

_HUMAN = (Status.RUNNING, Status.WAITING, Status.PAUSED)

STATUS_TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.RUNNING: frozenset(
        {Status.PAUSED, Status.WAITING, Status.PROMOTED, Status.ROLLED_BACK, Status.ABORTED}
    ),
    Status.WAITING: frozenset({Status.RUNNING, Status.PAUSED, Status.ROLLED_BACK, Status.ABORTED}),
    Status.PAUSED: frozenset({Status.RUNNING, Status.WAITING, Status.ROLLED_BACK, Status.ABORTED}),
    Status.PROMOTED: frozenset(),
    Status.ROLLED_BACK: frozenset(),
    Status.ABORTED: frozenset(),
}

PHASE_TRANSITIONS: Mapping[Phase, frozenset[Phase]] = {
    Phase.PRE_TRAFFIC: frozenset({Phase.STEPS, Phase.DONE}),
    Phase.STEPS: frozenset({Phase.POST_TRAFFIC, Phase.DONE}),
    Phase.POST_TRAFFIC: frozenset({Phase.DONE}),
    Phase.DONE: frozenset(),
}

INTENT_EFFECTS: Mapping[IntentKind, tuple[Status, ...]] = {
    IntentKind.PROMOTE: _HUMAN,
    IntentKind.PROMOTE_FULL: _HUMAN,
    IntentKind.PAUSE: (Status.RUNNING, Status.WAITING),
    IntentKind.RESUME: (Status.PAUSED, Status.WAITING),
    IntentKind.ABORT: _HUMAN,
}
"""The statuses in which the controller acts on each intent; elsewhere it is journalled as
ignored."""


class IllegalTransition(RolloutError):
    """A move the transition table does not allow: a bug in the controller, never retried."""


def allowed_intents(status: Status) -> tuple[IntentKind, ...]:
    """The intents the controller would act on in ``status``, in the dashboard's order."""
    return tuple(kind for kind, statuses in INTENT_EFFECTS.items() if status in statuses)


def ended_badly(document: Mapping[str, Any]) -> bool:
    """True for a rollout document that ended rolled back or aborted."""
    return document.get("status") in BAD_ENDINGS


def ended_unverified(document: Mapping[str, Any]) -> bool:
    """True for a rollout document promoted without the evidence to verify the release."""
    return document.get("status") == Status.PROMOTED.value and bool(document.get("unverified"))


@dataclass(frozen=True, slots=True)
class Progress:
    """The numbers the live views show: per-arm counts, each test's evidence vs threshold,
    and the canary requests the promotion guard still wants (None: not reachable now)."""

    stable_requests: int = 0
    canary_requests: int = 0
    stable_errors: int = 0
    canary_errors: int = 0
    error_evidence: float | None = None
    error_threshold: float | None = None
    error_reason: str = ""
    latency_evidence: float | None = None
    latency_threshold: float | None = None
    latency_reason: str = ""
    remaining_canary_requests: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, name) for name, key in _PROGRESS_KEYS.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Progress:
        data = data or {}
        return cls(**{name: data[key] for name, key in _PROGRESS_KEYS.items() if key in data})


_PROGRESS_KEYS = {
    "stable_requests": "stableRequests",
    "canary_requests": "canaryRequests",
    "stable_errors": "stableErrors",
    "canary_errors": "canaryErrors",
    "error_evidence": "errorEvidence",
    "error_threshold": "errorThreshold",
    "error_reason": "errorReason",
    "latency_evidence": "latencyEvidence",
    "latency_threshold": "latencyThreshold",
    "latency_reason": "latencyReason",
    "remaining_canary_requests": "remainingCanaryRequests",
}

_HOOK_KEYS = {"PreTraffic": "hookPreTraffic", "PostTraffic": "hookPostTraffic"}


@dataclass(slots=True)
class RolloutState:
    """One rollout. Mutated only by the controller's tick, through :meth:`move` and the plain
    fields; ``analysis`` (``CanaryAnalysis.to_dict()``) and ``cursor`` (the platform's) are
    opaque here."""

    id: str
    target: RolloutTarget
    strategy: Strategy
    created_at: float
    status: Status = Status.RUNNING
    phase: Phase = Phase.PRE_TRAFFIC
    strategy_summary: str = ""
    step: int = 0
    step_started_at: float = 0.0
    weight: float = 0.0  # the canary weight the strategy asked for (%)
    effective_share: float = 0.0  # the share read back from the platform (%)
    analysis: Mapping[str, Any] = field(default_factory=dict)
    cursor: Any = None
    unverified: bool = False
    reason: str = ""
    last_error: str | None = None
    updated_at: float = 0.0
    ended_at: float | None = None
    next_wake: float | None = None
    progress: Progress = field(default_factory=Progress)
    # the controller's own bookkeeping, kept in the document under its historical keys
    lease_until: float | None = None  # leaseUntil: the alias marker's deadline
    hooks_done: frozenset[str] = frozenset()  # hookPreTraffic / hookPostTraffic
    paused_from: Status | None = None  # pausedFrom: what a resume returns to
    human_go: bool = False  # humanGo: a human ended the current step
    skip_to_end: bool = False  # skipToEnd: promote --full
    # the evidence watermark: every request that started before it has been read and judged
    evidence_until: float | None = None  # evidenceUntil
    # when the current step (or the last, before promotion) ended: it is left only once the
    # watermark has passed this instant (None: the step has not ended)
    step_ended_at: float | None = None  # stepEndedAt
    lost_stable: int = 0  # lostStable: requests the controller never saw (it fell behind)
    lost_canary: int = 0  # lostCanary
    retry_of: str | None = None  # retryOf: the ended rollout this one re-runs

    @property
    def terminal(self) -> bool:
        return self.status.terminal

    # -- transitions ---------------------------------------------------------------------------

    def move(self, status: Status | None = None, phase: Phase | None = None) -> None:
        """Change status and/or phase along the table (module docstring), or raise and change
        nothing."""
        new_status = self.status if status is None else status
        new_phase = self.phase if phase is None else phase
        if new_status is not self.status and new_status not in STATUS_TRANSITIONS[self.status]:
            raise IllegalTransition(f"rollout {self.id}: status {self.status} → {new_status}")
        if new_phase is not self.phase and new_phase not in PHASE_TRANSITIONS[self.phase]:
            raise IllegalTransition(f"rollout {self.id}: phase {self.phase} → {new_phase}")
        if (new_phase is Phase.DONE) != new_status.terminal:
            raise IllegalTransition(f"rollout {self.id}: status {new_status} in phase {new_phase}")
        self.status, self.phase = new_status, new_phase

    def end(self, status: Status, reason: str, now: float, *, share: float) -> None:
        """Finish with a terminal ``status``; ``share`` is the canary's traffic now (%)."""
        self.move(status, Phase.DONE)
        self.weight = self.effective_share = share
        self.reason = reason
        self.ended_at = now
        self.next_wake = None

    # -- the document (journal and API form) ---------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "status": self.status.value,
            "terminal": self.terminal,
            "phase": self.phase.value,
            "target": self.target.to_dict(),
            "strategy": self.strategy.to_dict(),
            "strategySummary": self.strategy_summary,
            "step": self.step,
            "stepStartedAt": self.step_started_at,
            "weight": self.weight,
            "effectiveShare": self.effective_share,
            "analysis": dict(self.analysis),
            "cursor": self.cursor,
            "unverified": self.unverified,
            "reason": self.reason,
            "lastError": self.last_error,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "endedAt": self.ended_at,
            "nextWake": self.next_wake,
            "progress": self.progress.to_dict(),
        }
        if self.lease_until is not None:
            document["leaseUntil"] = self.lease_until
        for name in sorted(self.hooks_done):
            document[_HOOK_KEYS[name]] = True
        if self.paused_from is not None:
            document["pausedFrom"] = self.paused_from.value
        if self.human_go:
            document["humanGo"] = True
        if self.skip_to_end:
            document["skipToEnd"] = True
        if self.evidence_until is not None:
            document["evidenceUntil"] = self.evidence_until
        if self.step_ended_at is not None:
            document["stepEndedAt"] = self.step_ended_at
        if self.lost_stable or self.lost_canary:
            document["lostStable"] = self.lost_stable
            document["lostCanary"] = self.lost_canary
        if self.retry_of is not None:
            document["retryOf"] = self.retry_of
        return document

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> RolloutState:
        """Read a document (any written so far). The strategy is validated once per distinct
        content and then shared (it is frozen), not on every tick or every render."""
        d = document
        strategy = persisted_strategy(d["strategy"])
        paused_from = d.get("pausedFrom")
        return cls(
            id=d["id"],
            target=RolloutTarget.from_dict(d["target"]),
            strategy=strategy,
            created_at=float(d.get("createdAt") or 0.0),
            status=Status(d["status"]),
            phase=Phase(d.get("phase") or Phase.PRE_TRAFFIC),
            strategy_summary=d.get("strategySummary") or strategy.describe(),
            step=int(d.get("step") or 0),
            step_started_at=float(d.get("stepStartedAt") or 0.0),
            weight=float(d.get("weight") or 0.0),
            effective_share=float(d.get("effectiveShare") or 0.0),
            analysis=d.get("analysis") or {},
            cursor=d.get("cursor"),
            unverified=bool(d.get("unverified")),
            reason=d.get("reason") or "",
            last_error=d.get("lastError"),
            updated_at=float(d.get("updatedAt") or 0.0),
            ended_at=d.get("endedAt"),
            next_wake=d.get("nextWake"),
            progress=Progress.from_dict(d.get("progress")),
            lease_until=d.get("leaseUntil"),
            hooks_done=frozenset(name for name, key in _HOOK_KEYS.items() if d.get(key)),
            paused_from=None if paused_from is None else Status(paused_from),
            human_go=bool(d.get("humanGo")),
            skip_to_end=bool(d.get("skipToEnd")),
            evidence_until=d.get("evidenceUntil"),
            step_ended_at=d.get("stepEndedAt"),
            lost_stable=int(d.get("lostStable") or 0),
            lost_canary=int(d.get("lostCanary") or 0),
            retry_of=d.get("retryOf"),
        )


def persisted_strategy(data: Mapping[str, Any]) -> Strategy:
    """The :class:`Strategy` of a document's ``strategy``, validated once per content."""
    return _strategy_of(orjson.dumps(data, option=orjson.OPT_SORT_KEYS))


@functools.lru_cache(maxsize=256)
def _strategy_of(canonical: bytes) -> Strategy:
    return parse_strategy(orjson.loads(canonical))


__all__ = [
    "BAD_ENDINGS",
    "INTENT_EFFECTS",
    "PHASE_TRANSITIONS",
    "STATUS_TRANSITIONS",
    "TERMINAL",
    "UNVERIFIED_EXIT_CODE",
    "IllegalTransition",
    "IntentKind",
    "Phase",
    "Progress",
    "RolloutState",
    "Status",
    "allowed_intents",
    "ended_badly",
    "ended_unverified",
    "persisted_strategy",
]
