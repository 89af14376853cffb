"""The one OpenAPI reader: the paths and operations of an OpenAPI 3 / Swagger 2 definition.

Two places read API definitions, and both read them through here: the SAM loader (an API's
``DefinitionBody`` or ``DefinitionUri``, :mod:`apicanary.project.sam_apis`) and the engine's
ImportRestApi / PutRestApi (:mod:`apicanary.engine.apigateway.importer`). This module reads the
document's shape — every ``paths.<path>``, its operations (``x-amazon-apigateway-any-method``
is ``ANY``) and each operation's ``x-amazon-apigateway-integration`` object as written — and
each caller interprets the integration by its own rules: the loader resolves intrinsics and
checks what the local engine runs, ImportRestApi applies PutIntegration's validation.

Keys that are not operations (``parameters``, ``summary``...) are skipped; ``basePath`` and
``servers`` are not read (AWS's default ``basepath=ignore``). A path item or an operation that
is null counts as empty; anything else that is not an object is an error. Errors are
:class:`~apicanary.errors.TemplateError` worded ``<location>: <problem>``, where the location
starts with the caller's name for the document (a template property path, or nothing for a
request body).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
import yaml

from apicanary.errors import TemplateError
from apicanary.project.fields import as_mapping, child, fail, show

INTEGRATION_KEY: Final = "x-amazon-apigateway-integration"
BINARY_KEY: Final = "x-amazon-apigateway-binary-media-types"
#: OpenAPI operation keys → API Gateway HTTP methods.
METHODS: Final = {
    "get": "GET",
    "put": "PUT",
    "post": "POST",
    "delete": "DELETE",
    "options": "OPTIONS",
    "head": "HEAD",
    "patch": "PATCH",
    "x-amazon-apigateway-any-method": "ANY",
}


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path, with its integration object as written (``None``: none)."""

    path: str
    method: str
    location: str  # where the operation is in the document, for error messages
    integration: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class Definition:
    """Every path of a definition (those without operations too) and every operation."""

    paths: tuple[str, ...]
    operations: tuple[Operation, ...]


def load_document(body: bytes) -> Mapping[str, Any]:
    """Parse a JSON or YAML definition that declares ``openapi: 3.x`` or ``swagger: 2.0``."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        raise TemplateError("the definition is empty")
    document: Any
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TemplateError(f"the definition is not JSON nor YAML ({exc})") from None
    if not isinstance(document, Mapping):
        raise TemplateError("the definition must be an object")
    if not (str(document.get("openapi", "")).startswith("3") or document.get("swagger") == "2.0"):
        raise TemplateError("the definition must declare 'openapi: 3.x' or 'swagger: 2.0'")
    return document


def read_definition(document: Mapping[str, Any], location: str) -> Definition:
    """The paths and operations of ``document``, found at ``location`` (for errors)."""
    paths_location = child(location, "paths")
    paths = as_mapping(document.get("paths") or {}, paths_location)
    operations: list[Operation] = []
    for path, item in paths.items():
        item_location = child(paths_location, path)
        if not path.startswith("/"):
            raise fail(item_location, f"path {show(path)} must start with '/'")
        for key, operation in as_mapping(item or {}, item_location).items():
            method = METHODS.get(key.lower())
            if method is None:
                continue
            op_location = child(item_location, key)
            fields = as_mapping(operation or {}, op_location)
            integration = fields.get(INTEGRATION_KEY)
            if integration is not None:
                integration = as_mapping(integration, child(op_location, INTEGRATION_KEY))
            operations.append(Operation(path, method, op_location, integration))
    return Definition(tuple(paths), tuple(operations))
