"""The Lambda control plane: functions, ``$LATEST``, immutable versions, weighted aliases,
concurrency and permissions, every operation checked against the API's rules.

State lives in SQLite (:mod:`.tables`); every write is one transaction and, once committed,
replaces the in-memory :class:`~.model.LambdaView` that the invoke path
(:class:`~.invoke.FunctionInvoker`, :attr:`LambdaService.invoker`) reads, so a request never
touches SQLite and never sees half an update.

Methods take and return plain dicts in the Lambda API's JSON shape (:mod:`.render`) and raise
:class:`~apicanary.errors.AwsApiError` with AWS's codes and messages (docs/aws-semantics.md,
"Lambda"; :mod:`.rules`). Creates and updates are applied "asynchronously", as on AWS, for
``state_delay`` seconds (:mod:`.states`): the engine's own callers wait with
:meth:`LambdaService.wait_settled`.

At ~640 lines this module is over the house limit on purpose: it is the API's two dozen
operations, each a short check-then-write; what they share (the model, tables, rules and
rendering) already lives beside it, and splitting the operations would scatter one API.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from apicanary import arns
from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from apicanary.clock import Clock
from apicanary.engine.functions import render, rules, states
from apicanary.engine.functions.codestore import CodeSnapshot, CodeStore, fingerprint
from apicanary.engine.functions.invoke import FunctionInvoker, Invoker
from apicanary.engine.functions.model import (
    LATEST,
    AliasState,
    FunctionConfig,
    FunctionState,
    LambdaView,
    Transition,
    VersionState,
)
from apicanary.engine.functions.tables import (
    COMPONENT,
    MIGRATIONS,
    LambdaTables,
    load_function,
    load_view,
    new_revision,
    policy_statements,
)
from apicanary.errors import (
    conflict,
    invalid_parameter,
    not_found,
)
from apicanary.store import Store


class LambdaService:
    """Lambda's control plane over SQLite and the code store; :attr:`invoker` is its data plane.

    ``state_delay``: seconds a create, an update, or a version published with an update stays
    ``Pending`` / ``InProgress`` on the engine's clock (0: settled at once).
    """

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
        state_delay: float = 0.0,
    ) -> None:
        self.state_delay = state_delay
        self._store = store
        self._codes = codestore
        self._clock = clock
        self.region = region
        self.account_id = account_id
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

    def function_arn(self, name: str, qualifier: str | None = None) -> str:
        return arns.function_arn(name, qualifier, region=self.region, account=self.account_id)

    # -- functions --------------------------------------------------------------------------

    def create_function(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """CreateFunction from a zip (``Code.ZipFile`` bytes). ``Publish`` publishes version 1."""
        name = rules.bare_name(params.get("FunctionName"))
        config = rules.config_from_params(params, None)
        code = params.get("Code") or {}
        zip_bytes = code.get("ZipFile")
        if not isinstance(zip_bytes, bytes | bytearray) or not zip_bytes:
            raise invalid_parameter(
                "Please provide a source for function code (Code.ZipFile); S3 and image "
                "packages are not supported by the apicanary local engine."
            )
        snapshot = self._codes.snapshot_zip(bytes(zip_bytes))
        self._insert_function(name, snapshot, config, source_dir=None, source_fp=None)
        if not params.get("Publish"):
            return self._render_version(self._function(name).latest)
        published = self._publish(name, "", None, with_update=True)["Version"]
        # AWS answers $LATEST's configuration, carrying the version the call published
        return {**self._render_version(self._function(name).latest), "Version": published}

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
        rules.bare_name(name)
        rules.check_config(config)
        source = source_dir.resolve()
        fp = fingerprint(source)
        existing = self._view.functions.get(name)
        changed = False
        if existing is None:
            snapshot = self._codes.snapshot_directory(source)
            self._insert_function(name, snapshot, config, source_dir=str(source), source_fp=fp)
            changed = True
        else:
            new_code = existing.source_fingerprint != fp or existing.source_dir != str(source)
            if new_code or existing.latest.config != config:
                self.wait_settled(name)  # as a client would, before changing it again
            if new_code:
                changed |= self._refresh_source(name, source, fp, as_update=True)
            if existing.latest.config != config:
                self._update_config(name, config)
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
        """Re-snapshot a template function's source if it changed on disk.

        Applied at once (no ``InProgress``): the source is the engine's, read when the
        function is invoked or published, not an update a client asked for.
        """
        state = self._function(name)
        if state.source_dir is None:
            return False
        source = Path(state.source_dir)
        fp = fingerprint(source)
        if fp == state.source_fingerprint:
            return False
        return self._refresh_source(name, source, fp, as_update=False)

    def get_function(self, name_or_arn: str, qualifier: str | None) -> dict[str, Any]:
        """GetFunction; ``FunctionArn`` carries the qualifier asked for (``$LATEST``, alias)."""
        name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
        state = self._function(name, qualifier)
        return render.function(
            state,
            self._configured_version(state, qualifier),
            self._codes.root,
            region=self.region,
            account=self.account_id,
            now=self._clock.now(),
            shown_as=qualifier,
        )

    def get_function_configuration(self, name_or_arn: str, qualifier: str | None) -> dict[str, Any]:
        name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
        state = self._function(name, qualifier)
        return self._render_version(self._configured_version(state, qualifier), shown_as=qualifier)

    def _configured_version(self, state: FunctionState, qualifier: str | None) -> VersionState:
        """The version a Get* call with ``qualifier`` describes (an alias: its primary)."""
        if qualifier in (None, LATEST):
            return state.latest
        if qualifier in state.versions:
            return state.versions[qualifier]
        if qualifier in state.aliases:
            return state.version_of(state.aliases[qualifier].function_version)
        raise not_found(f"Function not found: {self.function_arn(state.name, qualifier)}")

    def list_functions(self) -> dict[str, Any]:
        functions = self._view.functions
        items = [self._render_version(functions[name].latest, listed=True) for name in functions]
        return {"Functions": sorted(items, key=lambda item: str(item["FunctionName"]))}

    def delete_function(self, name_or_arn: str, qualifier: str | None) -> None:
        """DeleteFunction; with a ``Qualifier``, one version (one it does not have: a no-op)."""
        name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
        rules.check_deletable_qualifier(qualifier)
        state = self._function(name)
        if qualifier is not None and qualifier not in state.versions:
            return
        with self._write(name) as tables:
            if qualifier is None:
                tables.delete_function(name)
                return
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
            tables.delete_version(name, qualifier)

    def update_function_code(self, name_or_arn: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """UpdateFunctionCode (``InProgress`` for a while); ``Publish`` also publishes a version,
        ``Pending`` for as long, and answers that version."""
        name = self._changeable(name_or_arn, params)
        zip_bytes = params.get("ZipFile")
        if not isinstance(zip_bytes, bytes | bytearray) or not zip_bytes:
            raise invalid_parameter(
                "Please provide ZipFile (S3 and image code are not supported locally)"
            )
        snapshot = self._codes.snapshot_zip(bytes(zip_bytes))
        with self._write(name) as tables:
            tables.set_code(
                name, snapshot, self._timestamp(), transition=self._transition(states.UPDATE)
            )
        if params.get("Publish"):
            return self._publish(name, "", None, with_update=True)
        return self._render_version(self._function(name).latest)

    def update_function_configuration(
        self, name_or_arn: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = self._changeable(name_or_arn, params)
        config = rules.config_from_params(params, self._function(name).latest.config)
        self._update_config(name, config)
        return self._render_version(self._function(name).latest)

    def _changeable(self, name_or_arn: str, params: Mapping[str, Any]) -> str:
        """The function an update or a publish names, once it may change: not while a change
        is being applied, and only from the ``RevisionId`` the caller read (when given)."""
        name = rules.bare_name(name_or_arn, allow_arn=True)
        latest = self._function(name).latest
        now = self._clock.now()
        states.check_changeable(latest, now, self.function_arn(name))
        rules.check_revision(params.get("RevisionId"), states.revision_at(latest, now))
        return name

    def wait_settled(self, *names: str) -> None:
        """Block, on the engine's clock, until every change of functions ``names`` has been
        applied (what a client polling GetFunction does). Unknown names are ignored."""
        while True:
            functions = self._view.functions
            until = max(
                (states.settles_at(functions[name]) for name in names if name in functions),
                default=0.0,
            )
            remaining = until - self._clock.now()
            if remaining <= 0:
                return
            self._clock.sleep(remaining)

    # -- versions ---------------------------------------------------------------------------

    def publish_version(self, name_or_arn: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """PublishVersion with CodeSha256/RevisionId preconditions and the no-op rule (a
        template function's source is re-read first, see :meth:`refresh_source`)."""
        name = self._changeable(name_or_arn, params)
        description = rules.check_description(params.get("Description"))
        self.refresh_source(name)
        return self._publish(name, description, params.get("CodeSha256"), with_update=False)

    def _publish(
        self, name: str, description: str, expected_sha: Any, *, with_update: bool
    ) -> dict[str, Any]:
        """Publish ``$LATEST`` (or answer the version already published from it); a version
        published ``with_update`` is ``Pending`` while the update is applied."""
        with self._write(name) as tables:
            state = self._function(name)
            latest = state.latest
            if expected_sha is not None and expected_sha != latest.code_sha256:
                raise invalid_parameter(
                    f"CodeSHA256 ({expected_sha}) is different from current CodeSHA256 in $LATEST "
                    f"({latest.code_sha256}). Please try again with the CodeSHA256 in $LATEST."
                )
            number, unchanged = tables.publish_state(name)
            newest = max(state.versions.values(), key=lambda v: int(v.version), default=None)
            if newest is not None and unchanged:
                # nothing changed in $LATEST since the last publish: AWS returns that version
                number = int(newest.version)
            else:
                config = latest.config
                if description:
                    config = dataclasses.replace(config, description=description)
                transition = self._transition(states.PUBLISH) if with_update else None
                tables.insert_version(latest, number, config, self._timestamp(), transition)
        return self._render_version(self._function(name).versions[str(number)])

    def list_versions_by_function(
        self, name_or_arn: str, marker: str | None = None, max_items: int | None = None
    ) -> dict[str, Any]:
        name = rules.bare_name(name_or_arn, allow_arn=True)
        state = self._function(name)
        published = sorted(state.versions.values(), key=lambda v: int(v.version))
        items = [
            self._render_version(state.latest, shown_as=LATEST, listed=True),
            *(self._render_version(v, listed=True) for v in published),
        ]
        return render.page("Versions", items, marker, max_items)

    # -- aliases ----------------------------------------------------------------------------

    def create_alias(self, name_or_arn: str, params: Mapping[str, Any]) -> dict[str, Any]:
        name = rules.bare_name(name_or_arn, allow_arn=True)
        alias_name = rules.check_alias_name(params.get("Name"))
        version = rules.check_version_string(params.get("FunctionVersion"))
        description = rules.check_description(params.get("Description"))
        weights = rules.parse_routing_config(params.get("RoutingConfig"))
        with self._write(name) as tables:
            state = self._function(name, version)
            rules.check_routing_against_primary(version, weights)
            self._check_versions_exist(state, version, weights)
            if alias_name in state.aliases:
                raise conflict(f"Alias already exists: {self.function_arn(name, alias_name)}")
            tables.insert_alias(name, alias_name, version, weights, description)
        return self._render_alias(self._function(name).aliases[alias_name])

    def get_alias(self, name_or_arn: str, alias_name: str) -> dict[str, Any]:
        name = rules.bare_name(name_or_arn, allow_arn=True)
        return self._render_alias(self._alias(name, alias_name))

    def update_alias(
        self, name_or_arn: str, alias_name: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """UpdateAlias: omitted fields are unchanged; ``RevisionId`` is a precondition."""
        name = rules.bare_name(name_or_arn, allow_arn=True)
        with self._write(name) as tables:
            current = self._alias(name, alias_name, missing="Alias not found")
            rules.check_revision(params.get("RevisionId"), current.revision_id)
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
            tables.update_alias(name, alias_name, version, weights, description)
        return self._render_alias(self._alias(name, alias_name))

    def delete_alias(self, name_or_arn: str, alias_name: str) -> None:
        name = rules.bare_name(name_or_arn, allow_arn=True)
        self._function(name)
        with self._write(name) as tables:
            tables.delete_alias(name, alias_name)

    def list_aliases(
        self,
        name_or_arn: str,
        function_version: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> dict[str, Any]:
        name = rules.bare_name(name_or_arn, allow_arn=True)
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
        name = rules.bare_name(name_or_arn, allow_arn=True)
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
        with self._write(name) as tables:
            tables.set_reserved_concurrency(name, value)
        return {"ReservedConcurrentExecutions": value}

    def get_function_concurrency(self, name_or_arn: str) -> dict[str, Any]:
        name = rules.bare_name(name_or_arn, allow_arn=True)
        value = self._function(name).reserved_concurrency
        return {} if value is None else {"ReservedConcurrentExecutions": value}

    def delete_function_concurrency(self, name_or_arn: str) -> None:
        name = rules.bare_name(name_or_arn, allow_arn=True)
        self._function(name)
        with self._write(name) as tables:
            tables.set_reserved_concurrency(name, None)

    def add_permission(
        self, name_or_arn: str, qualifier: str | None, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """AddPermission: stored so ``doctor`` can check each alias a stage can name.

        The policy shares the RevisionId of what it is attached to (the function's, a
        version's or an alias's): ``RevisionId`` is checked against it, and a new statement
        gives it a new one.
        """
        name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
        state = self._function(name)
        current = self._policy_revision(state, qualifier)
        sid = str(params.get("StatementId") or "")
        if not sid:
            raise invalid_parameter("StatementId is required")
        rules.check_revision(params.get("RevisionId"), current, rules.POLICY_REVISION_MISMATCH)
        statement = render.policy_statement(sid, self.function_arn(name, qualifier), params)
        with self._write(name) as tables:
            if tables.policy_exists(name, qualifier, sid):
                raise conflict(
                    f"The statement id ({sid}) provided already exists. Please provide a new "
                    "statement id, or remove the existing statement."
                )
            tables.insert_policy(name, qualifier, sid, statement)
            if qualifier is None:
                tables.renew_latest_revision(state.latest)
            elif qualifier in state.aliases:
                tables.renew_alias_revision(name, qualifier)
            else:
                tables.renew_version_revision(name, qualifier)
        return {"Statement": render.json_text(statement)}

    def get_policy(self, name_or_arn: str, qualifier: str | None) -> dict[str, Any]:
        name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
        state = self._function(name)
        statements = policy_statements(self._store, name, qualifier)
        if not statements:
            raise not_found("The resource you requested does not exist.")
        return render.policy(statements, self._policy_revision(state, qualifier))

    def _policy_revision(self, state: FunctionState, qualifier: str | None) -> str:
        """The RevisionId of what a policy with ``qualifier`` is attached to."""
        now = self._clock.now()
        if qualifier is None:
            return states.revision_at(state.latest, now)
        if qualifier in state.aliases:
            return state.aliases[qualifier].revision_id
        if qualifier in state.versions:
            return states.revision_at(state.versions[qualifier], now)
        raise not_found(f"Function not found: {self.function_arn(state.name, qualifier)}")

    # -- invoke -----------------------------------------------------------------------------

    def check_invocable(self, name_or_arn: str, qualifier: str | None) -> None:
        """What Invoke through the Lambda API checks before the invoke path runs: the function
        exists (a miss names ``:$LATEST`` when unqualified, as AWS does) and no version the
        call may run is ``Pending``. The gateway's invocations skip this (README, "does not
        emulate")."""
        name, qualifier = rules.name_and_qualifier(name_or_arn, qualifier)
        state = self._view.functions.get(name)
        if state is None:
            raise not_found(f"Function not found: {self.function_arn(name, qualifier or LATEST)}")
        alias = state.aliases.get(qualifier or LATEST)
        candidates = [alias.function_version, *alias.weights] if alias else [qualifier or LATEST]
        now = self._clock.now()
        for candidate in candidates:
            if candidate == LATEST or candidate in state.versions:
                states.check_invocable(state.version_of(candidate), now)

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
        with self._write(name) as tables:
            if tables.function_exists(name):
                raise conflict(f"Function already exist: {name}")
            tables.insert_function(
                name,
                snapshot,
                config,
                self._timestamp(),
                source_dir=source_dir,
                source_fp=source_fp,
                transition=self._transition(states.CREATE),
            )

    def _refresh_source(self, name: str, source: Path, fp: str, *, as_update: bool) -> bool:
        snapshot = self._codes.snapshot_directory(source)
        current = self._function(name).latest
        changed = snapshot.sha256_hex != current.code_hex
        transition = self._transition(states.UPDATE) if as_update else current.transition
        with self._write(name) as tables:
            if changed:
                tables.set_code(
                    name,
                    snapshot,
                    self._timestamp(),
                    source_dir=str(source),
                    source_fp=fp,
                    transition=transition,
                )
            else:
                tables.set_source(name, str(source), fp)
        return changed

    def _update_config(self, name: str, config: FunctionConfig) -> None:
        rules.check_config(config)
        with self._write(name) as tables:
            tables.set_config(name, config, self._timestamp(), self._transition(states.UPDATE))

    def _transition(self, kind: str) -> Transition | None:
        return states.start(kind, self._clock.now(), self.state_delay, new_revision())

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

    def _function(self, name: str, qualifier: str | None = None) -> FunctionState:
        """Function ``name``; when there is none, the message names the ARN qualified as the
        call was (GetFunction, CreateAlias do; most calls are unqualified)."""
        state = self._view.functions.get(name)
        if state is None:
            raise not_found(f"Function not found: {self.function_arn(name, qualifier)}")
        return state

    def _alias(
        self, name: str, alias_name: str, *, missing: str = "Cannot find alias arn"
    ) -> AliasState:
        """Alias ``alias_name``; ``missing`` opens the message when there is none (GetAlias and
        UpdateAlias word it differently)."""
        state = self._function(name)
        alias = state.aliases.get(alias_name)
        if alias is None:
            raise not_found(f"{missing}: {self.function_arn(name, alias_name)}")
        return alias

    def _render_version(
        self, version: VersionState, *, shown_as: str | None = None, listed: bool = False
    ) -> dict[str, Any]:
        return render.version(
            version,
            region=self.region,
            account=self.account_id,
            now=self._clock.now(),
            shown_as=shown_as,
            listed=listed,
        )

    def _render_alias(self, alias: AliasState) -> dict[str, Any]:
        return render.alias(alias, region=self.region, account=self.account_id)

    def _timestamp(self) -> str:
        return render.last_modified(self._clock.now())

    @contextmanager
    def _write(self, name: str) -> Iterator[LambdaTables]:
        """One transaction on function ``name``; once committed, the view follows it."""
        with self._store.transaction() as conn:
            yield LambdaTables(conn)
        self._commit_view(name)

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
            self._view = self.invoker.view = LambdaView(functions)
