"""Alarms and their history in SQLite (component ``alarms``), or the history in memory.

Without a :class:`~apicanary.store.Store` the engine keeps alarms only in its own dict and
the history here in a list; with one, every change is written in one transaction and a new
engine on the same store reloads the alarms. Callers serialise access (the engine's lock).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from apicanary.engine.cloudwatch.alarms.config import AlarmConfig, parse_alarm
from apicanary.engine.cloudwatch.alarms.decide import json_text
from apicanary.store import Store

COMPONENT = "alarms"

MIGRATIONS = [
    """
    CREATE TABLE cw_alarms (
        name TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        state_value TEXT NOT NULL,
        state_reason TEXT NOT NULL,
        state_reason_data TEXT,
        state_updated REAL NOT NULL,
        state_transitioned REAL NOT NULL,
        config_updated REAL NOT NULL
    );
    CREATE TABLE cw_alarm_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        alarm_name TEXT NOT NULL,
        timestamp REAL NOT NULL,
        item_type TEXT NOT NULL,
        summary TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX cw_alarm_history_by_name ON cw_alarm_history (alarm_name, seq);
    """
]


@dataclass(slots=True)
class AlarmRecord:
    """One alarm: its configuration and its current state (mutable, under the engine's lock)."""

    config: AlarmConfig
    state: str
    reason: str
    reason_data: str | None
    state_updated: float
    state_transitioned: float
    config_updated: float


History = tuple[str, float, str, str, str]
"""A history item: alarm name, timestamp, item type, summary, data (JSON text)."""


class AlarmTables:
    """Where alarms and their history are kept."""

    def __init__(self, store: Store | None) -> None:
        self._store = store
        self._memory: list[History] = []  # the history, without a store
        if store is not None:
            store.migrate(COMPONENT, MIGRATIONS)

    def load(self) -> list[AlarmRecord]:
        """The stored alarms, by name (none without a store)."""
        if self._store is None:
            return []
        return [
            AlarmRecord(
                parse_alarm(json.loads(row["config"])),
                row["state_value"],
                row["state_reason"],
                row["state_reason_data"],
                row["state_updated"],
                row["state_transitioned"],
                row["config_updated"],
            )
            for row in self._store.query("SELECT * FROM cw_alarms ORDER BY name")
        ]

    def save(self, alarms: Sequence[AlarmRecord], history: Sequence[History]) -> None:
        """Write ``alarms`` (as they are now) and append ``history``, in one transaction."""
        if self._store is None:
            self._memory.extend(history)
            return
        with self._store.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO cw_alarms(name, config, state_value, state_reason, "
                "state_reason_data, state_updated, state_transitioned, config_updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        a.config.name,
                        json_text(a.config.request),
                        a.state,
                        a.reason,
                        a.reason_data,
                        a.state_updated,
                        a.state_transitioned,
                        a.config_updated,
                    )
                    for a in alarms
                ],
            )
            conn.executemany(
                "INSERT INTO cw_alarm_history(alarm_name, timestamp, item_type, summary, data) "
                "VALUES (?, ?, ?, ?, ?)",
                history,
            )

    def delete(self, names: Sequence[str]) -> None:
        if self._store is not None and names:
            with self._store.transaction() as conn:
                conn.executemany("DELETE FROM cw_alarms WHERE name = ?", [(n,) for n in names])

    def history(self) -> list[History]:
        """Every history item, oldest first."""
        if self._store is None:
            return list(self._memory)
        return [
            (r["alarm_name"], r["timestamp"], r["item_type"], r["summary"], r["data"])
            for r in self._store.query(
                "SELECT alarm_name, timestamp, item_type, summary, data "
                "FROM cw_alarm_history ORDER BY seq"
            )
        ]

    def prune(self, cutoff: float) -> None:
        """Forget history items older than ``cutoff``."""
        if self._store is None:
            self._memory = [h for h in self._memory if h[1] >= cutoff]
            return
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM cw_alarm_history WHERE timestamp < ?", (cutoff,))
