"""UpdateRestApi: JSON-patch operations on a REST API's own fields, sans I/O.

:func:`apply_rest_api_patch` takes the stored API document and returns a new one, or raises
the error AWS answers with (docs/aws-semantics.md, "UpdateRestApi"); a list with one bad
operation changes nothing. Every ``op`` is checked first: values outside JSON patch's set are
one ``ValidationException`` listing each bad operation, as AWS concatenates them.

Supported paths (others: ``Invalid patch path <path>``):

* ``/binaryMediaTypes/<type>`` (``/`` written ``~1``): the list is patched like an object
  keyed by its entries (AWS-recorded): ``add`` appends the type named in the *path* (the
  value is ignored), ``replace`` removes that type and appends ``value``, ``remove`` removes
  it. ``/binaryMediaTypes`` itself is not a valid path.
* ``/name``, ``/description``, ``/apiKeySource`` (``HEADER``/``AUTHORIZER``), ``/policy``,
  ``/disableExecuteApiEndpoint``, ``/endpointConfiguration/types/0``
  (``EDGE``/``REGIONAL``/``PRIVATE``): ``replace``; ``/description`` may also be removed.
* ``/minimumCompressionSize``: ``replace`` only; an empty or absent value disables it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from apicanary.engine.apigateway import errors as err
from apicanary.engine.apigateway import validate as valid
from apicanary.engine.apigateway.patch import unescape
from apicanary.errors import AwsApiError

__all__ = ["PATCH_OPS", "apply_rest_api_patch", "check_ops"]

#: The enum of ``PatchOperation.op``, in the order AWS lists it in its validation message.
PATCH_OPS = ("add", "remove", "move", "test", "replace", "copy")
MAX_COMPRESSION_SIZE = 10_485_760
_API_KEY_SOURCES = ("HEADER", "AUTHORIZER")
_ENDPOINT_TYPES = ("EDGE", "REGIONAL", "PRIVATE")
_BINARY = "/binaryMediaTypes/"


def apply_rest_api_patch(
    api: Mapping[str, Any], operations: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """``api`` with ``operations`` applied in order; raises on the first invalid operation."""
    check_ops(operations, "updateRestApiInput")
    patched = copy.deepcopy(dict(api))
    for operation in operations:
        _apply(patched, operation)
    return patched


def check_ops(operations: Sequence[Mapping[str, Any]], input_name: str) -> None:
    """AWS's ``ValidationException`` for every ``op`` outside :data:`PATCH_OPS`, if any;
    ``input_name`` is the operation's input shape as AWS names it (``updateRestApiInput``)."""
    bad = [
        f"Value '{op.get('op')}' at '{input_name}.patchOperations.{i}.member.op' failed "
        f"to satisfy constraint: Member must satisfy enum value set: [{', '.join(PATCH_OPS)}]"
        for i, op in enumerate(operations, start=1)
        if op.get("op") not in PATCH_OPS
    ]
    if bad:
        count = f"{len(bad)} validation error{'s' if len(bad) > 1 else ''} detected: "
        raise AwsApiError("ValidationException", count + "; ".join(bad), 400)


def _apply(api: dict[str, Any], operation: Mapping[str, Any]) -> None:
    op = operation["op"]
    path = operation.get("path")
    value = operation.get("value")
    if not isinstance(path, str) or not path.startswith("/"):
        raise err.bad_request(f"Invalid patch path {path}")
    if path.startswith(_BINARY) and len(path) > len(_BINARY):
        _patch_binary(api, op, unescape(path[len(_BINARY) :]), value, path)
    elif path == "/minimumCompressionSize":
        _only_replace(op)
        _set_compression(api, value)
    elif path == "/description" and op == "remove":
        api.pop("description", None)
    elif path in ("/name", "/description", "/policy", "/apiKeySource"):
        _only_replace(op)
        api[path[1:]] = _field_value(path, value)
    elif path == "/disableExecuteApiEndpoint":
        _only_replace(op)
        api["disableExecuteApiEndpoint"] = valid.boolean(value, path)
    elif path == "/endpointConfiguration/types/0":
        _only_replace(op)
        if value not in _ENDPOINT_TYPES:
            raise err.bad_request(
                f"Invalid endpoint type {value!r}: it must be one of {', '.join(_ENDPOINT_TYPES)}"
            )
        configuration = dict(api.get("endpointConfiguration") or {})
        configuration["types"] = [value]
        api["endpointConfiguration"] = configuration
    else:
        raise err.bad_request(f"Invalid patch path {path}")


def _patch_binary(api: dict[str, Any], op: str, media: str, value: Any, path: str) -> None:
    types = list(api.get("binaryMediaTypes") or [])
    if op == "add":
        if media not in types:
            types.append(media)
    elif op == "remove":
        types = [t for t in types if t != media]
    elif op == "replace":
        if not isinstance(value, str) or not value:
            raise err.bad_request(f"Invalid replace value {value!r} for {path}: a media type")
        types = [t for t in types if t != media]
        if value not in types:
            types.append(value)
    else:
        raise err.bad_request(f"Invalid {op} operation with path: {path}")
    api["binaryMediaTypes"] = types


def _only_replace(op: str) -> None:
    if op != "replace":
        raise err.bad_request("Invalid patch operation specified. Must be one of: [replace]")


def _set_compression(api: dict[str, Any], value: Any) -> None:
    if value is None or value == "":
        api.pop("minimumCompressionSize", None)
        return
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = -1
    if not 0 <= size <= MAX_COMPRESSION_SIZE:
        raise err.bad_request(
            f"Invalid minimum compression size, must be between 0 and {MAX_COMPRESSION_SIZE}"
        )
    api["minimumCompressionSize"] = size


def _field_value(path: str, value: Any) -> str:
    if not isinstance(value, str) or (path == "/name" and not value):
        raise err.bad_request(f"Invalid value {value!r} for {path}: a non-empty string is required")
    if path == "/apiKeySource" and value not in _API_KEY_SOURCES:
        raise err.bad_request(
            f"Invalid API key source {value!r}: it must be one of {', '.join(_API_KEY_SOURCES)}"
        )
    return value
