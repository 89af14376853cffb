"""Applying a parsed OpenAPI definition to a REST API (ImportRestApi / PutRestApi)."""

from __future__ import annotations

from typing import Any

from apicanary.engine.apigateway.openapi import ImportedApi
from apicanary.engine.apigateway.resources import ResourceOps


def definition_api_fields(definition: ImportedApi) -> dict[str, Any]:
    """The RestApi fields a definition sets: ``name``, ``description``, ``binaryMediaTypes``."""
    fields: dict[str, Any] = {"binaryMediaTypes": list(definition.binary_media_types)}
    if definition.title:
        fields["name"] = definition.title
    if definition.description is not None:
        fields["description"] = definition.description
    return fields


def apply_definition(
    ops: ResourceOps, api_id: str, definition: ImportedApi, *, overwrite: bool
) -> None:
    """Create the definition's resources and methods under ``api_id``.

    ``overwrite`` first removes every resource (and the root's methods); otherwise
    (merge) a method the definition names replaces the existing one, others stay.
    """
    if overwrite:
        ops.clear(api_id)
    for path in definition.paths:
        ops.ensure_path(api_id, path)
    for method in definition.methods:
        resource_id = ops.ensure_path(api_id, method.path)
        ops.define_method(
            api_id, resource_id, method.http_method, method.authorization_type, method.integration
        )
