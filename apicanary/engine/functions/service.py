"""The Lambda control plane: functions, ``$LATEST``, immutable versions, weighted aliases,
concurrency and permissions, every operation checked against the API's rules.

State lives in SQLite (:mod:`.tables`); every write is one transaction and, once committed,
replaces the in-memory :class:`~.model.LambdaView` that the invoke path
(:class:`~.invoke.FunctionInvoker`, :attr:`LambdaService.invoker`) reads, so a request never
touches SQLite and never sees half an update.

Methods take and return plain dicts in the Lambda API's JSON shape (:mod:`.render`) and raise
:class:`~apicanary.errors.AwsApiError` with AWS's codes and messages
(reference/aws-semantics.md §1, :mod:`.rules`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from apicanary import arns
from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from apicanary.clock import Clock
from apicanary.engine.functions import render, rules
from apicanary.engine.functions.codestore import CodeSnapshot, CodeStore, fingerprint
from apicanary.engine.functions.invoke import FunctionInvoker, Invoker
from apicanary.engine.functions.model import (
    DEFAULT_ROLE,
    LATEST,
    AliasState,
    FunctionConfig,
    FunctionState,
    LambdaView,
    VersionState,
)
from apicanary.engine.functions.tables import (
    COMPONENT,
    MIGRATIONS,
    load_function,
    load_view,
    new_revision,
)
from apicanary.errors import (
    REVISION_MISMATCH,
    conflict,
    invalid_parameter,
    not_found,
    precondition_failed,
)
from apicanary.store import Store


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
        self._clock = clock
        self.region = region
        self.account_id = account_id
        self._change_listeners: list[Callable[[LambdaView], None]] = []
        store.migrate(COMPONENT, MIGRATIONS)
        self._view_lock = threading.Lock()
        self._view = load_view(store)
        self.invoker = FunctionInvoker(
            self._view,
            codestore,
            runtime,
            clock,
            rng=rng or random.Random(),
            region=region,
            account_id=account_id,
            refresh_source=self.refresh_source,
        )
        """The invoke path (resolve, invoke); it follows every committed write."""

    # -- observers --------------------------------------------------------------------------

    @property
    def view(self) -> LambdaView:
        return self._view

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
        name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
        version = self._configured_version(name, qualifier)
        return render.function(
            self._function(name),
            version,
            self._codes.root,
            region=self.region,
            account=self.account_id,
        )

    def get_function_configuration(self, name_or_arn: str, qualifier: str | None) -> dict[str, Any]:
        name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
        return self._render_version(self._configured_version(name, qualifier))

    def _configured_version(self, name: str, qualifier: str | None) -> VersionState:
        """The version a Get* call with ``qualifier`` describes (an alias: its primary)."""
        state = self._function(name)
        if qualifier in (None, LATEST):
            return state.latest
        if qualifier in state.versions:
            return state.versions[qualifier]
        if qualifier in state.aliases:
            return state.version_of(state.aliases[qualifier].function_version)
        raise not_found(f"Function not found: {self.function_arn(name, qualifier)}")

    def list_functions(self) -> dict[str, Any]:
        items = []
        for name in sorted(self._view.functions):
            rendered = self._render_version(self._view.functions[name].latest)
            items.append(rendered)
        return {"Functions": items}

    def delete_function(self, name_or_arn: str, qualifier: str | None) -> None:
        name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
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
                (snapshot.sha256_hex, snapshot.code_sha256, snapshot.size, new_revision(),
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
                 config.to_json().decode(), new_revision(), now),
            )  # fmt: skip
            latest_revision = new_revision()
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
        return render.page(
            "Versions", [self._render_version(v) for v in ordered], marker, max_items
        )

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
                 new_revision()),
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
                (version, orjson.dumps(dict(weights)).decode(), description, new_revision(),
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
        return render.page("Aliases", aliases, marker, max_items)

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
        name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
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
        name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
        self._function(name)
        rows = self._store.query(
            "SELECT statement FROM lambda_policies WHERE function=? AND qualifier=? ORDER BY sid",
            (name, qualifier or ""),
        )
        if not rows:
            raise not_found("The resource you requested does not exist.")
        statements = [orjson.loads(row["statement"]) for row in rows]
        policy = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
        return {"Policy": orjson.dumps(policy).decode(), "RevisionId": new_revision()}

    # -- internals --------------------------------------------------------------------------

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
                 snapshot.size, config.to_json().decode(), new_revision(), self._timestamp()),
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
                     new_revision(), self._timestamp(), name),
                )  # fmt: skip
                changed = True
        self._commit_view(name)
        return changed

    def _update_config(self, name: str, config: FunctionConfig, revision: str | None) -> None:
        self._validate_config(config)
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE lambda_functions SET config=?, revision_id=?, last_modified=? WHERE name=?",
                (config.to_json().decode(), new_revision(), self._timestamp(), name),
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
        roles = {state.version_of(v).config.role for v in (primary, *weights)}
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

    def _render_version(self, version: VersionState) -> dict[str, Any]:
        return render.version(version, region=self.region, account=self.account_id)

    def _render_alias(self, alias: AliasState) -> dict[str, Any]:
        return render.alias(alias, region=self.region, account=self.account_id)

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
            state = load_function(self._store, name, self._view.functions.get(name))
            if state is None:
                functions.pop(name, None)
            else:
                functions[name] = state
            self._view = LambdaView(functions)
            view = self.invoker.view = self._view
        for callback in self._change_listeners:
            callback(view)


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
