"""The Lambda subsystem's SQLite tables (component ``lambda``): schema, rows, queries.

Rows become the frozen values of :mod:`.model`; nothing here checks a rule of the Lambda API
(that is :mod:`.service`), and nothing here is on the invoke path (that reads the view).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from apicanary.engine.functions.model import (
    LATEST,
    AliasState,
    FunctionConfig,
    FunctionState,
    LambdaView,
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
    """
]


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
        row["last_modified"],
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
