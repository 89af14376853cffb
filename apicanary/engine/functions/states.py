"""Function states: the asynchronous part of Lambda's control plane, as pure decisions.

AWS applies a create, an update of code or configuration, and a version published together
with a change asynchronously (docs/aws-semantics.md, "Lambda: function states"):

* after CreateFunction the function is ``Pending`` (reason "The function is being created.",
  code ``Creating``), then ``Active``, and its RevisionId changes when it becomes Active;
* after UpdateFunctionCode / UpdateFunctionConfiguration it stays ``Active`` with
  ``LastUpdateStatus: InProgress`` (same reason and code), then ``Successful``, again with a
  new RevisionId;
* a version published in the same call as a change (``Publish=True``) is ``Pending`` first;
  its RevisionId does not change when it becomes Active. A version published from a settled
  ``$LATEST`` is Active at once;
* while Pending, Invoke, the two updates and PublishVersion fail; while InProgress, the two
  updates and PublishVersion fail (ResourceConflictException, 409).

The engine records each change as a :class:`~.model.Transition` lasting the configured delay
on its clock and derives state, RevisionId and refusals from the time alone: nothing runs in
the background to settle a function, so restarts and virtual clocks need no extra care.
"""

from __future__ import annotations

from typing import Any

import orjson

from apicanary.engine.functions.model import FunctionState, Transition, VersionState
from apicanary.errors import conflict

CREATE = "create"
"""A new function: ``State: Pending`` until settled; settling changes the RevisionId."""
UPDATE = "update"
"""Changed code or configuration: ``LastUpdateStatus: InProgress``; settling changes the
RevisionId."""
PUBLISH = "publish"
"""A version published with a change: ``State: Pending``; settling keeps the RevisionId."""

REASON = "The function is being created."
REASON_CODE = "Creating"
SETTLED = {"State": "Active", "LastUpdateStatus": "Successful"}

MAX_DELAY_S = 60.0
"""The longest delay ``serve --lambda-state-delay`` accepts (the engine's own callers wait it)."""
DEFAULT_DELAY_S = 0.25
"""What ``apicanary serve`` uses: short, but long enough that a client that does not wait
for a change to settle meets the ResourceConflictException it would meet on AWS."""


def start(kind: str, now: float, delay: float, pending_revision: str) -> Transition | None:
    """The transition a change of ``kind`` starts at ``now`` (``None``: no delay, settled).

    ``pending_revision`` is the RevisionId shown until it settles, for the kinds whose
    settling changes the RevisionId (``create``, ``update``).
    """
    if delay <= 0:
        return None
    return Transition(kind, now + delay, None if kind == PUBLISH else pending_revision)


def ongoing(version: VersionState, now: float) -> Transition | None:
    """``version``'s transition if it has not ended by ``now``."""
    transition = version.transition
    return transition if transition is not None and now < transition.until else None


def revision_at(version: VersionState, now: float) -> str:
    """The RevisionId the API shows for ``version`` at ``now``."""
    transition = ongoing(version, now)
    if transition is not None and transition.revision_id is not None:
        return transition.revision_id
    return version.revision_id


def status_fields(version: VersionState, now: float) -> dict[str, str]:
    """``State``, ``LastUpdateStatus`` and their reasons, as a FunctionConfiguration has them."""
    transition = ongoing(version, now)
    if transition is None:
        return dict(SETTLED)
    if transition.kind == UPDATE:
        return {
            "State": "Active",
            "LastUpdateStatus": "InProgress",
            "LastUpdateStatusReason": REASON,
            "LastUpdateStatusReasonCode": REASON_CODE,
        }
    return {"State": "Pending", "StateReason": REASON, "StateReasonCode": REASON_CODE}


def check_changeable(version: VersionState, now: float, function_arn: str) -> None:
    """Refuse UpdateFunctionCode, UpdateFunctionConfiguration and PublishVersion while a
    change of ``version`` (``$LATEST``) is still being applied."""
    transition = ongoing(version, now)
    if transition is None:
        return
    if transition.kind == UPDATE:
        raise conflict(
            "The operation cannot be performed at this time. An update is in progress for "
            f"resource: {function_arn}"
        )
    raise conflict(
        f"The operation cannot be performed at this time. The resource {function_arn} is "
        f"currently in the following state: 'Pending'. StateReasonCode: '{REASON_CODE}'"
    )


def check_invocable(version: VersionState, now: float) -> None:
    """Refuse Invoke of a ``Pending`` version (an update in progress still invokes)."""
    transition = ongoing(version, now)
    if transition is not None and transition.kind != UPDATE:
        raise conflict(
            "The operation cannot be performed at this time. The function is currently in the "
            "following state: Pending"
        )


def settles_at(state: FunctionState) -> float:
    """When every transition of ``state`` (``$LATEST`` and its versions) has ended (0: none)."""
    ends = [
        version.transition.until
        for version in (state.latest, *state.versions.values())
        if version.transition is not None
    ]
    return max(ends, default=0.0)


def to_json(transition: Transition | None) -> str | None:
    """``transition`` as the text the tables store (``None``: settled)."""
    if transition is None:
        return None
    return orjson.dumps(
        {"kind": transition.kind, "until": transition.until, "revision": transition.revision_id}
    ).decode()


def from_json(text: str | None) -> Transition | None:
    if not text:
        return None
    data: dict[str, Any] = orjson.loads(text)
    return Transition(data["kind"], float(data["until"]), data.get("revision"))
