"""ImportRestApi / PutRestApi: an OpenAPI 3 / Swagger 2 definition (JSON or YAML) applied to a
REST API.

The document is read by the one OpenAPI reader, :mod:`apicanary.project.openapi`; this module
takes what a REST API needs from it: ``info.title`` / ``info.description``, every path (a
resource), every operation (a method, authorization ``NONE``) with the PutIntegration fields of
its ``x-amazon-apigateway-integration`` (``type`` in any case, ``uri``, ``httpMethod``,
``timeoutInMillis``...), and ``x-amazon-apigateway-binary-media-types``. Integration fields are
validated as PutIntegration validates them, when the method is defined.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apicanary.engine.apigateway import errors as err
from apicanary.engine.apigateway import validate as valid
from apicanary.engine.apigateway.resources import ResourceOps
from apicanary.errors import TemplateError
from apicanary.project.openapi import BINARY_KEY, load_document, read_definition

_INTEGRATION_KEYS = (
    "uri",
    "httpMethod",
    "timeoutInMillis",
    "passthroughBehavior",
    "contentHandling",
    "requestParameters",
    "requestTemplates",
    "credentials",
    "cacheNamespace",
    "cacheKeyParameters",
    "connectionType",
)


@dataclass(frozen=True, slots=True)
class ImportedMethod:
    """One operation: its path, method, and PutIntegration-style fields (or ``None``)."""

    path: str
    http_method: str
    authorization_type: str
    integration: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class ImportedApi:
    """What a definition says about a REST API."""

    title: str | None
    description: str | None
    binary_media_types: tuple[str, ...]
    paths: tuple[str, ...]
    methods: tuple[ImportedMethod, ...]


def parse_definition(body: bytes) -> ImportedApi:
    """Parse ``body``; raise ``BadRequestException`` naming what is wrong."""
    try:
        document = load_document(body)
        definition = read_definition(document, "")
    except TemplateError as error:
        raise err.bad_request(f"Invalid OpenAPI input: {error.message}") from None
    for path in definition.paths:
        for part in path.strip("/").split("/"):
            if part:
                valid.path_part(part)
    media = document.get(BINARY_KEY) or []
    if not isinstance(media, list) or not all(isinstance(m, str) for m in media):
        raise err.bad_request(f"{BINARY_KEY} must be a list of strings")
    info = document.get("info")
    title = info.get("title") if isinstance(info, Mapping) else None
    description = info.get("description") if isinstance(info, Mapping) else None
    return ImportedApi(
        title=str(title) if title is not None else None,
        description=str(description) if description is not None else None,
        binary_media_types=tuple(media),
        paths=definition.paths,
        methods=tuple(
            ImportedMethod(op.path, op.method, "NONE", _integration_fields(op.integration))
            for op in definition.operations
        ),
    )


def _integration_fields(integration: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if integration is None:
        return None
    fields: dict[str, Any] = {"type": str(integration.get("type", "")).upper()}
    for key in _INTEGRATION_KEYS:
        if integration.get(key) is not None:
            fields[key] = integration[key]
    return fields


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
