"""SQLite state of the local engine: one file, WAL mode, per-component schema migrations.

Each component (lambda, apigateway, metrics, rollouts...) owns its tables and registers
its migrations with :meth:`Store.migrate`; the applied version per component is kept in
``schema_versions``, so components evolve independently and a restart applies only what is
new. All writes go through :meth:`Store.transaction`, which is ``BEGIN IMMEDIATE`` ...
``COMMIT`` (or ``ROLLBACK`` on any exception): a failed request never leaves half a change.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DB_FILENAME = "state.sqlite3"


class Store:
    """A thread-safe handle on the engine's SQLite database.

    ``path`` is a state directory (the database is ``<dir>/state.sqlite3``) or ``":memory:"``.
    One connection is shared under a re-entrant lock; SQLite serialises writers anyway and the
    engine's writes are small.
    """

    def __init__(self, path: Path | str) -> None:
        if str(path) == ":memory:":
            self.state_dir: Path | None = None
            target = ":memory:"
        else:
            self.state_dir = Path(path)
            self.state_dir.mkdir(parents=True, exist_ok=True)
            target = str(self.state_dir / DB_FILENAME)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(
            target, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions "
            "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )

    # -- schema -----------------------------------------------------------------------------

    def migrate(self, component: str, migrations: Sequence[str]) -> int:
        """Apply the not-yet-applied ``migrations`` of ``component`` (each one SQL script).

        Migration *i* (0-based) brings the component to version *i + 1*. Migrations are
        append-only: never edit one that has shipped. Returns the resulting version.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT version FROM schema_versions WHERE component = ?", (component,)
            ).fetchone()
            current = int(row["version"]) if row else 0
            for index in range(current, len(migrations)):
                for statement in _split_sql(migrations[index]):
                    conn.execute(statement)
            if len(migrations) > current:
                conn.execute(
                    "INSERT INTO schema_versions(component, version) VALUES (?, ?) "
                    "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                    (component, len(migrations)),
                )
            return max(current, len(migrations))

    # -- access -----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls join the outer one."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run a read-only query and return every row."""
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
            return row

    def integrity_check(self) -> str:
        """``ok`` when SQLite finds the file sound, else its first complaint."""
        row = self.query_one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration script on ``;`` at line ends (migrations hold no semicolons in data)."""
    return [part.strip() for part in script.split(";\n") if part.strip().rstrip(";")]
