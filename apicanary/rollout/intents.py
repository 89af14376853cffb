"""What each human intent does to a rollout (the controller consumes them at the start of a
tick, in the order they were asked for).

=============  ==========================================================================
abort          roll back now (traffic first) and end ``aborted``
pause          running or waiting → paused; traffic stays where it is
resume         paused → what it was before the pause; waiting → running, step ends now
promote        → running, the current step ends now
promote-full   → running, skip every remaining step and promote
=============  ==========================================================================

An intent the status does not allow (``state.INTENT_EFFECTS``) is journalled as ignored.
"""

from __future__ import annotations

from apicanary.rollout import actions
from apicanary.rollout.state import INTENT_EFFECTS, IntentKind, Status
from apicanary.rollout.tick import Tick


def apply_intent(tick: Tick, kind: str) -> None:
    state = tick.state
    status = state.status
    try:
        intent = IntentKind(kind)
    except ValueError:
        intent = None
    if intent is None or status not in INTENT_EFFECTS[intent]:
        tick.record("intent", f"ignored {kind} while {status}")
    elif intent is IntentKind.ABORT:
        actions.roll_back(tick, "aborted by a human", Status.ABORTED)
    elif intent is IntentKind.PAUSE:
        state.paused_from = status
        state.move(Status.PAUSED)
        tick.record("paused", "paused by a human; traffic stays where it is")
    elif intent is IntentKind.RESUME and status is Status.PAUSED:
        state.move(state.paused_from or Status.RUNNING)
        state.paused_from = None
        tick.record("resumed", "resumed by a human")
    elif intent is IntentKind.RESUME:
        state.move(Status.RUNNING)
        state.human_go = True
        tick.record("resumed", "continued by a human")
    elif intent is IntentKind.PROMOTE:
        state.move(Status.RUNNING)
        state.human_go = True
        tick.record("intent", "promote: the current step ends now")
    else:
        state.move(Status.RUNNING)
        state.skip_to_end = True
        tick.record("intent", "promote --full: skipping to full promotion")


__all__ = ["apply_intent"]
