"""API Gateway REST APIs of the local engine: state, semantics, and the data plane's snapshot.

:class:`ApiGatewayService` implements the control-plane operations the local engine
supports (reference/aws-semantics.md §2). Methods take and return plain dicts in the AWS
API's JSON shape (camelCase, as botocore's ``apigateway`` model names them) and raise
:class:`apicanary.errors.AwsApiError` with API Gateway's codes and messages. Every write is
one SQLite transaction (a patch list with one bad operation changes nothing), bumps
:attr:`ApiGatewayService.revision`, and, once committed, calls the ``on_change`` listeners
with a fresh :class:`GatewaySnapshot`. Dates are epoch seconds, as AWS's rest-json sends them.

Over 400 lines: one thin method per control-plane operation (the semantics live in the
modules it delegates to), kept together so the operations read as one API.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from apicanary.clock import Clock
from apicanary.engine.api_service import ApiService
from apicanary.engine.apigateway import errors as err
from apicanary.engine.apigateway import gateway_responses as responses
from apicanary.engine.apigateway.build import api_summary, build_snapshot
from apicanary.engine.apigateway.deployments import DeploymentOps
from apicanary.engine.apigateway.importer import (
    apply_definition,
    definition_api_fields,
    parse_definition,
)
from apicanary.engine.apigateway.resources import ResourceOps
from apicanary.engine.apigateway.restapi_patch import apply_rest_api_patch
from apicanary.engine.apigateway.snapshot import GatewaySnapshot
from apicanary.engine.apigateway.stage import render_stage
from apicanary.engine.apigateway.tables import COMPONENT, MIGRATIONS, Tables
from apicanary.store import Store

__all__ = ["ApiGatewayService", "ChangeListener"]

ChangeListener = Callable[[GatewaySnapshot], None]

DEFAULT_PAGE = 25
MAX_PAGE = 500


class ApiGatewayService(ApiService[GatewaySnapshot]):
    """REST APIs, resources, methods, integrations, deployments and stages (with canaries)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            store, clock, region, account_id, rng, component=COMPONENT, migrations=MIGRATIONS
        )
        self._snapshot_lock = threading.Lock()
        self._snapshot: GatewaySnapshot | None = None

    # -- change notification and the data-plane snapshot ----------------------------------

    @property
    def revision(self) -> int:
        """A counter that increases with every committed write."""
        row = self._store.query_one("SELECT revision FROM apigw_revision WHERE id = 1")
        return int(row["revision"]) if row else 0

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

    def update_rest_api(
        self, api_id: str, operations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """UpdateRestApi: JSON-patch ``operations`` (:mod:`.restapi_patch`)."""
        with self._write() as tables:
            api = apply_rest_api_patch(tables.api_or_fail(api_id), operations)
            tables.put_api(api)
            return _render_api(api)

    # -- gateway responses (:mod:`.gateway_responses`) -----------------------------------------

    def put_gateway_response(
        self, api_id: str, kind: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        with self._write() as tables:
            tables.api_or_fail(api_id)
            stored = responses.customized(responses.response_type(kind), fields)
            tables.put_gateway_response(api_id, stored)
            return responses.render(kind, {kind: stored})

    def get_gateway_response(self, api_id: str, kind: str) -> dict[str, Any]:
        with self._read() as tables:
            tables.api_or_fail(api_id)
            return responses.render(responses.response_type(kind), tables.gateway_responses(api_id))

    def get_gateway_responses(self, api_id: str) -> dict[str, Any]:
        """``{"item": [...]}``: all 21 types (the collection has no pagination)."""
        with self._read() as tables:
            tables.api_or_fail(api_id)
            return {"item": responses.render_all(tables.gateway_responses(api_id))}

    def update_gateway_response(
        self, api_id: str, kind: str, operations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        with self._write() as tables:
            tables.api_or_fail(api_id)
            custom = tables.gateway_responses(api_id)
            stored = responses.patched(responses.response_type(kind), custom, operations)
            tables.put_gateway_response(api_id, stored)
            return responses.render(kind, {kind: stored})

    def delete_gateway_response(self, api_id: str, kind: str) -> None:
        with self._write() as tables:
            tables.api_or_fail(api_id)
            if not tables.delete_gateway_response(api_id, responses.response_type(kind)):
                raise responses.not_defined()

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
        """CreateDeployment (§2.3, §2.4), optionally creating or repointing a stage or its
        canary (:meth:`DeploymentOps.create_deployment`)."""
        with self._write() as tables:
            return self._deployment_ops(tables).create_deployment(api_id, fields)

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
            self._deployment_ops(tables).delete_deployment(api_id, deployment_id)

    # -- stages --------------------------------------------------------------------------------

    def create_stage(self, api_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """CreateStage, with optional ``canarySettings`` (whose deployment must exist)."""
        with self._write() as tables:
            return self._deployment_ops(tables).create_stage(api_id, fields)

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
            return self._deployment_ops(tables).update_stage(api_id, stage_name, operations)

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
        """Announce the new state (writes made inside a caller's own outer
        ``store.transaction()`` announce it before that outer commit)."""
        if self._listeners:
            self._announce(self.snapshot())

    @staticmethod
    def _current_revision(tables: Tables) -> int:
        row = tables.conn.execute("SELECT revision FROM apigw_revision WHERE id = 1").fetchone()
        return int(row["revision"]) if row else 0

    def _now(self) -> int:
        return int(self._clock.now())

    def _resource_ops(self, tables: Tables) -> ResourceOps:
        return ResourceOps(tables, self._new_id)

    def _deployment_ops(self, tables: Tables) -> DeploymentOps:
        return DeploymentOps(tables, self._new_id, self._now())

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
