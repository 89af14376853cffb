"""The Lambda subsystem's SQLite tables (component ``lambda``): schema, rows, queries.

Rows become the frozen values of :mod:`.model`; nothing here checks a rule of the Lambda API
(that is :mod:`.service`), and nothing here is on the invoke path (that reads the view).
Writes go through :class:`LambdaTables`, inside the caller's transaction; every write that
changes ``$LATEST``, a version, an alias or its resource policy gives it a new revision id.
``content_revision`` changes only with ``$LATEST``'s code or configuration: it is what
PublishVersion's no-op rule compares (a new RevisionId from a permission or from settling
is not a change worth a version). ``transition`` holds the change still being applied
(:mod:`.states`), as JSON, or NULL.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from apicanary.engine.functions import states
from apicanary.engine.functions.codestore import CodeSnapshot
from apicanary.engine.functions.model import (
    LATEST,
    AliasState,
    FunctionConfig,
    FunctionState,
    LambdaView,
    Transition,
    VersionState,
)
from apicanary.store import Store

COMPONENT = "lambda"

MIGRATIONS = [
    """
    CREATE TABLE lambda_functions (
        name TEXT PRIMARY KEY,
        source_dir TEXT,
        source_fingerprint TEXT,
        code_hex TEXT NOT NULL,
        code_sha256 TEXT NOT NULL,
        code_size INTEGER NOT NULL,
        config TEXT NOT NULL,
        revision_id TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        reserved_concurrency INTEGER,
        next_version INTEGER NOT NULL DEFAULT 1,
        published_revision TEXT
    );
    CREATE TABLE lambda_versions (
        function TEXT NOT NULL REFERENCES lambda_functions(name) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        code_hex TEXT NOT NULL,
        code_sha256 TEXT NOT NULL,
        code_size INTEGER NOT NULL,
        config TEXT NOT NULL,
        revision_id TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        PRIMARY KEY (function, version)
    );
    CREATE TABLE lambda_aliases (
        function TEXT NOT NULL REFERENCES lambda_functions(name) ON DELETE CASCADE,
        name TEXT NOT NULL,
        function_version TEXT NOT NULL,
        weights TEXT NOT NULL,
        description TEXT NOT NULL,
        revision_id TEXT NOT NULL,
        PRIMARY KEY (function, name)
    );
    CREATE TABLE lambda_policies (
        function TEXT NOT NULL REFERENCES lambda_functions(name) ON DELETE CASCADE,
        qualifier TEXT NOT NULL,
        sid TEXT NOT NULL,
        statement TEXT NOT NULL,
        PRIMARY KEY (function, qualifier, sid)
    );
    """,
    """
    ALTER TABLE lambda_functions ADD COLUMN content_revision TEXT;
    UPDATE lambda_functions SET content_revision = revision_id;
    ALTER TABLE lambda_functions ADD COLUMN transition TEXT;
    ALTER TABLE lambda_versions ADD COLUMN transition TEXT;
    """,
]


class LambdaTables:
    """The writes of the Lambda API, over one open transaction's connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- functions ----------------------------------------------------------------------------

    def function_exists(self, name: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM lambda_functions WHERE name = ?", (name,))
        return row.fetchone() is not None

    def insert_function(
        self,
        name: str,
        code: CodeSnapshot,
        config: FunctionConfig,
        now: str,
        *,
        source_dir: str | None,
        source_fp: str | None,
        transition: Transition | None = None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO lambda_functions(name, source_dir, source_fingerprint, code_hex, "
            "code_sha256, code_size, config, revision_id, last_modified, content_revision, "
            "transition) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, source_dir, source_fp, code.sha256_hex, code.code_sha256, code.size,
             config.to_json().decode(), new_revision(), now, new_revision(),
             states.to_json(transition)),
        )  # fmt: skip

    def delete_function(self, name: str) -> None:
        self.conn.execute("DELETE FROM lambda_functions WHERE name = ?", (name,))

    def set_source(self, name: str, source_dir: str, source_fp: str) -> None:
        """Follow ``source_dir`` (same code as now: ``$LATEST`` is unchanged)."""
        self.conn.execute(
            "UPDATE lambda_functions SET source_dir=?, source_fingerprint=? WHERE name=?",
            (source_dir, source_fp, name),
        )

    def set_code(
        self,
        name: str,
        code: CodeSnapshot,
        now: str,
        *,
        source_dir: str | None = None,
        source_fp: str | None = None,
        transition: Transition | None = None,
    ) -> None:
        """New ``$LATEST`` code, from ``source_dir`` (or uploaded: the function stops following
        a source tree)."""
        self.conn.execute(
            "UPDATE lambda_functions SET source_dir=?, source_fingerprint=?, code_hex=?, "
            "code_sha256=?, code_size=?, revision_id=?, last_modified=?, content_revision=?, "
            "transition=? WHERE name=?",
            (source_dir, source_fp, code.sha256_hex, code.code_sha256, code.size,
             new_revision(), now, new_revision(), states.to_json(transition), name),
        )  # fmt: skip

    def set_config(
        self, name: str, config: FunctionConfig, now: str, transition: Transition | None = None
    ) -> None:
        self.conn.execute(
            "UPDATE lambda_functions SET config=?, revision_id=?, last_modified=?, "
            "content_revision=?, transition=? WHERE name=?",
            (config.to_json().decode(), new_revision(), now, new_revision(),
             states.to_json(transition), name),
        )  # fmt: skip

    def renew_latest_revision(self, latest: VersionState) -> None:
        """Give ``$LATEST`` a new RevisionId (its transition's too, if it has its own): a
        version was published from it, or its resource policy changed."""
        transition = latest.transition
        if transition is not None and transition.revision_id is not None:
            transition = Transition(transition.kind, transition.until, new_revision())
        self.conn.execute(
            "UPDATE lambda_functions SET revision_id=?, transition=? WHERE name=?",
            (new_revision(), states.to_json(transition), latest.function_name),
        )

    def set_reserved_concurrency(self, name: str, value: int | None) -> None:
        self.conn.execute(
            "UPDATE lambda_functions SET reserved_concurrency = ? WHERE name = ?", (value, name)
        )

    # -- versions -----------------------------------------------------------------------------

    def publish_state(self, name: str) -> tuple[int, bool]:
        """``(number the next version gets, whether $LATEST's code and configuration are
        unchanged since the last publish)``."""
        row = self.conn.execute(
            "SELECT next_version, published_revision, content_revision FROM lambda_functions "
            "WHERE name = ?",
            (name,),
        ).fetchone()
        return int(row["next_version"]), row["published_revision"] == row["content_revision"]

    def insert_version(
        self,
        latest: VersionState,
        number: int,
        config: FunctionConfig,
        now: str,
        transition: Transition | None = None,
    ) -> None:
        """Publish ``latest``'s code with ``config`` as version ``number``; ``$LATEST`` gets a
        new revision and its content is remembered as published (PublishVersion's no-op rule)."""
        name = latest.function_name
        self.conn.execute(
            "INSERT INTO lambda_versions(function, version, code_hex, code_sha256, code_size, "
            "config, revision_id, last_modified, transition) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, number, latest.code_hex, latest.code_sha256, latest.code_size,
             config.to_json().decode(), new_revision(), now, states.to_json(transition)),
        )  # fmt: skip
        self.conn.execute(
            "UPDATE lambda_functions SET next_version = ?, published_revision = content_revision "
            "WHERE name = ?",
            (number + 1, name),
        )
        self.renew_latest_revision(latest)

    def renew_version_revision(self, name: str, version: str) -> None:
        """Give a published version a new RevisionId (its resource policy changed)."""
        self.conn.execute(
            "UPDATE lambda_versions SET revision_id = ? WHERE function = ? AND version = ?",
            (new_revision(), name, int(version)),
        )

    def delete_version(self, name: str, version: str) -> None:
        self.conn.execute(
            "DELETE FROM lambda_versions WHERE function = ? AND version = ?", (name, int(version))
        )

    # -- aliases ------------------------------------------------------------------------------

    def insert_alias(
        self, name: str, alias: str, version: str, weights: Mapping[str, float], description: str
    ) -> None:
        self.conn.execute(
            "INSERT INTO lambda_aliases(function, name, function_version, weights, description, "
            "revision_id) VALUES (?, ?, ?, ?, ?, ?)",
            (name, alias, version, _weights(weights), description, new_revision()),
        )

    def update_alias(
        self, name: str, alias: str, version: str, weights: Mapping[str, float], description: str
    ) -> None:
        self.conn.execute(
            "UPDATE lambda_aliases SET function_version=?, weights=?, description=?, "
            "revision_id=? WHERE function=? AND name=?",
            (version, _weights(weights), description, new_revision(), name, alias),
        )

    def renew_alias_revision(self, name: str, alias: str) -> None:
        """Give an alias a new RevisionId (its resource policy changed)."""
        self.conn.execute(
            "UPDATE lambda_aliases SET revision_id = ? WHERE function = ? AND name = ?",
            (new_revision(), name, alias),
        )

    def delete_alias(self, name: str, alias: str) -> None:
        self.conn.execute(
            "DELETE FROM lambda_aliases WHERE function = ? AND name = ?", (name, alias)
        )

    # -- resource policies --------------------------------------------------------------------

    def policy_exists(self, name: str, qualifier: str | None, sid: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM lambda_policies WHERE function=? AND qualifier=? AND sid=?",
            (name, qualifier or "", sid),
        )
        return row.fetchone() is not None

    def insert_policy(
        self, name: str, qualifier: str | None, sid: str, statement: Mapping[str, Any]
    ) -> None:
        self.conn.execute(
            "INSERT INTO lambda_policies(function, qualifier, sid, statement) VALUES (?,?,?,?)",
            (name, qualifier or "", sid, orjson.dumps(statement).decode()),
        )


def policy_statements(store: Store, name: str, qualifier: str | None) -> list[Any]:
    """The statements of the resource policy of ``name`` (or of one qualifier), by Sid."""
    rows = store.query(
        "SELECT statement FROM lambda_policies WHERE function=? AND qualifier=? ORDER BY sid",
        (name, qualifier or ""),
    )
    return [orjson.loads(row["statement"]) for row in rows]


def load_function(store: Store, name: str, previous: FunctionState | None) -> FunctionState | None:
    """Function ``name`` as stored now; published versions already in ``previous`` are
    reused (they are immutable), so a write costs O(that function), not O(every version)."""
    row = store.query_one("SELECT * FROM lambda_functions WHERE name = ?", (name,))
    if row is None:
        return None
    known = previous.versions if previous is not None else {}
    versions: dict[str, VersionState] = {}
    for version_row in store.query("SELECT * FROM lambda_versions WHERE function = ?", (name,)):
        number = str(version_row["version"])
        cached = known.get(number)
        if cached is not None and cached.revision_id == version_row["revision_id"]:
            versions[number] = cached
        else:
            versions[number] = version_from_row(version_row)
    aliases = {
        alias_row["name"]: alias_from_row(alias_row)
        for alias_row in store.query("SELECT * FROM lambda_aliases WHERE function = ?", (name,))
    }
    return function_from_row(row, versions, aliases)


def load_view(store: Store) -> LambdaView:
    """Every function as stored now."""
    versions: dict[str, dict[str, VersionState]] = {}
    for row in store.query("SELECT * FROM lambda_versions"):
        versions.setdefault(row["function"], {})[str(row["version"])] = version_from_row(row)
    aliases: dict[str, dict[str, AliasState]] = {}
    for row in store.query("SELECT * FROM lambda_aliases"):
        aliases.setdefault(row["function"], {})[row["name"]] = alias_from_row(row)
    functions: dict[str, FunctionState] = {}
    for row in store.query("SELECT * FROM lambda_functions"):
        name = row["name"]
        functions[name] = function_from_row(row, versions.get(name, {}), aliases.get(name, {}))
    return LambdaView(functions)


def version_from_row(row: Any) -> VersionState:
    return VersionState(
        row["function"], str(row["version"]), row["code_hex"], row["code_sha256"],
        row["code_size"], FunctionConfig.from_json(row["config"]), row["revision_id"],
        row["last_modified"], states.from_json(row["transition"]),
    )  # fmt: skip


def alias_from_row(row: Any) -> AliasState:
    return AliasState(
        row["function"], row["name"], row["function_version"], orjson.loads(row["weights"]),
        row["description"], row["revision_id"],
    )  # fmt: skip


def function_from_row(
    row: Any, versions: Mapping[str, VersionState], aliases: Mapping[str, AliasState]
) -> FunctionState:
    name = row["name"]
    latest = VersionState(
        name, LATEST, row["code_hex"], row["code_sha256"], row["code_size"],
        FunctionConfig.from_json(row["config"]), row["revision_id"], row["last_modified"],
        states.from_json(row["transition"]),
    )  # fmt: skip
    return FunctionState(
        name=name,
        latest=latest,
        versions=versions,
        aliases=aliases,
        reserved_concurrency=row["reserved_concurrency"],
        source_dir=row["source_dir"],
        source_fingerprint=row["source_fingerprint"],
    )


def new_revision() -> str:
    return str(uuid.uuid4())


def _weights(weights: Mapping[str, float]) -> str:
    return orjson.dumps(dict(weights)).decode()
