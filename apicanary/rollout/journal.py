"""Durable rollout state and its append-only event journal, in SQLite.

Three tables (component ``rollouts``):

* ``rollouts``: the current state of each rollout as one JSON document plus the columns
  queried on (status, target, next wake). Saved with a revision check: a save based on a stale
  read fails with :class:`RolloutConflict` instead of overwriting a newer state.
* ``rollout_events``: what happened, in order, never rewritten (steps, weights written and
  read back, measurements, decisions with their reasons, intents consumed).
* ``rollout_intents``: what a human asked for (promote, abort, pause, resume, retry), written
  by the CLI/API and consumed exactly once by the controller.

A state save and the events it explains are written in one transaction, so after a crash the
journal never claims a step the state does not have, or the reverse.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from apicanary.errors import BadInputError, RolloutError
from apicanary.rollout.state import IntentKind
from apicanary.store import Store

MIGRATIONS = [
    """
    CREATE TABLE rollouts (
        id TEXT PRIMARY KEY,
        target_key TEXT NOT NULL,
        status TEXT NOT NULL,
        active INTEGER NOT NULL,
        document TEXT NOT NULL,
        revision INTEGER NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        next_wake REAL
    );
    CREATE UNIQUE INDEX rollouts_one_active_per_target ON rollouts(target_key) WHERE active = 1;
    CREATE TABLE rollout_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        rollout_id TEXT NOT NULL REFERENCES rollouts(id),
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX rollout_events_by_rollout ON rollout_events(rollout_id, seq);
    CREATE TABLE rollout_intents (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        rollout_id TEXT NOT NULL REFERENCES rollouts(id),
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at REAL NOT NULL,
        consumed_at REAL
    );
    """
]

INTENT_KINDS = tuple(kind.value for kind in IntentKind)


class RolloutConflict(RolloutError):
    """The rollout changed since it was read (another controller or a stale copy)."""


@dataclass(frozen=True, slots=True)
class StoredRollout:
    id: str
    document: dict[str, Any]
    revision: int


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    rollout_id: str
    at: float
    kind: str
    message: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "message": self.message,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Intent:
    seq: int
    rollout_id: str
    kind: str
    data: dict[str, Any]


class Journal:
    """Rollout persistence over a :class:`Store` (the engine's, or the CLI's own for AWS)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        store.migrate("rollouts", MIGRATIONS)

    def create(
        self,
        rollout_id: str,
        target_key: str,
        document: dict[str, Any],
        *,
        at: float,
        message: str,
    ) -> StoredRollout:
        """Insert a new active rollout; refuse a second active one on the same target."""
        with self._store.transaction() as conn:
            clash = conn.execute(
                "SELECT id FROM rollouts WHERE target_key = ? AND active = 1", (target_key,)
            ).fetchone()
            if clash:
                raise BadInputError(
                    f"rollout {clash['id']} is already active on {target_key}",
                    hint=f"wait for it, or 'apicanary rollout abort {clash['id']}'",
                )
            conn.execute(
                "INSERT INTO rollouts(id, target_key, status, active, document, revision, "
                "created_at, updated_at, next_wake) VALUES (?, ?, ?, 1, ?, 1, ?, ?, ?)",
                (
                    rollout_id,
                    target_key,
                    document["status"],
                    _dumps(document),
                    at,
                    at,
                    document.get("nextWake"),
                ),
            )
            self._append(conn, rollout_id, at, "created", message, {})
        return StoredRollout(rollout_id, document, 1)

    def load(self, rollout_id: str) -> StoredRollout:
        row = self._store.query_one(
            "SELECT id, document, revision FROM rollouts WHERE id = ?", (rollout_id,)
        )
        if row is None:
            row = self._store.query_one(
                "SELECT id, document, revision FROM rollouts WHERE id LIKE ? ORDER BY created_at",
                (rollout_id + "%",),
            )
        if row is None:
            raise BadInputError(f"no rollout {rollout_id!r}", hint="see 'apicanary rollout list'")
        return StoredRollout(row["id"], orjson.loads(row["document"]), int(row["revision"]))

    def save(
        self,
        stored: StoredRollout,
        document: dict[str, Any],
        events: Sequence[tuple[str, str, dict[str, Any]]],
        *,
        at: float,
        consumed: Sequence[int] = (),
    ) -> StoredRollout:
        """Replace the document if it is still at ``stored.revision``; append ``events`` and
        mark ``consumed`` intents, all in one transaction."""
        active = 1 if not document.get("terminal") else 0
        with self._store.transaction() as conn:
            updated = conn.execute(
                "UPDATE rollouts SET status = ?, active = ?, document = ?, revision = ?, "
                "updated_at = ?, next_wake = ? WHERE id = ? AND revision = ?",
                (
                    document["status"],
                    active,
                    _dumps(document),
                    stored.revision + 1,
                    at,
                    document.get("nextWake"),
                    stored.id,
                    stored.revision,
                ),
            ).rowcount
            if updated != 1:
                raise RolloutConflict(
                    f"rollout {stored.id} changed since revision {stored.revision}; re-read it"
                )
            for kind, message, data in events:
                self._append(conn, stored.id, at, kind, message, data)
            for seq in consumed:
                conn.execute("UPDATE rollout_intents SET consumed_at = ? WHERE seq = ?", (at, seq))
        return StoredRollout(stored.id, document, stored.revision + 1)

    def rollouts(self, *, active_only: bool = False) -> list[StoredRollout]:
        sql = "SELECT id, document, revision FROM rollouts"
        if active_only:
            sql += " WHERE active = 1"
        rows = self._store.query(sql + " ORDER BY created_at DESC")
        return [
            StoredRollout(r["id"], orjson.loads(r["document"]), int(r["revision"])) for r in rows
        ]

    def events(self, rollout_id: str, after: int = 0) -> list[Event]:
        rows = self._store.query(
            "SELECT * FROM rollout_events WHERE rollout_id = ? AND seq > ? ORDER BY seq",
            (rollout_id, after),
        )
        return [
            Event(
                r["seq"], r["rollout_id"], r["at"], r["kind"], r["message"], orjson.loads(r["data"])
            )
            for r in rows
        ]

    def add_intent(self, rollout_id: str, kind: str, data: dict[str, Any] | None = None) -> int:
        """Record a human's request; the controller consumes it on its next tick."""
        if kind not in INTENT_KINDS:
            raise BadInputError(f"intent {kind!r} is not one of {', '.join(INTENT_KINDS)}")
        stored = self.load(rollout_id)
        with self._store.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO rollout_intents(rollout_id, kind, data, created_at) VALUES (?,?,?,?)",
                (stored.id, kind, _dumps(data or {}), time.time()),
            )
            return int(cursor.lastrowid or 0)

    def pending_intents(self, rollout_id: str) -> list[Intent]:
        rows = self._store.query(
            "SELECT * FROM rollout_intents WHERE rollout_id = ? AND consumed_at IS NULL "
            "ORDER BY seq",
            (rollout_id,),
        )
        return [Intent(r["seq"], r["rollout_id"], r["kind"], orjson.loads(r["data"])) for r in rows]

    @staticmethod
    def _append(conn: Any, rollout_id: str, at: float, kind: str, message: str, data: Any) -> None:
        conn.execute(
            "INSERT INTO rollout_events(rollout_id, at, kind, message, data) VALUES (?,?,?,?,?)",
            (rollout_id, at, kind, message, _dumps(data)),
        )


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()
