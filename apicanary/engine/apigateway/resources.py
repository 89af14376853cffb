"""Resources, methods and integrations of a REST API (the editable, undeployed tree).

:class:`ResourceOps` works inside the caller's transaction (a :class:`Tables`), so the
service and the OpenAPI importer share the same rules: path-part syntax, one variable child
per parent, no children under a greedy ``{proxy+}``, one Method per HTTP method.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from apicanary.engine.apigateway import errors as err
from apicanary.engine.apigateway import validate as valid
from apicanary.engine.apigateway.build import resource_paths
from apicanary.engine.apigateway.tables import ResourceRow, Tables

_METHOD_OPTIONALS = (
    "authorizerId",
    "operationName",
    "requestParameters",
    "requestModels",
    "requestValidatorId",
    "authorizationScopes",
)


class ResourceOps:
    """Resource-tree operations through ``tables``; ``new_id(n)`` makes an n-char id."""

    def __init__(self, tables: Tables, new_id: Callable[[int], str]) -> None:
        self.tables = tables
        self.new_id = new_id

    # -- resources -----------------------------------------------------------------------------

    def create_root(self, api_id: str) -> str:
        root_id = self._fresh_id(api_id, 10)
        self.tables.insert_resource(api_id, ResourceRow(root_id, None, None))
        return root_id

    def create(self, api_id: str, parent_id: str, path_part: Any) -> dict[str, Any]:
        """CreateResource under ``parent_id``; returns the ``Resource`` shape."""
        self.tables.api_or_fail(api_id)
        part = valid.path_part(path_part)
        self.tables.resource_or_fail(api_id, parent_id)
        resources = self.tables.resources(api_id)
        self._check_sibling_rules(resources, parent_id, part)
        row = ResourceRow(self._fresh_id(api_id, 6), parent_id, part)
        self.tables.insert_resource(api_id, row)
        resources[row.id] = row
        return _render_resource(row, resource_paths(resources)[row.id], None)

    def delete(self, api_id: str, resource_id: str) -> None:
        """DeleteResource: the resource, its descendants and their methods."""
        self.tables.api_or_fail(api_id)
        row = self.tables.resource_or_fail(api_id, resource_id)
        if row.parent_id is None:
            raise err.bad_request(err.ROOT_DELETE)
        self.tables.delete_resource(api_id, resource_id)

    def ensure_path(self, api_id: str, path: str) -> str:
        """The id of the resource at ``path``, creating missing ones (for imports)."""
        resources = self.tables.resources(api_id)
        current = next(r.id for r in resources.values() if r.parent_id is None)
        for part in (p for p in path.strip("/").split("/") if p):
            child = next(
                (r for r in resources.values() if r.parent_id == current and r.path_part == part),
                None,
            )
            if child is None:
                self._check_sibling_rules(resources, current, part)
                child = ResourceRow(self._fresh_id(api_id, 6), current, part)
                self.tables.insert_resource(api_id, child)
                resources[child.id] = child
            current = child.id
        return current

    def clear(self, api_id: str) -> None:
        """Remove every resource but the root, and the root's methods (import overwrite)."""
        for row in self.tables.resources(api_id).values():
            if row.parent_id is None:
                self.tables.delete_methods_of(api_id, row.id)
            else:
                self.tables.delete_resource(api_id, row.id)

    def render_all(self, api_id: str, embed_methods: bool) -> list[dict[str, Any]]:
        """Every ``Resource`` of the API, root first, then by path."""
        self.tables.api_or_fail(api_id)
        resources = self.tables.resources(api_id)
        paths = resource_paths(resources)
        methods = self.tables.methods(api_id)
        ordered = sorted(resources.values(), key=lambda r: paths[r.id])
        return [
            _render_resource(r, paths[r.id], _methods_view(methods.get(r.id), embed_methods))
            for r in ordered
        ]

    def render_one(self, api_id: str, resource_id: str, embed_methods: bool) -> dict[str, Any]:
        self.tables.api_or_fail(api_id)
        row = self.tables.resource_or_fail(api_id, resource_id)
        paths = resource_paths(self.tables.resources(api_id))
        methods = self.tables.methods(api_id).get(resource_id)
        return _render_resource(row, paths[row.id], _methods_view(methods, embed_methods))

    # -- methods and integrations --------------------------------------------------------------

    def put_method(
        self, api_id: str, resource_id: str, http_method: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PutMethod: a new Method (an existing one is a ConflictException)."""
        self.tables.api_or_fail(api_id)
        self.tables.resource_or_fail(api_id, resource_id)
        verb = valid.http_method(http_method)
        if self.tables.method(api_id, resource_id, verb) is not None:
            raise err.conflict(err.METHOD_EXISTS)
        method = new_method(verb, fields)
        self.tables.put_method(api_id, resource_id, method)
        return method

    def put_integration(
        self, api_id: str, resource_id: str, http_method: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PutIntegration: set (or replace) the integration of an existing Method."""
        self.tables.api_or_fail(api_id)
        method = self.tables.method_or_fail(api_id, resource_id, http_method.upper())
        integration = valid.integration(fields, resource_id)
        method["methodIntegration"] = integration
        self.tables.put_method(api_id, resource_id, method)
        return integration

    def define_method(
        self,
        api_id: str,
        resource_id: str,
        http_method: str,
        authorization_type: str,
        integration: Mapping[str, Any] | None,
    ) -> None:
        """Create or replace a Method and its integration in one step (for imports)."""
        method = new_method(http_method, {"authorizationType": authorization_type})
        if integration is not None:
            method["methodIntegration"] = valid.integration(integration, resource_id)
        self.tables.put_method(api_id, resource_id, method)

    # -- internals -----------------------------------------------------------------------------

    def _fresh_id(self, api_id: str, length: int) -> str:
        candidate = self.new_id(length)
        while self.tables.resource_id_taken(api_id, candidate):
            candidate = self.new_id(length)
        return candidate

    @staticmethod
    def _check_sibling_rules(
        resources: Mapping[str, ResourceRow], parent_id: str, part: str
    ) -> None:
        parent = resources[parent_id]
        if parent.path_part and parent.path_part.endswith("+}"):
            raise err.bad_request(
                "Cannot create a child of a resource with a greedy path variable: "
                f"{parent.path_part}"
            )
        for sibling in resources.values():
            if sibling.parent_id != parent_id:
                continue
            if sibling.path_part == part:
                raise err.conflict(
                    f"Another resource with the same parent already has this name: {part}"
                )
            if part.startswith("{") and str(sibling.path_part).startswith("{"):
                raise err.bad_request(
                    f"A sibling ({sibling.path_part}) of this resource already has a variable "
                    "path part -- only one is allowed"
                )


def new_method(http_method: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A Method in the stored (and returned) shape, without integration."""
    method: dict[str, Any] = {
        "httpMethod": valid.http_method(http_method),
        "authorizationType": valid.authorization_type(fields.get("authorizationType")),
        "apiKeyRequired": bool(fields.get("apiKeyRequired", False)),
    }
    for key in _METHOD_OPTIONALS:
        if fields.get(key) is not None:
            method[key] = fields[key]
    return method


def _methods_view(
    methods: Mapping[str, dict[str, Any]] | None, embed: bool
) -> dict[str, dict[str, Any]] | None:
    if not methods:
        return None
    return {verb: (dict(m) if embed else {}) for verb, m in sorted(methods.items())}


def _render_resource(
    row: ResourceRow, path: str, methods: dict[str, dict[str, Any]] | None
) -> dict[str, Any]:
    resource: dict[str, Any] = {"id": row.id}
    if row.parent_id is not None:
        resource["parentId"] = row.parent_id
        resource["pathPart"] = row.path_part
    resource["path"] = path
    if methods:
        resource["resourceMethods"] = methods
    return resource
