"""SQLite tables of the API Gateway component and row-level access inside a transaction.

Objects are stored as JSON documents in their API shape (camelCase), keyed by their ids;
resources keep ``parent_id``/``path_part`` as columns so paths can be computed and children
cascade on delete. :class:`Tables` wraps one connection that is inside
``Store.transaction()``; its ``*_or_fail`` lookups raise API Gateway's NotFound errors.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from apicanary.engine.apigateway import errors as err

COMPONENT = "apigateway"

MIGRATIONS = [
    """
CREATE TABLE apigw_apis (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE apigw_resources (
  api_id TEXT NOT NULL REFERENCES apigw_apis(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  parent_id TEXT,
  path_part TEXT,
  PRIMARY KEY (api_id, id),
  FOREIGN KEY (api_id, parent_id) REFERENCES apigw_resources(api_id, id) ON DELETE CASCADE
);
CREATE TABLE apigw_methods (
  api_id TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  http_method TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (api_id, resource_id, http_method),
  FOREIGN KEY (api_id, resource_id) REFERENCES apigw_resources(api_id, id) ON DELETE CASCADE
);
CREATE TABLE apigw_deployments (
  api_id TEXT NOT NULL REFERENCES apigw_apis(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  routes TEXT NOT NULL,
  PRIMARY KEY (api_id, id)
);
CREATE TABLE apigw_stages (
  api_id TEXT NOT NULL REFERENCES apigw_apis(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (api_id, name)
);
CREATE TABLE apigw_revision (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL);
INSERT INTO apigw_revision (id, revision) VALUES (1, 0);
""",
    """
CREATE TABLE apigw_gateway_responses (
  api_id TEXT NOT NULL REFERENCES apigw_apis(id) ON DELETE CASCADE,
  response_type TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (api_id, response_type)
);
""",
    # what a deployment freezes of the API itself (binaryMediaTypes); NULL for older ones
    """
ALTER TABLE apigw_deployments ADD COLUMN settings TEXT;
""",
]


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str) -> Any:
    return orjson.loads(text)


@dataclass(frozen=True, slots=True)
class ResourceRow:
    id: str
    parent_id: str | None
    path_part: str | None


class Tables:
    """Typed access to the component's rows through ``conn`` (already in a transaction)."""

    def __init__(self, conn: sqlite3.Connection, account_id: str) -> None:
        self.conn = conn
        self.account_id = account_id

    # -- revision --------------------------------------------------------------------------

    def bump_revision(self) -> None:
        self.conn.execute("UPDATE apigw_revision SET revision = revision + 1 WHERE id = 1")

    # -- REST APIs -----------------------------------------------------------------------------

    def api_or_fail(self, api_id: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT body FROM apigw_apis WHERE id = ?", (api_id,)).fetchone()
        if row is None:
            raise err.api_not_found(self.account_id, api_id)
        return dict(loads(row["body"]))

    def apis(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT body FROM apigw_apis").fetchall()
        apis = [dict(loads(r["body"])) for r in rows]
        return sorted(apis, key=lambda a: (a["createdDate"], a["id"]))

    def api_exists(self, api_id: str) -> bool:
        return self._exists("SELECT 1 FROM apigw_apis WHERE id = ?", (api_id,))

    def put_api(self, api: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO apigw_apis (id, body) VALUES (?, ?) "
            "ON CONFLICT(id) DO UPDATE SET body = excluded.body",
            (api["id"], dumps(api)),
        )

    def delete_api(self, api_id: str) -> None:
        self.api_or_fail(api_id)
        self.conn.execute("DELETE FROM apigw_apis WHERE id = ?", (api_id,))

    # -- resources -----------------------------------------------------------------------------

    def resources(self, api_id: str) -> dict[str, ResourceRow]:
        rows = self.conn.execute(
            "SELECT id, parent_id, path_part FROM apigw_resources WHERE api_id = ?", (api_id,)
        ).fetchall()
        return {r["id"]: ResourceRow(r["id"], r["parent_id"], r["path_part"]) for r in rows}

    def resource_or_fail(self, api_id: str, resource_id: str) -> ResourceRow:
        row = self.conn.execute(
            "SELECT id, parent_id, path_part FROM apigw_resources WHERE api_id = ? AND id = ?",
            (api_id, resource_id),
        ).fetchone()
        if row is None:
            raise err.not_found(err.RESOURCE_NOT_FOUND)
        return ResourceRow(row["id"], row["parent_id"], row["path_part"])

    def insert_resource(self, api_id: str, row: ResourceRow) -> None:
        self.conn.execute(
            "INSERT INTO apigw_resources (api_id, id, parent_id, path_part) VALUES (?, ?, ?, ?)",
            (api_id, row.id, row.parent_id, row.path_part),
        )

    def delete_resource(self, api_id: str, resource_id: str) -> None:
        self.conn.execute(
            "DELETE FROM apigw_resources WHERE api_id = ? AND id = ?", (api_id, resource_id)
        )

    def resource_id_taken(self, api_id: str, resource_id: str) -> bool:
        return self._exists(
            "SELECT 1 FROM apigw_resources WHERE api_id = ? AND id = ?", (api_id, resource_id)
        )

    # -- methods (integration inside, as ``methodIntegration``) --------------------------------

    def methods(self, api_id: str) -> dict[str, dict[str, dict[str, Any]]]:
        """``{resource_id: {http_method: method}}``."""
        rows = self.conn.execute(
            "SELECT resource_id, http_method, body FROM apigw_methods WHERE api_id = ?", (api_id,)
        ).fetchall()
        result: dict[str, dict[str, dict[str, Any]]] = {}
        for r in rows:
            result.setdefault(r["resource_id"], {})[r["http_method"]] = dict(loads(r["body"]))
        return result

    def method(self, api_id: str, resource_id: str, http_method: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT body FROM apigw_methods WHERE api_id = ? AND resource_id = ? "
            "AND http_method = ?",
            (api_id, resource_id, http_method),
        ).fetchone()
        return None if row is None else dict(loads(row["body"]))

    def method_or_fail(self, api_id: str, resource_id: str, http_method: str) -> dict[str, Any]:
        self.resource_or_fail(api_id, resource_id)
        method = self.method(api_id, resource_id, http_method)
        if method is None:
            raise err.not_found(err.METHOD_NOT_FOUND)
        return method

    def put_method(self, api_id: str, resource_id: str, method: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO apigw_methods (api_id, resource_id, http_method, body) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(api_id, resource_id, http_method) "
            "DO UPDATE SET body = excluded.body",
            (api_id, resource_id, method["httpMethod"], dumps(method)),
        )

    def delete_method(self, api_id: str, resource_id: str, http_method: str) -> None:
        self.conn.execute(
            "DELETE FROM apigw_methods WHERE api_id = ? AND resource_id = ? AND http_method = ?",
            (api_id, resource_id, http_method),
        )

    def delete_methods_of(self, api_id: str, resource_id: str) -> None:
        self.conn.execute(
            "DELETE FROM apigw_methods WHERE api_id = ? AND resource_id = ?", (api_id, resource_id)
        )

    # -- deployments ---------------------------------------------------------------------------

    def deployment(self, api_id: str, deployment_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT body FROM apigw_deployments WHERE api_id = ? AND id = ?",
            (api_id, deployment_id),
        ).fetchone()
        return None if row is None else dict(loads(row["body"]))

    def deployment_or_fail(self, api_id: str, deployment_id: str) -> dict[str, Any]:
        deployment = self.deployment(api_id, deployment_id)
        if deployment is None:
            raise err.not_found(err.DEPLOYMENT_NOT_FOUND)
        return deployment

    def deployment_routes(self, api_id: str, deployment_id: str) -> list[dict[str, Any]]:
        row = self.conn.execute(
            "SELECT routes FROM apigw_deployments WHERE api_id = ? AND id = ?",
            (api_id, deployment_id),
        ).fetchone()
        return [] if row is None else list(loads(row["routes"]))

    def deployments(self, api_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT body FROM apigw_deployments WHERE api_id = ?", (api_id,)
        ).fetchall()
        items = [dict(loads(r["body"])) for r in rows]
        return sorted(items, key=lambda d: (d["createdDate"], d["id"]))

    def insert_deployment(
        self,
        api_id: str,
        deployment: dict[str, Any],
        routes: list[dict[str, Any]],
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO apigw_deployments (api_id, id, body, routes, settings) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                api_id,
                deployment["id"],
                dumps(deployment),
                dumps(routes),
                None if settings is None else dumps(settings),
            ),
        )

    def deployment_settings(self, api_id: str, deployment_id: str) -> dict[str, Any] | None:
        """What the deployment froze of the API (``binaryMediaTypes``); ``None`` if nothing."""
        row = self.conn.execute(
            "SELECT settings FROM apigw_deployments WHERE api_id = ? AND id = ?",
            (api_id, deployment_id),
        ).fetchone()
        return None if row is None or row["settings"] is None else dict(loads(row["settings"]))

    def delete_deployment(self, api_id: str, deployment_id: str) -> None:
        self.conn.execute(
            "DELETE FROM apigw_deployments WHERE api_id = ? AND id = ?", (api_id, deployment_id)
        )

    # -- stages ------------------------------------------------------------------------------

    def stage(self, api_id: str, name: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT body FROM apigw_stages WHERE api_id = ? AND name = ?", (api_id, name)
        ).fetchone()
        return None if row is None else dict(loads(row["body"]))

    def stage_or_fail(self, api_id: str, name: str) -> dict[str, Any]:
        stage = self.stage(api_id, name)
        if stage is None:
            raise err.not_found(err.STAGE_NOT_FOUND)
        return stage

    def stages(self, api_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT body FROM apigw_stages WHERE api_id = ? ORDER BY name", (api_id,)
        ).fetchall()
        return [dict(loads(r["body"])) for r in rows]

    def put_stage(self, api_id: str, stage: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO apigw_stages (api_id, name, body) VALUES (?, ?, ?) "
            "ON CONFLICT(api_id, name) DO UPDATE SET body = excluded.body",
            (api_id, stage["stageName"], dumps(stage)),
        )

    def delete_stage(self, api_id: str, name: str) -> None:
        self.conn.execute("DELETE FROM apigw_stages WHERE api_id = ? AND name = ?", (api_id, name))

    # -- gateway responses (only the customized ones are stored) -----------------------------

    def gateway_responses(self, api_id: str) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT response_type, body FROM apigw_gateway_responses WHERE api_id = ?", (api_id,)
        ).fetchall()
        return {r["response_type"]: dict(loads(r["body"])) for r in rows}

    def put_gateway_response(self, api_id: str, response: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO apigw_gateway_responses (api_id, response_type, body) VALUES (?, ?, ?) "
            "ON CONFLICT(api_id, response_type) DO UPDATE SET body = excluded.body",
            (api_id, response["responseType"], dumps(response)),
        )

    def delete_gateway_response(self, api_id: str, response_type: str) -> bool:
        """Whether a customization was there to delete."""
        cursor = self.conn.execute(
            "DELETE FROM apigw_gateway_responses WHERE api_id = ? AND response_type = ?",
            (api_id, response_type),
        )
        return cursor.rowcount > 0

    def _exists(self, sql: str, params: tuple[Any, ...]) -> bool:
        return self.conn.execute(sql, params).fetchone() is not None
