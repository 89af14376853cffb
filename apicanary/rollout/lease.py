"""Who is watching a half-shifted alias: the marker lease, and the policy for abandoned ones.

Every traffic write of an alias rollout records a marker in the alias description
(``platform/marker.py``) with a deadline ``exp`` = now + :data:`LEASE_S`; the controller
renews it when less than half is left. The alias is therefore self-describing: anyone reading
it can tell which rollout shifted it, to what, and whether that rollout is still watched.

Policy (pure, :func:`judge`): a marker whose deadline has passed belongs to an *abandoned*
rollout (its controller died: a CI runner killed mid-release). AWS never moves an alias by
itself, so an abandoned alias would stay half-shifted forever; the next apicanary command that
starts a rollout on it, or asks to abort it, rolls it back to the marker's ``from`` version
first and says so. A marker still within its deadline means a controller elsewhere is
watching: starting another rollout on that alias is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from apicanary.platform.marker import Marker, decode, with_marker

LEASE_S = 600.0

Judgement = Literal["free", "watched", "abandoned"]


@dataclass(frozen=True, slots=True)
class LeaseState:
    judgement: Judgement
    marker: Marker | None
    reason: str


def judge(description: str, now: float, *, own_rollout: str | None = None) -> LeaseState:
    """What an alias description says about who is watching the alias at ``now``."""
    try:
        marker = decode(description or "")
    except ValueError:
        return LeaseState("free", None, "unreadable marker ignored")
    if marker is None or marker.rollout_id == own_rollout:
        return LeaseState("free", marker, "")
    if marker.expired(now):
        return LeaseState(
            "abandoned",
            marker,
            f"rollout {marker.rollout_id} left it at {marker.weight:.0%} to version "
            f"{marker.to_version} and stopped watching (deadline passed)",
        )
    return LeaseState(
        "watched",
        marker,
        f"rollout {marker.rollout_id} is shifting it to version {marker.to_version} and is "
        "being watched",
    )


def marker_description(
    description: str,
    *,
    rollout_id: str,
    to_version: str,
    from_version: str,
    step: int,
    weight: float,
    now: float,
    mode: str = "alias",
) -> str:
    """``description`` with this rollout's marker, deadline ``now + LEASE_S``."""
    marker = Marker(
        rollout_id=rollout_id,
        to_version=to_version,
        from_version=from_version,
        step=step,
        weight=round(min(1.0, max(0.0, weight)), 6),
        expires_at=int(now + LEASE_S),
        mode=mode,
    )
    return with_marker(description, marker)


__all__ = ["LEASE_S", "LeaseState", "judge", "marker_description"]
