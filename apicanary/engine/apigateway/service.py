"""API Gateway REST APIs of the local engine: state, semantics, and the data plane's snapshot.

:class:`ApiGatewayService` implements the control-plane operations the local engine
supports (reference/aws-semantics.md §2). Methods take and return plain dicts in the AWS
API's JSON shape (camelCase, as botocore's ``apigateway`` model names them) and raise
:class:`apicanary.errors.AwsApiError` with API Gateway's codes and messages. Every write is
one SQLite transaction (a patch list with one bad operation changes nothing), bumps
:attr:`ApiGatewayService.revision`, and, once committed, calls the ``on_change`` listeners
with a fresh :class:`GatewaySnapshot`. Dates are epoch seconds, as AWS's rest-json sends them.
"""

from __future__ import annotations

import logging
import random
import string
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from apicanary.clock import Clock
from apicanary.engine.apigateway import errors as err
from apicanary.engine.apigateway import validate as valid
from apicanary.engine.apigateway.build import api_summary, build_snapshot, capture_routes
from apicanary.engine.apigateway.importer import (
    apply_definition,
    definition_api_fields,
    parse_definition,
)
from apicanary.engine.apigateway.patch import apply_stage_patch
from apicanary.engine.apigateway.resources import ResourceOps
from apicanary.engine.apigateway.snapshot import (
    ApiSnapshot,
    CanarySnapshot,
    DeploymentSnapshot,
    GatewaySnapshot,
    RouteSnapshot,
    StageSnapshot,
)
from apicanary.engine.apigateway.stage import (
    canary_from_input,
    new_stage,
    referenced_deployments,
    render_stage,
)
from apicanary.engine.apigateway.tables import COMPONENT, MIGRATIONS, Tables
from apicanary.store import Store

__all__ = [
    "ApiGatewayService",
    "ApiSnapshot",
    "CanarySnapshot",
    "ChangeListener",
    "DeploymentSnapshot",
    "GatewaySnapshot",
    "RouteSnapshot",
    "StageSnapshot",
]

log = logging.getLogger(__name__)

ChangeListener = Callable[[GatewaySnapshot], None]

DEFAULT_PAGE = 25
MAX_PAGE = 500
_ID_ALPHABET = string.ascii_lowercase + string.digits


class ApiGatewayService:
    """REST APIs, resources, methods, integrations, deployments and stages (with canaries)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.region = region
        self.account_id = account_id
        self._rng = rng or random.SystemRandom()
        self._listeners: list[ChangeListener] = []
        self._snapshot_lock = threading.Lock()
        self._snapshot: GatewaySnapshot | None = None
        store.migrate(COMPONENT, MIGRATIONS)

    # -- change notification and the data-plane snapshot ----------------------------------

    @property
    def revision(self) -> int:
        """A counter that increases with every committed write."""
        row = self._store.query_one("SELECT revision FROM apigw_revision WHERE id = 1")
        return int(row["revision"]) if row else 0

    def on_change(self, callback: ChangeListener) -> None:
        """Call ``callback(snapshot)`` after every committed write (in the writer's thread).

        A listener that raises is logged and does not undo the write. Writes made inside a
        caller's own outer ``store.transaction()`` notify before that outer commit.
        """
        self._listeners.append(callback)

    def snapshot(self) -> GatewaySnapshot:
        """The immutable view of every API, stage and referenced deployment, as of now."""
        with self._read() as tables, self._snapshot_lock:  # lock order: store, then ours
            revision = self._current_revision(tables)
            if self._snapshot is None or self._snapshot.revision != revision:
                self._snapshot = build_snapshot(tables, revision)
            return self._snapshot

    # -- REST APIs ---------------------------------------------------------------------------

    def create_rest_api(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """CreateRestApi: a new API with its root resource ``/``."""
        name = fields.get("name")
        if not isinstance(name, str) or not name:
            raise err.bad_request("Invalid REST API name specified: name must be non-empty")
        if fields.get("cloneFrom"):
            raise err.bad_request("cloneFrom is not supported by the local engine")
        with self._write() as tables:
            api = self._new_api(tables, fields)
            return _render_api(api)

    def get_rest_api(self, api_id: str) -> dict[str, Any]:
        with self._read() as tables:
            return _render_api(tables.api_or_fail(api_id))

    def get_rest_apis(
        self, position: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        """GetRestApis: ``{"item": [...], "position"?}``."""
        with self._read() as tables:
            return _page([_render_api(a) for a in tables.apis()], position, limit)

    def delete_rest_api(self, api_id: str) -> None:
        with self._write() as tables:
            tables.delete_api(api_id)

    def import_rest_api(self, body: bytes) -> dict[str, Any]:
        """ImportRestApi: a new API from an OpenAPI 3 / Swagger 2 document (JSON or YAML)."""
        definition = parse_definition(body)
        if not definition.title:
            raise err.bad_request("Invalid OpenAPI input: info.title is required for the API name")
        with self._write() as tables:
            api = self._new_api(tables, definition_api_fields(definition))
            apply_definition(self._resource_ops(tables), api["id"], definition, overwrite=True)
            return _render_api(api)

    def put_rest_api(self, api_id: str, body: bytes, mode: str | None = None) -> dict[str, Any]:
        """PutRestApi: ``mode`` ``merge`` (default) adds/replaces what the document defines;
        ``overwrite`` replaces the API's resources, name, description and binary types."""
        mode = mode or "merge"
        if mode not in ("merge", "overwrite"):
            raise err.bad_request(
                'Enumeration value of OpenAPI import mode must be "overwrite" or "merge"'
            )
        definition = parse_definition(body)
        with self._write() as tables:
            api = tables.api_or_fail(api_id)
            overwrite = mode == "overwrite"
            fields = definition_api_fields(definition)
            if overwrite:
                api.update({k: v for k, v in fields.items() if k != "binaryMediaTypes"})
                api["binaryMediaTypes"] = fields.get("binaryMediaTypes", [])
            else:
                known = list(api.get("binaryMediaTypes") or [])
                extra = [m for m in fields.get("binaryMediaTypes", []) if m not in known]
                api["binaryMediaTypes"] = known + extra
            tables.put_api(api)
            apply_definition(self._resource_ops(tables), api_id, definition, overwrite=overwrite)
            return _render_api(api)

    # -- resources, methods, integrations ----------------------------------------------------

    def get_resources(
        self,
        api_id: str,
        embed_methods: bool = False,
        position: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """GetResources: ``{"item": [...], "position"?}``; ``embed_methods`` = ``embed=methods``."""
        with self._read() as tables:
            items = self._resource_ops(tables).render_all(api_id, embed_methods)
            return _page(items, position, limit)

    def get_resource(
        self, api_id: str, resource_id: str, embed_methods: bool = False
    ) -> dict[str, Any]:
        with self._read() as tables:
            return self._resource_ops(tables).render_one(api_id, resource_id, embed_methods)

    def create_resource(self, api_id: str, parent_id: str, path_part: Any) -> dict[str, Any]:
        with self._write() as tables:
            return self._resource_ops(tables).create(api_id, parent_id, path_part)

    def delete_resource(self, api_id: str, resource_id: str) -> None:
        with self._write() as tables:
            self._resource_ops(tables).delete(api_id, resource_id)

    def put_method(
        self, api_id: str, resource_id: str, http_method: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        with self._write() as tables:
            return self._resource_ops(tables).put_method(api_id, resource_id, http_method, fields)

    def get_method(self, api_id: str, resource_id: str, http_method: str) -> dict[str, Any]:
        with self._read() as tables:
            tables.api_or_fail(api_id)
            return tables.method_or_fail(api_id, resource_id, http_method.upper())

    def delete_method(self, api_id: str, resource_id: str, http_method: str) -> None:
        with self._write() as tables:
            tables.api_or_fail(api_id)
            tables.method_or_fail(api_id, resource_id, http_method.upper())
            tables.delete_method(api_id, resource_id, http_method.upper())

    def put_integration(
        self, api_id: str, resource_id: str, http_method: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PutIntegration; ``fields["httpMethod"]`` is the integration's method (the body's
        ``httpMethod``, botocore's ``integrationHttpMethod``)."""
        with self._write() as tables:
            ops = self._resource_ops(tables)
            return ops.put_integration(api_id, resource_id, http_method, fields)

    def get_integration(self, api_id: str, resource_id: str, http_method: str) -> dict[str, Any]:
        with self._read() as tables:
            tables.api_or_fail(api_id)
            method = tables.method_or_fail(api_id, resource_id, http_method.upper())
            if "methodIntegration" not in method:
                raise err.not_found(err.INTEGRATION_NOT_FOUND)
            return dict(method["methodIntegration"])

    # -- deployments -------------------------------------------------------------------------

    def create_deployment(self, api_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """CreateDeployment (§2.3, §2.4): snapshot the API; with ``stageName`` create or
        repoint the stage; with ``canarySettings`` make the new deployment the stage's canary
        (the stage must exist; its production deployment is unchanged)."""
        stage_name = fields.get("stageName")
        canary_input = fields.get("canarySettings")
        if canary_input is not None and not isinstance(canary_input, Mapping):
            raise err.bad_request("canarySettings must be an object")
        with self._write() as tables:
            tables.api_or_fail(api_id)
            stage = None
            if canary_input is not None:
                if not stage_name:
                    raise err.canary_needs_stage_name(stage_name)
                stage = tables.stage(api_id, stage_name)
                if stage is None:
                    raise err.canary_needs_existing_stage(stage_name)
            elif stage_name:
                valid.stage_name(stage_name)
                stage = tables.stage(api_id, stage_name)
                if stage is not None and stage.get("canarySettings") is not None:
                    raise err.non_canary_deployment_on_canary_stage(stage_name)
            valid.variables(fields.get("variables"))
            routes = capture_routes(tables, api_id)
            now = self._now()
            deployment: dict[str, Any] = {"id": self._fresh_deployment_id(tables, api_id)}
            if fields.get("description") is not None:
                deployment["description"] = fields["description"]
            deployment["createdDate"] = now
            tables.insert_deployment(api_id, deployment, routes)
            if stage_name:
                self._deploy_to_stage(tables, api_id, stage_name, stage, deployment["id"], fields)
            return deployment

    def get_deployment(
        self, api_id: str, deployment_id: str, embed_summary: bool = False
    ) -> dict[str, Any]:
        """GetDeployment; ``embed_summary`` (``embed=apisummary``) adds ``apiSummary``."""
        with self._read() as tables:
            tables.api_or_fail(api_id)
            deployment = tables.deployment_or_fail(api_id, deployment_id)
            if embed_summary:
                deployment["apiSummary"] = api_summary(
                    tables.deployment_routes(api_id, deployment_id)
                )
            return deployment

    def get_deployments(
        self, api_id: str, position: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        with self._read() as tables:
            tables.api_or_fail(api_id)
            return _page(tables.deployments(api_id), position, limit)

    def delete_deployment(self, api_id: str, deployment_id: str) -> None:
        """Refused while a stage, or a stage's canary, points to the deployment."""
        with self._write() as tables:
            tables.api_or_fail(api_id)
            tables.deployment_or_fail(api_id, deployment_id)
            for stage in tables.stages(api_id):
                if stage["deploymentId"] == deployment_id:
                    raise err.bad_request(err.DEPLOYMENT_IN_USE)
                if deployment_id in referenced_deployments(stage):
                    raise err.bad_request(err.DEPLOYMENT_IN_USE_BY_CANARY)
            tables.delete_deployment(api_id, deployment_id)

    # -- stages --------------------------------------------------------------------------------

    def create_stage(self, api_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """CreateStage, with optional ``canarySettings`` (whose deployment must exist)."""
        with self._write() as tables:
            tables.api_or_fail(api_id)
            name = valid.stage_name(fields.get("stageName"))
            deployment_id = self._existing_deployment(tables, api_id, fields.get("deploymentId"))
            if tables.stage(api_id, name) is not None:
                raise err.conflict(err.STAGE_EXISTS)
            self._check_stage_limit(tables, api_id)
            canary = None
            if fields.get("canarySettings") is not None:
                canary = canary_from_input(fields["canarySettings"], deployment_id)
                self._existing_deployment(tables, api_id, canary["deploymentId"])
            stage = new_stage(
                name,
                deployment_id,
                self._now(),
                description=fields.get("description"),
                variables=valid.variables(fields.get("variables")),
                canary=canary,
                tracing_enabled=fields.get("tracingEnabled"),
                cache_cluster_enabled=fields.get("cacheClusterEnabled"),
                cache_cluster_size=fields.get("cacheClusterSize"),
                tags=fields.get("tags"),
            )
            tables.put_stage(api_id, stage)
            return render_stage(stage)

    def get_stage(self, api_id: str, stage_name: str) -> dict[str, Any]:
        with self._read() as tables:
            tables.api_or_fail(api_id)
            return render_stage(tables.stage_or_fail(api_id, stage_name))

    def get_stages(self, api_id: str, deployment_id: str | None = None) -> dict[str, Any]:
        """GetStages: ``{"item": [...]}``, optionally only the stages on ``deployment_id``."""
        with self._read() as tables:
            tables.api_or_fail(api_id)
            stages = tables.stages(api_id)
            if deployment_id:
                stages = [s for s in stages if s["deploymentId"] == deployment_id]
            return {"item": [render_stage(s) for s in stages]}

    def delete_stage(self, api_id: str, stage_name: str) -> None:
        with self._write() as tables:
            tables.api_or_fail(api_id)
            tables.stage_or_fail(api_id, stage_name)
            tables.delete_stage(api_id, stage_name)

    def update_stage(
        self, api_id: str, stage_name: str, operations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """UpdateStage: JSON-patch ``operations`` with the canary semantics of §2.4."""
        with self._write() as tables:
            tables.api_or_fail(api_id)
            stage = tables.stage_or_fail(api_id, stage_name)

            def exists(deployment_id: str) -> bool:
                return tables.deployment(api_id, deployment_id) is not None

            updated = apply_stage_patch(stage, operations, exists)
            updated["lastUpdatedDate"] = self._now()
            tables.put_stage(api_id, updated)
            return render_stage(updated)

    # -- internals ---------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Tables]:
        with self._store.transaction() as conn:
            yield Tables(conn, self.account_id)

    @contextmanager
    def _write(self) -> Iterator[Tables]:
        with self._store.transaction() as conn:
            tables = Tables(conn, self.account_id)
            yield tables
            tables.bump_revision()
        self._notify()

    def _notify(self) -> None:
        if not self._listeners:
            return
        snapshot = self.snapshot()
        for listener in list(self._listeners):
            try:
                listener(snapshot)
            except Exception:
                log.exception("API Gateway change listener %r failed", listener)

    @staticmethod
    def _current_revision(tables: Tables) -> int:
        row = tables.conn.execute("SELECT revision FROM apigw_revision WHERE id = 1").fetchone()
        return int(row["revision"]) if row else 0

    def _now(self) -> int:
        return int(self._clock.now())

    def _new_id(self, length: int) -> str:
        return "".join(self._rng.choice(_ID_ALPHABET) for _ in range(length))

    def _resource_ops(self, tables: Tables) -> ResourceOps:
        return ResourceOps(tables, self._new_id)

    def _new_api(self, tables: Tables, fields: Mapping[str, Any]) -> dict[str, Any]:
        api_id = self._new_id(10)
        while tables.api_exists(api_id):
            api_id = self._new_id(10)
        api: dict[str, Any] = {
            "id": api_id,
            "name": fields["name"],
            "createdDate": self._now(),
            "apiKeySource": fields.get("apiKeySource") or "HEADER",
            "endpointConfiguration": fields.get("endpointConfiguration")
            or {"types": ["EDGE"], "ipAddressType": "ipv4"},
            "disableExecuteApiEndpoint": bool(fields.get("disableExecuteApiEndpoint", False)),
            "rootResourceId": "",
            "binaryMediaTypes": list(fields.get("binaryMediaTypes") or []),
        }
        for key in ("description", "version", "policy", "minimumCompressionSize", "tags"):
            if fields.get(key) is not None:
                api[key] = fields[key]
        tables.put_api(api)  # the row must exist before its root resource references it
        api["rootResourceId"] = self._resource_ops(tables).create_root(api_id)
        tables.put_api(api)
        return api

    def _fresh_deployment_id(self, tables: Tables, api_id: str) -> str:
        deployment_id = self._new_id(6)
        while tables.deployment(api_id, deployment_id) is not None:
            deployment_id = self._new_id(6)
        return deployment_id

    @staticmethod
    def _existing_deployment(tables: Tables, api_id: str, deployment_id: Any) -> str:
        if not isinstance(deployment_id, str) or tables.deployment(api_id, deployment_id) is None:
            raise err.bad_request(err.DEPLOYMENT_ID_UNKNOWN)
        return deployment_id

    @staticmethod
    def _check_stage_limit(tables: Tables, api_id: str) -> None:
        count = len(tables.stages(api_id))
        if count >= valid.MAX_STAGES_PER_API:
            raise err.limit_exceeded(
                f"Stage limit reached: the API already has {count} stages; "
                f"the limit is {valid.MAX_STAGES_PER_API} per API"
            )

    def _deploy_to_stage(
        self,
        tables: Tables,
        api_id: str,
        stage_name: str,
        stage: dict[str, Any] | None,
        deployment_id: str,
        fields: Mapping[str, Any],
    ) -> None:
        """Point ``stage_name`` (created if missing) or its canary at ``deployment_id``.

        ``variables`` merge into the stage's variables ([Unverified]: AWS does not document
        replace-vs-merge); ``stageDescription`` sets the stage's description.
        """
        variables = valid.variables(fields.get("variables"))
        canary_input = fields.get("canarySettings")
        now = self._now()
        if stage is None:
            self._check_stage_limit(tables, api_id)
            stage = new_stage(
                stage_name,
                deployment_id,
                now,
                description=fields.get("stageDescription"),
                variables=variables,
                tracing_enabled=fields.get("tracingEnabled"),
                cache_cluster_enabled=fields.get("cacheClusterEnabled"),
                cache_cluster_size=fields.get("cacheClusterSize"),
            )
        else:
            if canary_input is not None:
                new_canary_input = {**canary_input, "deploymentId": None}
                stage["canarySettings"] = canary_from_input(new_canary_input, deployment_id)
            else:
                stage["deploymentId"] = deployment_id
            stage["variables"].update(variables)
            valid.variable_count(stage["variables"])
            if fields.get("stageDescription") is not None:
                stage["description"] = fields["stageDescription"]
            for key in ("tracingEnabled", "cacheClusterEnabled", "cacheClusterSize"):
                if fields.get(key) is not None:
                    stage[key] = fields[key]
            stage["lastUpdatedDate"] = now
        tables.put_stage(api_id, stage)


def _render_api(api: Mapping[str, Any]) -> dict[str, Any]:
    rendered = dict(api)
    if not rendered.get("binaryMediaTypes"):
        rendered.pop("binaryMediaTypes", None)
    return rendered


def _page(items: list[dict[str, Any]], position: str | None, limit: int | None) -> dict[str, Any]:
    """``{"item": items[position:position+limit], "position": next}`` (position = offset)."""
    try:
        start = int(position) if position else 0
    except ValueError:
        raise err.bad_request(f"Invalid position {position!r}") from None
    size = DEFAULT_PAGE if limit is None else limit
    if not 1 <= size <= MAX_PAGE:
        raise err.bad_request(f"Invalid limit {limit}: it must be between 1 and {MAX_PAGE}")
    page: dict[str, Any] = {"item": items[start : start + size]}
    if start + size < len(items):
        page["position"] = str(start + size)
    return page
