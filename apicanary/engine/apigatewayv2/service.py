"""HTTP APIs of the local engine: the apigatewayv2 operations over SQLite, and the snapshot.

Each API is one JSON document in one row (:mod:`.document` holds the pure operations); every
write loads it, applies one operation and stores it in one SQLite transaction, bumps the
revision and, once committed, hands the ``on_change`` listeners a fresh
:class:`HttpGatewaySnapshot`. Methods take and return plain dicts in the apigatewayv2 JSON
shape and raise :class:`~apicanary.errors.AwsApiError` with its codes.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import orjson

from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from apicanary.clock import Clock
from apicanary.engine.api_service import ApiService
from apicanary.engine.apigatewayv2 import document as ops
from apicanary.engine.apigatewayv2 import rules
from apicanary.engine.apigatewayv2.importer import ImportedHttpApi, parse_http_definition
from apicanary.engine.apigatewayv2.snapshot import (
    HttpApiSnapshot,
    HttpDeploymentSnapshot,
    HttpGatewaySnapshot,
    HttpRouteSnapshot,
    HttpStageSnapshot,
)
from apicanary.store import Store

__all__ = ["HttpApiService"]

COMPONENT = "apigatewayv2"
MIGRATIONS = (
    """
    CREATE TABLE apigwv2_apis (api_id TEXT PRIMARY KEY, name TEXT NOT NULL, doc TEXT NOT NULL);
    CREATE TABLE apigwv2_revision
        (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL);
    INSERT INTO apigwv2_revision (id, revision) VALUES (1, 0);
    """,
)
MAX_PAGE = 500


class HttpApiService(ApiService[HttpGatewaySnapshot]):
    """CreateApi ... ImportApi on the engine's store; see the module docstring."""

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
        self._lock = threading.Lock()

    # -- change notification -------------------------------------------------------------------

    @property
    def revision(self) -> int:
        row = self._store.query_one("SELECT revision FROM apigwv2_revision WHERE id = 1")
        return int(row["revision"]) if row else 0

    def snapshot(self) -> HttpGatewaySnapshot:
        """Every API's deployed stages, as of now (read-only)."""
        rows = self._store.query("SELECT doc FROM apigwv2_apis ORDER BY api_id")
        apis = {}
        for row in rows:
            api = _api_snapshot(orjson.loads(row["doc"]))
            apis[api.id] = api
        return HttpGatewaySnapshot(self.revision, MappingProxyType(apis))

    def _notify(self) -> None:
        if not self._listeners:
            return
        with self._lock:  # one announcement at a time: none overtakes a newer one
            self._announce(self.snapshot())

    # -- helpers -------------------------------------------------------------------------------

    def _now(self) -> str:
        moment = datetime.fromtimestamp(self._clock.now(), UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _endpoint(self, api_id: str) -> str:
        return f"https://{api_id}.execute-api.{self.region}.amazonaws.com"

    def _load(self, api_id: str) -> ops.Doc:
        row = self._store.query_one("SELECT doc FROM apigwv2_apis WHERE api_id = ?", (api_id,))
        if row is None:
            raise rules.api_not_found(api_id)
        doc: ops.Doc = orjson.loads(row["doc"])
        return doc

    @contextmanager
    def _editing(self, api_id: str) -> Iterator[ops.Doc]:
        """Load, let the caller change, store: one transaction, listeners told after commit."""
        with self._store.transaction() as conn:
            doc = self._load(api_id)
            yield doc
            conn.execute(
                "UPDATE apigwv2_apis SET doc = ?, name = ? WHERE api_id = ?",
                (orjson.dumps(doc).decode(), doc["api"]["name"], api_id),
            )
            conn.execute("UPDATE apigwv2_revision SET revision = revision + 1 WHERE id = 1")
        self._notify()

    def _insert(self, doc: ops.Doc) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT INTO apigwv2_apis (api_id, name, doc) VALUES (?, ?, ?)",
                (doc["api"]["apiId"], doc["api"]["name"], orjson.dumps(doc).decode()),
            )
            conn.execute("UPDATE apigwv2_revision SET revision = revision + 1 WHERE id = 1")
        self._notify()

    # -- APIs ----------------------------------------------------------------------------------

    def create_api(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        name = rules.required_str(fields, "name", max_len=128)
        protocol = fields.get("protocolType")
        if protocol != "HTTP":
            raise rules.bad_request(
                f"Invalid protocolType {protocol!r}: the local engine serves HTTP APIs "
                "(WEBSOCKET APIs are not emulated)"
            )
        api_id = self._new_id(10)
        api: dict[str, Any] = {
            "apiId": api_id,
            "name": name,
            "protocolType": "HTTP",
            "routeSelectionExpression": "${request.method} ${request.path}",
            "apiEndpoint": self._endpoint(api_id),
            "apiKeySelectionExpression": "$request.header.x-api-key",
            "createdDate": self._now(),
            "disableExecuteApiEndpoint": False,
            "tags": {},
        }
        for key in ("description", "version"):
            if key in fields:
                api[key] = rules.check_str(fields[key], key)
        if isinstance(fields.get("tags"), Mapping):
            api["tags"] = dict(fields["tags"])
        doc = ops.new_document(api)
        target = fields.get("target")
        if target is not None:
            route_key = fields.get("routeKey")
            ops.quick_create(
                doc,
                rules.check_str(target, "target"),
                None if route_key is None else rules.check_str(route_key, "routeKey"),
                self._new_id,
                self._now(),
            )
        self._insert(doc)
        return ops.public(doc["api"])

    def get_api(self, api_id: str) -> dict[str, Any]:
        return ops.public(self._load(api_id)["api"])

    def get_apis(
        self, next_token: str | None = None, max_results: int | None = None
    ) -> dict[str, Any]:
        rows = self._store.query("SELECT doc FROM apigwv2_apis ORDER BY api_id")
        items = [ops.public(orjson.loads(r["doc"])["api"]) for r in rows]
        return _page(items, next_token, max_results)

    def update_api(self, api_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self._editing(api_id) as doc:
            api = doc["api"]
            if "name" in fields:
                api["name"] = rules.required_str(fields, "name", max_len=128)
            for key in ("description", "version"):
                if key in fields:
                    api[key] = rules.check_str(fields[key], key)
            if "disableExecuteApiEndpoint" in fields:
                api["disableExecuteApiEndpoint"] = rules.check_bool(
                    fields, "disableExecuteApiEndpoint"
                )
        return ops.public(api)

    def delete_api(self, api_id: str) -> None:
        self._load(api_id)
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM apigwv2_apis WHERE api_id = ?", (api_id,))
            conn.execute("UPDATE apigwv2_revision SET revision = revision + 1 WHERE id = 1")
        self._notify()

    def import_api(self, body: str | bytes) -> dict[str, Any]:
        imported = parse_http_definition(_bytes(body))
        created = self.create_api(
            {"name": imported.title or "imported-api", "protocolType": "HTTP"}
        )
        return self.reimport_api(created["apiId"], body, parsed=imported)

    def reimport_api(
        self, api_id: str, body: str | bytes, *, parsed: ImportedHttpApi | None = None
    ) -> dict[str, Any]:
        imported = parsed or parse_http_definition(_bytes(body))
        with self._editing(api_id) as doc:
            doc["routes"] = {}
            doc["integrations"] = {}
            for route in imported.routes:
                fields: dict[str, Any] = {"routeKey": route.route_key}
                if route.integration is not None:
                    made = ops.create_integration(doc, route.integration, self._new_id)
                    fields["target"] = f"integrations/{made['integrationId']}"
                ops.create_route(doc, fields, self._new_id)
            if imported.title:
                doc["api"]["name"] = imported.title
            if imported.description is not None:
                doc["api"]["description"] = imported.description
            ops.auto_deploy(doc, self._new_id, self._now())
        return ops.public(doc["api"])

    # -- routes and integrations ----------------------------------------------------------------

    def create_route(self, api_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self._editing(api_id) as doc:
            made = ops.create_route(doc, fields, self._new_id)
            ops.auto_deploy(doc, self._new_id, self._now())
        return made

    def update_route(self, api_id: str, route_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self._editing(api_id) as doc:
            made = ops.update_route(doc, route_id, fields)
            ops.auto_deploy(doc, self._new_id, self._now())
        return made

    def get_route(self, api_id: str, route_id: str) -> dict[str, Any]:
        return ops.public(ops.get_route(self._load(api_id), route_id))

    def get_routes(
        self, api_id: str, token: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        doc = self._load(api_id)
        return _page([ops.public(r) for r in doc["routes"].values()], token, limit)

    def delete_route(self, api_id: str, route_id: str) -> None:
        with self._editing(api_id) as doc:
            ops.delete_route(doc, route_id)
            ops.auto_deploy(doc, self._new_id, self._now())

    def create_integration(self, api_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self._editing(api_id) as doc:
            made = ops.create_integration(doc, fields, self._new_id)
        return made

    def update_integration(
        self, api_id: str, integration_id: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        with self._editing(api_id) as doc:
            made = ops.update_integration(doc, integration_id, fields)
            ops.auto_deploy(doc, self._new_id, self._now())
        return made

    def get_integration(self, api_id: str, integration_id: str) -> dict[str, Any]:
        return ops.public(ops.get_integration(self._load(api_id), integration_id))

    def get_integrations(
        self, api_id: str, token: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        doc = self._load(api_id)
        return _page([ops.public(i) for i in doc["integrations"].values()], token, limit)

    def delete_integration(self, api_id: str, integration_id: str) -> None:
        with self._editing(api_id) as doc:
            ops.delete_integration(doc, integration_id)

    # -- stages and deployments -----------------------------------------------------------------

    def create_stage(self, api_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self._editing(api_id) as doc:
            made = ops.create_stage(doc, fields, self._new_id, self._now())
        return ops.public(doc["stages"][made["stageName"]])

    def update_stage(self, api_id: str, name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self._editing(api_id) as doc:
            ops.update_stage(doc, name, fields, self._new_id, self._now())
        return ops.public(doc["stages"][name])

    def get_stage(self, api_id: str, name: str) -> dict[str, Any]:
        return ops.public(ops.get_stage(self._load(api_id), name))

    def get_stages(
        self, api_id: str, token: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        doc = self._load(api_id)
        return _page([ops.public(s) for s in doc["stages"].values()], token, limit)

    def delete_stage(self, api_id: str, name: str) -> None:
        with self._editing(api_id) as doc:
            ops.delete_stage(doc, name)

    def create_deployment(self, api_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self._editing(api_id) as doc:
            made = ops.create_deployment(doc, fields, self._new_id, self._now())
        return made

    def get_deployment(self, api_id: str, deployment_id: str) -> dict[str, Any]:
        return ops.public(ops.get_deployment(self._load(api_id), deployment_id))

    def get_deployments(
        self, api_id: str, token: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        doc = self._load(api_id)
        return _page([ops.public(d) for d in doc["deployments"].values()], token, limit)


def _bytes(body: str | bytes) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def _page(items: list[dict[str, Any]], token: str | None, limit: int | None) -> dict[str, Any]:
    """One page of ``items``: ``nextToken`` is the offset of the next page, as text."""
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise rules.bad_request(f"Invalid maxResults {limit}: must be between 1 and {MAX_PAGE}")
    start = 0
    if token:
        if not token.isdigit():
            raise rules.bad_request(f"Invalid nextToken {token!r}")
        start = int(token)
    size = limit or MAX_PAGE
    page: dict[str, Any] = {"items": items[start : start + size]}
    if start + size < len(items):
        page["nextToken"] = str(start + size)
    return page


def _api_snapshot(doc: Mapping[str, Any]) -> HttpApiSnapshot:
    stages: dict[str, HttpStageSnapshot] = {}
    deployments: dict[str, HttpDeploymentSnapshot] = {}
    for stage in doc["stages"].values():
        deployment = doc["deployments"].get(stage.get("deploymentId") or "")
        if deployment is None:
            continue  # a stage without a deployment serves nothing yet
        if deployment["deploymentId"] not in deployments:
            deployments[deployment["deploymentId"]] = HttpDeploymentSnapshot(
                deployment["deploymentId"],
                tuple(_route_snapshot(r) for r in deployment["_routes"]),
            )
        stages[stage["stageName"]] = HttpStageSnapshot(
            stage["stageName"],
            deployment["deploymentId"],
            MappingProxyType(dict(stage.get("stageVariables") or {})),
        )
    api = doc["api"]
    return HttpApiSnapshot(
        api["apiId"], api["name"], MappingProxyType(stages), MappingProxyType(deployments)
    )


def _route_snapshot(entry: Mapping[str, Any]) -> HttpRouteSnapshot:
    integration = entry.get("integration") or {}
    return HttpRouteSnapshot(
        route_key=entry["routeKey"],
        integration_type=integration.get("integrationType"),
        integration_uri=integration.get("integrationUri"),
        payload_format_version=integration.get("payloadFormatVersion") or "2.0",
        timeout_in_millis=int(integration.get("timeoutInMillis") or rules.MAX_TIMEOUT_MS),
    )
