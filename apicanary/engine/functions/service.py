"""The local Lambda service: functions, ``$LATEST``, immutable versions, weighted aliases, Invoke.

State lives in SQLite (component ``lambda``); every write is one transaction and, once
committed, replaces the in-memory :class:`LambdaView` that the invoke path reads, so a request
never touches SQLite and never sees half an update.

Control-plane methods take and return plain dicts in the Lambda API's JSON shape and raise
:class:`~apicanary.errors.AwsApiError` with AWS's codes and messages
(reference/aws-semantics.md §1). ``invoke`` resolves a qualifier (alias weights are drawn from
the injected RNG), runs the version in its own worker (``engine/runtime``) and reports one
:class:`LambdaInvocation` to every listener (metrics, rollout analysis).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from apicanary import arns
from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from apicanary.clock import Clock
from apicanary.engine.functions import rules
from apicanary.engine.functions.codestore import CodeSnapshot, CodeStore, fingerprint
from apicanary.engine.functions.runtime import ExecutionSpec, InvocationOutcome
from apicanary.errors import (
    REVISION_MISMATCH,
    AwsApiError,
    conflict,
    invalid_parameter,
    not_found,
    precondition_failed,
)
from apicanary.store import Store

LATEST = "$LATEST"
DEFAULT_ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/apicanary-local"
_SOURCE_RECHECK_S = 1.0

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


# --- values ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """The configuration a version snapshots together with its code."""

    runtime: str
    handler: str
    timeout: int = 3
    memory_size: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    role: str = DEFAULT_ROLE

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "Runtime": self.runtime,
                "Handler": self.handler,
                "Timeout": self.timeout,
                "MemorySize": self.memory_size,
                "Environment": dict(sorted(self.environment.items())),
                "Description": self.description,
                "Role": self.role,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> FunctionConfig:
        data = orjson.loads(raw)
        return cls(
            runtime=data["Runtime"],
            handler=data["Handler"],
            timeout=data["Timeout"],
            memory_size=data["MemorySize"],
            environment=data["Environment"],
            description=data["Description"],
            role=data["Role"],
        )


@dataclass(frozen=True, slots=True)
class VersionState:
    """``$LATEST`` or a published version of one function."""

    function_name: str
    version: str
    code_hex: str
    code_sha256: str
    code_size: int
    config: FunctionConfig
    revision_id: str
    last_modified: str


@dataclass(frozen=True, slots=True)
class AliasState:
    function_name: str
    name: str
    function_version: str
    weights: Mapping[str, float]
    description: str
    revision_id: str


@dataclass(frozen=True, slots=True)
class FunctionState:
    name: str
    latest: VersionState
    versions: Mapping[str, VersionState]
    aliases: Mapping[str, AliasState]
    reserved_concurrency: int | None
    source_dir: str | None
    source_fingerprint: str | None


@dataclass(frozen=True, slots=True)
class LambdaView:
    """An immutable picture of every function, read by the invoke path without locks."""

    functions: Mapping[str, FunctionState]


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """What one invocation will run: the executed version and its execution spec."""

    function_name: str
    qualifier: str | None
    executed_version: str
    invoked_arn: str
    spec: ExecutionSpec
    reserved_concurrency: int | None


@dataclass(frozen=True, slots=True)
class LambdaInvocation:
    """One invocation as the metrics and the rollout analysis see it."""

    timestamp: float
    request_id: str
    function_name: str
    qualifier: str | None
    executed_version: str | None
    duration_ms: float
    function_error: str | None
    error_type: str | None
    throttled: bool
    cold_start: bool
    init_duration_ms: float | None


@dataclass(frozen=True, slots=True)
class InvokeResult:
    """The answer to Invoke, as the HTTP layer renders it."""

    status: int
    payload: bytes
    executed_version: str
    function_error: str | None
    log_tail: str
    outcome: InvocationOutcome | None


InvocationListener = Callable[[LambdaInvocation], None]


class Invoker(Protocol):
    """What the service needs from the worker runtime (the Runtime, or a wrapper of it)."""

    async def invoke(
        self,
        spec: ExecutionSpec,
        payload: bytes,
        *,
        request_id: str,
        invoked_function_arn: str,
        reserved_concurrency: int | None = None,
    ) -> InvocationOutcome: ...


# --- the service -----------------------------------------------------------------------------


class LambdaService:
    """Lambda's control and data plane over SQLite, the code store and the worker runtime."""

    def __init__(
        self,
        store: Store,
        codestore: CodeStore,
        runtime: Invoker,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT,
    ) -> None:
        self._store = store
        self._codes = codestore
        self._runtime = runtime
        self._clock = clock
        self._rng = rng or random.Random()
        self.region = region
        self.account_id = account_id
        self._listeners: list[InvocationListener] = []
        self._change_listeners: list[Callable[[LambdaView], None]] = []
        self._spec_cache: dict[tuple[str, str, str, str], ExecutionSpec] = {}
        self._source_checked: dict[str, float] = {}
        store.migrate("lambda", MIGRATIONS)
        self._view_lock = threading.Lock()
        self._view = self._load_view()

    # -- observers --------------------------------------------------------------------------

    @property
    def view(self) -> LambdaView:
        return self._view

    def use_runtime(self, runtime: Invoker) -> None:
        """Run invocations through ``runtime`` from now on (rehearsal wraps it to inject
        faults)."""
        self._runtime = runtime

    def add_listener(self, listener: InvocationListener) -> None:
        """Call ``listener`` with every :class:`LambdaInvocation` (including throttles)."""
        self._listeners.append(listener)

    def on_change(self, callback: Callable[[LambdaView], None]) -> None:
        """Call ``callback`` with the new view after every committed write."""
        self._change_listeners.append(callback)

    def function_arn(self, name: str, qualifier: str | None = None) -> str:
        return arns.function_arn(name, qualifier, region=self.region, account=self.account_id)

    # -- functions --------------------------------------------------------------------------

    def create_function(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """CreateFunction from a zip (``Code.ZipFile`` bytes). ``Publish`` publishes version 1."""
        name = self._bare_name(params.get("FunctionName"))
        config = self._config_from_params(params, None)
        code = params.get("Code") or {}
        zip_bytes = code.get("ZipFile")
        if not isinstance(zip_bytes, bytes | bytearray) or not zip_bytes:
            raise invalid_parameter(
                "Please provide a source for function code (Code.ZipFile); S3 and image "
                "packages are not supported by the apicanary local engine."
            )
        snapshot = self._codes.snapshot_zip(bytes(zip_bytes))
        self._insert_function(name, snapshot, config, source_dir=None, source_fp=None)
        if params.get("Publish"):
            self.publish_version(name, {})
        return self.get_function_configuration(name, None)

    def ensure_source_function(
        self,
        name: str,
        source_dir: Path,
        config: FunctionConfig,
        reserved_concurrency: int | None = None,
    ) -> bool:
        """Create or update a function whose ``$LATEST`` follows ``source_dir`` (a template's).

        Returns whether ``$LATEST`` changed. Idempotent: an unchanged source and config is a no-op.
        """
        self._bare_name(name)
        self._validate_config(config)
        source = source_dir.resolve()
        fp = fingerprint(source)
        existing = self._view.functions.get(name)
        changed = False
        if existing is None:
            snapshot = self._codes.snapshot_directory(source)
            self._insert_function(name, snapshot, config, source_dir=str(source), source_fp=fp)
            changed = True
        else:
            if existing.source_fingerprint != fp or existing.source_dir != str(source):
                changed |= self._refresh_source(name, source, fp)
            if existing.latest.config != config:
                self._update_config(name, config, None)
                changed = True
        current = self._view.functions[name].reserved_concurrency
        if reserved_concurrency != current:
            if reserved_concurrency is None:
                self.delete_function_concurrency(name)
            else:
                self.put_function_concurrency(
                    name, {"ReservedConcurrentExecutions": reserved_concurrency}
                )
        return changed

    def refresh_source(self, name: str) -> bool:
        """Re-snapshot a template function's source if it changed on disk."""
        state = self._function(name)
        if state.source_dir is None:
            return False
        source = Path(state.source_dir)
        fp = fingerprint(source)
        if fp == state.source_fingerprint:
            return False
        return self._refresh_source(name, source, fp)

    def get_function(self, name_or_arn: str, qualifier: str | None) -> dict[str, Any]:
        name, qualifier = self._name_and_qualifier(name_or_arn, qualifier)
        version = self._configured_version(name, qualifier)
        state = self._function(name)
        result: dict[str, Any] = {
            "Configuration": self._render_version(version),
            "Code": {
                "RepositoryType": "S3",
                "Location": (self._codes.root / f"{version.code_hex}.zip").as_uri(),
            },
            "Tags": {},
        }
        if state.reserved_concurrency is not None:
            result["Concurrency"] = {"ReservedConcurrentExecutions": state.reserved_concurrency}
        return result

    def get_function_configuration(self, name_or_arn: str, qualifier: str | None) -> dict[str, Any]:
        name, qualifier = self._name_and_qualifier(name_or_arn, qualifier)
        return self._render_version(self._configured_version(name, qualifier))

    def _configured_version(self, name: str, qualifier: str | None) -> VersionState:
        """The version a Get* call with ``qualifier`` describes (an alias: its primary)."""
        state = self._function(name)
        if qualifier in (None, LATEST):
            return state.latest
        if qualifier in state.versions:
            return state.versions[qualifier]
        if qualifier in state.aliases:
            return self._version_of(state, state.aliases[qualifier].function_version)
        raise not_found(f"Function not found: {self.function_arn(name, qualifier)}")

    def list_functions(self) -> dict[str, Any]:
        items = []
        for name in sorted(self._view.functions):
            rendered = self._render_version(self._view.functions[name].latest)
            items.append(rendered)
        return {"Functions": items}

    def delete_function(self, name_or_arn: str, qualifier: str | None) -> None:
        name, qualifier = self._name_and_qualifier(name_or_arn, qualifier)
        state = self._function(name)
        with self._store.transaction() as conn:
            if qualifier is None:
                conn.execute("DELETE FROM lambda_functions WHERE name = ?", (name,))
            else:
                if qualifier == LATEST:
                    raise invalid_parameter(
                        "$LATEST version cannot be deleted without deleting the function."
                    )
                if qualifier not in state.versions:
                    raise not_found(f"Function not found: {self.function_arn(name, qualifier)}")
                users = sorted(
                    alias.name
                    for alias in state.aliases.values()
                    if alias.function_version == qualifier or qualifier in alias.weights
                )
                if users:
                    raise conflict(
                        "Unable to delete version because the following aliases reference it: "
                        f"[{', '.join(users)}]"
                    )
                conn.execute(
                    "DELETE FROM lambda_versions WHERE function = ? AND version = ?",
                    (name, int(qualifier)),
                )
        self._commit_view(name)

    def update_function_code(self, name_or_arn: str, params: Mapping[str, Any]) -> dict[str, Any]:
        name = self._bare_name(name_or_arn, allow_arn=True)
        state = self._function(name)
        self._check_revision(params.get("RevisionId"), state.latest.revision_id)
        zip_bytes = params.get("ZipFile")
        if not isinstance(zip_bytes, bytes | bytearray) or not zip_bytes:
            raise invalid_parameter(
                "Please provide ZipFile (S3 and image code are not supported locally)"
            )
        snapshot = self._codes.snapshot_zip(bytes(zip_bytes))
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE lambda_functions SET code_hex=?, code_sha256=?, code_size=?, "
                "revision_id=?, "
                "last_modified=?, source_dir=NULL, source_fingerprint=NULL WHERE name=?",
                (snapshot.sha256_hex, snapshot.code_sha256, snapshot.size, _new_revision(),
                 self._timestamp(), name),
            )  # fmt: skip
        self._commit_view(name)
        if params.get("Publish"):
            return self.publish_version(name, {})
        return self._render_version(self._function(name).latest)

    def update_function_configuration(
        self, name_or_arn: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = self._bare_name(name_or_arn, allow_arn=True)
        state = self._function(name)
        self._check_revision(params.get("RevisionId"), state.latest.revision_id)
        config = self._config_from_params(params, state.latest.config)
        self._update_config(name, config, None)
        return self._render_version(self._function(name).latest)

    # -- versions ---------------------------------------------------------------------------

    def publish_version(self, name_or_arn: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """PublishVersion with CodeSha256/RevisionId preconditions and the no-op rule."""
        name = self._bare_name(name_or_arn, allow_arn=True)
        self.refresh_source(name)
        description = rules.check_description(params.get("Description"))
        with self._store.transaction() as conn:
            state = self._function(name)
            latest = state.latest
            expected_sha = params.get("CodeSha256")
            if expected_sha is not None and expected_sha != latest.code_sha256:
                raise invalid_parameter(
                    f"CodeSHA256 ({expected_sha}) is different from current CodeSHA256 in $LATEST "
                    f"({latest.code_sha256}). Please try again with the CodeSHA256 in $LATEST."
                )
            self._check_revision(params.get("RevisionId"), latest.revision_id)
            row = conn.execute(
                "SELECT next_version, published_revision FROM lambda_functions WHERE name = ?",
                (name,),
            ).fetchone()
            newest = max(state.versions.values(), key=lambda v: int(v.version), default=None)
            if newest is not None and row["published_revision"] == latest.revision_id:
                # nothing changed in $LATEST since the last publish: AWS returns that version
                return self._render_version(newest)
            number = int(row["next_version"])
            config = latest.config
            if description:
                config = FunctionConfig(**{**_config_fields(config), "description": description})
            now = self._timestamp()
            conn.execute(
                "INSERT INTO lambda_versions(function, version, code_hex, code_sha256, code_size, "
                "config, revision_id, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, number, latest.code_hex, latest.code_sha256, latest.code_size,
                 config.to_json().decode(), _new_revision(), now),
            )  # fmt: skip
            latest_revision = _new_revision()
            conn.execute(
                "UPDATE lambda_functions SET next_version = ?, revision_id = ?, "
                "published_revision = ? WHERE name = ?",
                (number + 1, latest_revision, latest_revision, name),
            )
        self._commit_view(name)
        return self._render_version(self._function(name).versions[str(number)])

    def list_versions_by_function(
        self, name_or_arn: str, marker: str | None = None, max_items: int | None = None
    ) -> dict[str, Any]:
        name = self._bare_name(name_or_arn, allow_arn=True)
        state = self._function(name)
        ordered = [state.latest, *sorted(state.versions.values(), key=lambda v: int(v.version))]
        items, next_marker = _page([self._render_version(v) for v in ordered], marker, max_items)
        result: dict[str, Any] = {"Versions": items}
        if next_marker:
            result["NextMarker"] = next_marker
        return result

    # -- aliases ----------------------------------------------------------------------------

    def create_alias(self, name_or_arn: str, params: Mapping[str, Any]) -> dict[str, Any]:
        name = self._bare_name(name_or_arn, allow_arn=True)
        alias_name = rules.check_alias_name(params.get("Name"))
        version = rules.check_version_string(params.get("FunctionVersion"))
        description = rules.check_description(params.get("Description"))
        weights = rules.parse_routing_config(params.get("RoutingConfig"))
        with self._store.transaction() as conn:
            state = self._function(name)
            rules.check_routing_against_primary(version, weights)
            self._check_versions_exist(state, version, weights)
            if alias_name in state.aliases:
                raise conflict(f"Alias already exists: {self.function_arn(name, alias_name)}")
            conn.execute(
                "INSERT INTO lambda_aliases(function, name, function_version, weights, "
                "description, revision_id) VALUES (?, ?, ?, ?, ?, ?)",
                (name, alias_name, version, orjson.dumps(weights).decode(), description,
                 _new_revision()),
            )  # fmt: skip
        self._commit_view(name)
        return self._render_alias(self._function(name).aliases[alias_name])

    def get_alias(self, name_or_arn: str, alias_name: str) -> dict[str, Any]:
        name = self._bare_name(name_or_arn, allow_arn=True)
        return self._render_alias(self._alias(name, alias_name))

    def update_alias(
        self, name_or_arn: str, alias_name: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """UpdateAlias: omitted fields are unchanged; ``RevisionId`` is a precondition."""
        name = self._bare_name(name_or_arn, allow_arn=True)
        with self._store.transaction() as conn:
            current = self._alias(name, alias_name)
            self._check_revision(params.get("RevisionId"), current.revision_id)
            version = current.function_version
            if params.get("FunctionVersion") is not None:
                version = rules.check_version_string(params["FunctionVersion"])
            weights: Mapping[str, float] = current.weights
            if params.get("RoutingConfig") is not None:
                weights = rules.parse_routing_config(params["RoutingConfig"])
            description = current.description
            if params.get("Description") is not None:
                description = rules.check_description(params["Description"])
            rules.check_routing_against_primary(version, weights)
            self._check_versions_exist(self._function(name), version, weights)
            conn.execute(
                "UPDATE lambda_aliases SET function_version=?, weights=?, description=?, "
                "revision_id=? WHERE function=? AND name=?",
                (version, orjson.dumps(dict(weights)).decode(), description, _new_revision(),
                 name, alias_name),
            )  # fmt: skip
        self._commit_view(name)
        return self._render_alias(self._alias(name, alias_name))

    def delete_alias(self, name_or_arn: str, alias_name: str) -> None:
        name = self._bare_name(name_or_arn, allow_arn=True)
        self._function(name)
        with self._store.transaction() as conn:
            conn.execute(
                "DELETE FROM lambda_aliases WHERE function = ? AND name = ?", (name, alias_name)
            )
        self._commit_view(name)

    def list_aliases(
        self,
        name_or_arn: str,
        function_version: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> dict[str, Any]:
        name = self._bare_name(name_or_arn, allow_arn=True)
        state = self._function(name)
        aliases = [
            self._render_alias(alias)
            for alias in sorted(state.aliases.values(), key=lambda a: a.name)
            if function_version is None
            or alias.function_version == function_version
            or function_version in alias.weights
        ]
        items, next_marker = _page(aliases, marker, max_items)
        result: dict[str, Any] = {"Aliases": items}
        if next_marker:
            result["NextMarker"] = next_marker
        return result

    # -- concurrency and permissions ---------------------------------------------------------

    def put_function_concurrency(
        self, name_or_arn: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = self._bare_name(name_or_arn, allow_arn=True)
        self._function(name)
        value = rules.check_int_range(
            "reservedConcurrentExecutions",
            params.get("ReservedConcurrentExecutions"),
            (0, rules.ACCOUNT_CONCURRENCY),
        )
        others = sum(
            state.reserved_concurrency or 0
            for other, state in self._view.functions.items()
            if other != name
        )
        if rules.ACCOUNT_CONCURRENCY - others - value < rules.MIN_UNRESERVED:
            raise invalid_parameter(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                "UnreservedConcurrentExecution below its minimum value of "
                f"[{rules.MIN_UNRESERVED}]."
            )
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE lambda_functions SET reserved_concurrency = ? WHERE name = ?", (value, name)
            )
        self._commit_view(name)
        return {"ReservedConcurrentExecutions": value}

    def get_function_concurrency(self, name_or_arn: str) -> dict[str, Any]:
        name = self._bare_name(name_or_arn, allow_arn=True)
        value = self._function(name).reserved_concurrency
        return {} if value is None else {"ReservedConcurrentExecutions": value}

    def delete_function_concurrency(self, name_or_arn: str) -> None:
        name = self._bare_name(name_or_arn, allow_arn=True)
        self._function(name)
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE lambda_functions SET reserved_concurrency = NULL WHERE name = ?", (name,)
            )
        self._commit_view(name)

    def add_permission(
        self, name_or_arn: str, qualifier: str | None, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """AddPermission: stored so ``doctor`` can check each alias a stage can name."""
        name, qualifier = self._name_and_qualifier(name_or_arn, qualifier)
        state = self._function(name)
        if qualifier and qualifier not in state.aliases and qualifier not in state.versions:
            raise not_found(f"Function not found: {self.function_arn(name, qualifier)}")
        sid = str(params.get("StatementId") or "")
        if not sid:
            raise invalid_parameter("StatementId is required")
        resource = self.function_arn(name, qualifier)
        statement = {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": params.get("Principal", "")},
            "Action": params.get("Action", "lambda:InvokeFunction"),
            "Resource": resource,
        }
        if params.get("SourceArn"):
            statement["Condition"] = {"ArnLike": {"AWS:SourceArn": params["SourceArn"]}}
        with self._store.transaction() as conn:
            exists = conn.execute(
                "SELECT 1 FROM lambda_policies WHERE function=? AND qualifier=? AND sid=?",
                (name, qualifier or "", sid),
            ).fetchone()
            if exists:
                raise conflict(
                    f"The statement id ({sid}) provided already exists. Please provide a new "
                    "statement id, or remove the existing statement."
                )
            conn.execute(
                "INSERT INTO lambda_policies(function, qualifier, sid, statement) VALUES (?,?,?,?)",
                (name, qualifier or "", sid, orjson.dumps(statement).decode()),
            )
        return {"Statement": orjson.dumps(statement).decode()}

    def get_policy(self, name_or_arn: str, qualifier: str | None) -> dict[str, Any]:
        name, qualifier = self._name_and_qualifier(name_or_arn, qualifier)
        self._function(name)
        rows = self._store.query(
            "SELECT statement FROM lambda_policies WHERE function=? AND qualifier=? ORDER BY sid",
            (name, qualifier or ""),
        )
        if not rows:
            raise not_found("The resource you requested does not exist.")
        statements = [orjson.loads(row["statement"]) for row in rows]
        policy = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
        return {"Policy": orjson.dumps(policy).decode(), "RevisionId": _new_revision()}

    # -- invoke -----------------------------------------------------------------------------

    def resolve(self, name_or_arn: str, qualifier: str | None = None) -> ResolvedTarget:
        """Pick the version one invocation runs (alias weights drawn from the RNG)."""
        name, qualifier = self._name_and_qualifier(name_or_arn, qualifier)
        state = self._view.functions.get(name)
        if state is None:
            raise not_found(f"Function not found: {self.function_arn(name, qualifier)}")
        if qualifier is None or qualifier == LATEST:
            if state.source_dir is not None and self._source_due(name):
                self.refresh_source(name)
                state = self._view.functions[name]
            version = state.latest
        elif qualifier in state.aliases:
            alias = state.aliases[qualifier]
            chosen = alias.function_version
            for secondary, weight in alias.weights.items():
                if self._rng.random() < weight:
                    chosen = secondary
            version = self._version_of(state, chosen)
        elif qualifier in state.versions:
            version = state.versions[qualifier]
        else:
            raise not_found(f"Function not found: {self.function_arn(name, qualifier)}")
        return ResolvedTarget(
            function_name=name,
            qualifier=qualifier,
            executed_version=version.version,
            invoked_arn=self.function_arn(name, qualifier),
            spec=self._spec(version),
            reserved_concurrency=state.reserved_concurrency,
        )

    async def invoke(
        self,
        name_or_arn: str,
        qualifier: str | None,
        payload: bytes,
        *,
        invocation_type: str = "RequestResponse",
        request_id: str | None = None,
    ) -> InvokeResult:
        """Invoke as the Lambda API does: 200 (even on function error), 202 Event, 204 DryRun."""
        rules.check_payload(payload)
        if payload.strip():
            try:
                orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                raise AwsApiError(
                    "InvalidRequestContentException",
                    f"Could not parse request body into json: {exc}",
                    400,
                    {"Type": "User"},
                ) from exc
        else:
            payload = b"{}"
        target = self.resolve(name_or_arn, qualifier)
        if invocation_type == "DryRun":
            return InvokeResult(204, b"", target.executed_version, None, "", None)
        if invocation_type not in ("RequestResponse", "Event"):
            raise invalid_parameter(f"Unsupported InvocationType {invocation_type}")
        rid = request_id or str(uuid.uuid4())
        if invocation_type == "Event":
            import asyncio

            task = asyncio.ensure_future(self.invoke_target(target, payload, rid))
            task.add_done_callback(lambda t: t.exception())
            return InvokeResult(202, b"", target.executed_version, None, "", None)
        outcome = await self.invoke_target(target, payload, rid)
        return InvokeResult(
            200,
            outcome.payload,
            target.executed_version,
            outcome.function_error,
            outcome.log_tail,
            outcome,
        )

    async def invoke_target(
        self, target: ResolvedTarget, payload: bytes, request_id: str
    ) -> InvocationOutcome:
        """Run an already resolved target and notify listeners (throttles too)."""
        started = self._clock.now()
        try:
            outcome = await self._runtime.invoke(
                target.spec,
                payload,
                request_id=request_id,
                invoked_function_arn=target.invoked_arn,
                reserved_concurrency=target.reserved_concurrency,
            )
            outcome = rules.limit_response_size(outcome)
        except AwsApiError as error:
            if error.code == "TooManyRequestsException":
                self._notify(
                    LambdaInvocation(
                        timestamp=started,
                        request_id=request_id,
                        function_name=target.function_name,
                        qualifier=target.qualifier,
                        executed_version=None,
                        duration_ms=0.0,
                        function_error=None,
                        error_type=None,
                        throttled=True,
                        cold_start=False,
                        init_duration_ms=None,
                    )
                )
            raise
        self._notify(
            LambdaInvocation(
                timestamp=started,
                request_id=request_id,
                function_name=target.function_name,
                qualifier=target.qualifier,
                executed_version=target.executed_version,
                duration_ms=outcome.duration_ms,
                function_error=outcome.function_error,
                error_type=outcome.error_type,
                throttled=False,
                cold_start=outcome.cold_start,
                init_duration_ms=outcome.init_duration_ms,
            )
        )
        return outcome

    # -- internals --------------------------------------------------------------------------

    def _notify(self, invocation: LambdaInvocation) -> None:
        for listener in self._listeners:
            listener(invocation)

    def _source_due(self, name: str) -> bool:
        now = time.monotonic()
        if now - self._source_checked.get(name, 0.0) < _SOURCE_RECHECK_S:
            return False
        self._source_checked[name] = now
        return True

    def _spec(self, version: VersionState) -> ExecutionSpec:
        key = (version.function_name, version.version, version.code_hex, version.revision_id)
        spec = self._spec_cache.get(key)
        if spec is None:
            snapshot = self._codes.get(version.code_hex)
            config = version.config
            spec = ExecutionSpec(
                function_name=version.function_name,
                version=version.version,
                code_dir=snapshot.path,
                handler=config.handler,
                runtime=config.runtime,
                timeout_s=float(config.timeout),
                memory_mb=config.memory_size,
                environment=dict(config.environment),
                pool_key=f"{version.function_name}:{version.version}:{version.code_hex[:16]}:"
                f"{version.revision_id}",
                region=self.region,
                account_id=self.account_id,
            )
            self._spec_cache[key] = spec
        return spec

    def _insert_function(
        self,
        name: str,
        snapshot: CodeSnapshot,
        config: FunctionConfig,
        *,
        source_dir: str | None,
        source_fp: str | None,
    ) -> None:
        with self._store.transaction() as conn:
            exists = conn.execute(
                "SELECT 1 FROM lambda_functions WHERE name = ?", (name,)
            ).fetchone()
            if exists:
                raise conflict(f"Function already exist: {name}")
            conn.execute(
                "INSERT INTO lambda_functions(name, source_dir, source_fingerprint, code_hex, "
                "code_sha256, code_size, config, revision_id, last_modified) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, source_dir, source_fp, snapshot.sha256_hex, snapshot.code_sha256,
                 snapshot.size, config.to_json().decode(), _new_revision(), self._timestamp()),
            )  # fmt: skip
        self._commit_view(name)

    def _refresh_source(self, name: str, source: Path, fp: str) -> bool:
        snapshot = self._codes.snapshot_directory(source)
        current = self._function(name).latest
        with self._store.transaction() as conn:
            if snapshot.sha256_hex == current.code_hex:
                conn.execute(
                    "UPDATE lambda_functions SET source_dir=?, source_fingerprint=? WHERE name=?",
                    (str(source), fp, name),
                )
                changed = False
            else:
                conn.execute(
                    "UPDATE lambda_functions SET source_dir=?, source_fingerprint=?, code_hex=?, "
                    "code_sha256=?, code_size=?, revision_id=?, last_modified=? WHERE name=?",
                    (str(source), fp, snapshot.sha256_hex, snapshot.code_sha256, snapshot.size,
                     _new_revision(), self._timestamp(), name),
                )  # fmt: skip
                changed = True
        self._commit_view(name)
        return changed

    def _update_config(self, name: str, config: FunctionConfig, revision: str | None) -> None:
        self._validate_config(config)
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE lambda_functions SET config=?, revision_id=?, last_modified=? WHERE name=?",
                (config.to_json().decode(), _new_revision(), self._timestamp(), name),
            )
        self._commit_view(name)

    def _config_from_params(
        self, params: Mapping[str, Any], base: FunctionConfig | None
    ) -> FunctionConfig:
        def pick(key: str, default: Any) -> Any:
            value = params.get(key)
            return default if value is None else value

        runtime = pick("Runtime", base.runtime if base else None)
        handler = pick("Handler", base.handler if base else None)
        if base is None and runtime is None:
            raise invalid_parameter("Runtime is required for a .zip deployment package.")
        if base is None and handler is None:
            raise invalid_parameter("Handler is required for a .zip deployment package.")
        environment = (
            rules.check_environment(params["Environment"])
            if params.get("Environment") is not None
            else dict(base.environment if base else {})
        )
        config = FunctionConfig(
            runtime=rules.check_runtime(runtime),
            handler=rules.check_handler(handler),
            timeout=pick("Timeout", base.timeout if base else 3),
            memory_size=pick("MemorySize", base.memory_size if base else 128),
            environment=environment,
            description=rules.check_description(
                pick("Description", base.description if base else "")
            ),
            role=str(pick("Role", base.role if base else DEFAULT_ROLE)),
        )
        self._validate_config(config)
        return config

    @staticmethod
    def _validate_config(config: FunctionConfig) -> None:
        rules.check_int_range("timeout", config.timeout, rules.TIMEOUT_RANGE)
        rules.check_int_range("memorySize", config.memory_size, rules.MEMORY_RANGE)
        rules.check_runtime(config.runtime)
        rules.check_handler(config.handler)

    def _check_versions_exist(
        self, state: FunctionState, primary: str, weights: Mapping[str, float]
    ) -> None:
        for version in (primary, *weights):
            if version != LATEST and version not in state.versions:
                raise not_found(f"Function not found: {self.function_arn(state.name, version)}")
        roles = {self._version_of(state, v).config.role for v in (primary, *weights)}
        if len(roles) > 1:
            raise invalid_parameter(
                "Specified versions must be associated with the same execution role"
            )

    @staticmethod
    def _check_revision(given: Any, current: str) -> None:
        if given is not None and given != current:
            raise precondition_failed(REVISION_MISMATCH)

    def _bare_name(self, value: Any, *, allow_arn: bool = False) -> str:
        if not isinstance(value, str) or not value:
            raise invalid_parameter("FunctionName is required")
        name, qualifier = rules.split_function_name(value)
        if not allow_arn and (":" in value and qualifier is not None):
            raise invalid_parameter(f"FunctionName {value} must not be qualified here")
        return name

    def _name_and_qualifier(self, value: str, qualifier: str | None) -> tuple[str, str | None]:
        name, embedded = rules.split_function_name(value)
        if embedded and qualifier and embedded != qualifier:
            raise invalid_parameter(
                "The derived qualifier from the function name does not match the specified "
                "qualifier."
            )
        return name, qualifier or embedded

    def _function(self, name: str) -> FunctionState:
        state = self._view.functions.get(name)
        if state is None:
            raise not_found(f"Function not found: {self.function_arn(name)}")
        return state

    def _alias(self, name: str, alias_name: str) -> AliasState:
        state = self._function(name)
        alias = state.aliases.get(alias_name)
        if alias is None:
            raise not_found(f"Cannot find alias arn: {self.function_arn(name, alias_name)}")
        return alias

    @staticmethod
    def _version_of(state: FunctionState, version: str) -> VersionState:
        return state.latest if version == LATEST else state.versions[version]

    def _render_version(self, version: VersionState) -> dict[str, Any]:
        config = version.config
        rendered: dict[str, Any] = {
            "FunctionName": version.function_name,
            "FunctionArn": self.function_arn(
                version.function_name, None if version.version == LATEST else version.version
            ),
            "Runtime": config.runtime,
            "Role": config.role,
            "Handler": config.handler,
            "CodeSize": version.code_size,
            "Description": config.description,
            "Timeout": config.timeout,
            "MemorySize": config.memory_size,
            "LastModified": version.last_modified,
            "CodeSha256": version.code_sha256,
            "Version": version.version,
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": version.revision_id,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": ["x86_64"],
            "EphemeralStorage": {"Size": 512},
        }
        if config.environment:
            rendered["Environment"] = {"Variables": dict(config.environment)}
        return rendered

    def _render_alias(self, alias: AliasState) -> dict[str, Any]:
        rendered: dict[str, Any] = {
            "AliasArn": self.function_arn(alias.function_name, alias.name),
            "Name": alias.name,
            "FunctionVersion": alias.function_version,
            "Description": alias.description,
            "RevisionId": alias.revision_id,
        }
        if alias.weights:
            rendered["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.weights)}
        return rendered

    def _timestamp(self) -> str:
        now = self._clock.now()
        millis = round((now % 1) * 1000) % 1000
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{millis:03d}+0000"

    def _commit_view(self, name: str) -> None:
        """Install a view where function ``name`` is re-read (the others are shared as is).

        Loading and installing happen under one lock, so a writer on another thread (the
        rollout controller) can never install a view older than one already installed.
        """
        with self._view_lock:
            functions = dict(self._view.functions)
            state = self._load_function(name, self._view.functions.get(name))
            if state is None:
                functions.pop(name, None)
            else:
                functions[name] = state
            self._view = LambdaView(functions)
            view = self._view
        for callback in self._change_listeners:
            callback(view)

    def _load_function(self, name: str, previous: FunctionState | None) -> FunctionState | None:
        """Function ``name`` as stored now; published versions already in ``previous`` are
        reused (they are immutable), so a write costs O(that function), not O(every version)."""
        row = self._store.query_one("SELECT * FROM lambda_functions WHERE name = ?", (name,))
        if row is None:
            return None
        known = previous.versions if previous is not None else {}
        versions: dict[str, VersionState] = {}
        for version_row in self._store.query(
            "SELECT * FROM lambda_versions WHERE function = ?", (name,)
        ):
            number = str(version_row["version"])
            cached = known.get(number)
            if cached is not None and cached.revision_id == version_row["revision_id"]:
                versions[number] = cached
            else:
                versions[number] = _version_from_row(version_row)
        aliases = {
            alias_row["name"]: _alias_from_row(alias_row)
            for alias_row in self._store.query(
                "SELECT * FROM lambda_aliases WHERE function = ?", (name,)
            )
        }
        return _function_from_row(row, versions, aliases)

    def _load_view(self) -> LambdaView:
        versions: dict[str, dict[str, VersionState]] = {}
        for row in self._store.query("SELECT * FROM lambda_versions"):
            versions.setdefault(row["function"], {})[str(row["version"])] = _version_from_row(row)
        aliases: dict[str, dict[str, AliasState]] = {}
        for row in self._store.query("SELECT * FROM lambda_aliases"):
            aliases.setdefault(row["function"], {})[row["name"]] = _alias_from_row(row)
        functions: dict[str, FunctionState] = {}
        for row in self._store.query("SELECT * FROM lambda_functions"):
            name = row["name"]
            functions[name] = _function_from_row(row, versions.get(name, {}), aliases.get(name, {}))
        return LambdaView(functions)


def _version_from_row(row: Any) -> VersionState:
    return VersionState(
        row["function"], str(row["version"]), row["code_hex"], row["code_sha256"],
        row["code_size"], FunctionConfig.from_json(row["config"]), row["revision_id"],
        row["last_modified"],
    )  # fmt: skip


def _alias_from_row(row: Any) -> AliasState:
    return AliasState(
        row["function"], row["name"], row["function_version"], orjson.loads(row["weights"]),
        row["description"], row["revision_id"],
    )  # fmt: skip


def _function_from_row(
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


def _new_revision() -> str:
    return str(uuid.uuid4())


def _config_fields(config: FunctionConfig) -> dict[str, Any]:
    return {
        "runtime": config.runtime,
        "handler": config.handler,
        "timeout": config.timeout,
        "memory_size": config.memory_size,
        "environment": config.environment,
        "description": config.description,
        "role": config.role,
    }


def _page(
    items: list[dict[str, Any]], marker: str | None, max_items: int | None
) -> tuple[list[dict[str, Any]], str | None]:
    start = int(marker) if marker and marker.isdigit() else 0
    size = max_items if max_items and max_items > 0 else 50
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)
