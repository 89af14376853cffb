"""Reading an OpenAPI 3 / Swagger 2 definition (JSON or YAML) for ImportRestApi / PutRestApi.

Only what a REST API needs is read: ``info.title`` / ``info.description``, the paths and
their operations (``x-amazon-apigateway-any-method`` is ``ANY``), each operation's
``x-amazon-apigateway-integration`` (``type`` in any case, ``uri``, ``httpMethod``,
``timeoutInMillis``...) and ``x-amazon-apigateway-binary-media-types``. ``basePath`` /
``servers`` are ignored, as with AWS's default ``basepath=ignore``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from apicanary.engine.apigateway import errors as err
from apicanary.engine.apigateway import validate as valid

_OPERATIONS = {
    "get": "GET",
    "put": "PUT",
    "post": "POST",
    "delete": "DELETE",
    "options": "OPTIONS",
    "head": "HEAD",
    "patch": "PATCH",
    "x-amazon-apigateway-any-method": "ANY",
}
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
    document = _load(body)
    if not (str(document.get("openapi", "")).startswith("3") or document.get("swagger") == "2.0"):
        raise err.bad_request(
            "Invalid OpenAPI input: the document must declare 'openapi: 3.x' or 'swagger: 2.0'"
        )
    info = document.get("info") if isinstance(document.get("info"), Mapping) else {}
    assert isinstance(info, Mapping)
    paths = document.get("paths") or {}
    if not isinstance(paths, Mapping):
        raise err.bad_request("Invalid OpenAPI input: 'paths' must be an object")
    methods: list[ImportedMethod] = []
    for path, item in paths.items():
        _check_path(path)
        if not isinstance(item, Mapping):
            continue
        for key, operation in item.items():
            method = _OPERATIONS.get(str(key).lower())
            if method is None or not isinstance(operation, Mapping):
                continue
            methods.append(ImportedMethod(path, method, "NONE", _integration(operation)))
    media = document.get("x-amazon-apigateway-binary-media-types") or []
    if not isinstance(media, list) or not all(isinstance(m, str) for m in media):
        raise err.bad_request("x-amazon-apigateway-binary-media-types must be a list of strings")
    title = info.get("title")
    description = info.get("description")
    return ImportedApi(
        title=str(title) if title is not None else None,
        description=str(description) if description is not None else None,
        binary_media_types=tuple(media),
        paths=tuple(str(p) for p in paths),
        methods=tuple(methods),
    )


def _load(body: bytes) -> Mapping[str, Any]:
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        raise err.bad_request("Invalid OpenAPI input: the body is empty")
    document: Any
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise err.bad_request(f"Invalid OpenAPI input: not JSON nor YAML ({exc})") from None
    if not isinstance(document, Mapping):
        raise err.bad_request("Invalid OpenAPI input: the document must be an object")
    return document


def _check_path(path: Any) -> None:
    if not isinstance(path, str) or not path.startswith("/"):
        raise err.bad_request(f"Invalid OpenAPI input: path {path!r} must start with /")
    for part in path.strip("/").split("/"):
        if part:
            valid.path_part(part)


def _integration(operation: Mapping[str, Any]) -> Mapping[str, Any] | None:
    ext = operation.get("x-amazon-apigateway-integration")
    if not isinstance(ext, Mapping):
        return None
    fields: dict[str, Any] = {"type": str(ext.get("type", "")).upper()}
    for key in _INTEGRATION_KEYS:
        if ext.get(key) is not None:
            fields[key] = ext[key]
    return fields
