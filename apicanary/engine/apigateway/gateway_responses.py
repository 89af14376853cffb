"""Gateway responses of a REST API (PutGatewayResponse and friends), sans I/O.

A REST API always has all 21 gateway response types; an untouched one is a *default
response*. Rules (docs/aws-semantics.md, "Gateway responses"; AWS-recorded unless noted):

* A default response has ``defaultResponse: true``, ``responseParameters: {}``, the template
  ``{"application/json": "{\\"message\\":$context.error.messageString}"}`` and the type's own
  status code; ``DEFAULT_4XX`` and ``DEFAULT_5XX`` have no ``statusCode``.
* Once ``DEFAULT_4XX`` / ``DEFAULT_5XX`` is customized, every *default* response of that
  class shows its status code, parameters and templates (still ``defaultResponse: true``);
  customized responses keep their own.
* PutGatewayResponse replaces the type's customization as a whole: an omitted ``statusCode``
  is the type's own default (not ``DEFAULT_5XX``'s), omitted templates the default template,
  omitted parameters ``{}``. It answers 201 with ``defaultResponse: false``.
* DeleteGatewayResponse of a type that is not customized: 404 ``Gateway response type not
  defined on api``; an unknown type: ``ValidationException`` naming the enum.
* UpdateGatewayResponse patches the response as GetGatewayResponse shows it (a default one
  becomes customized): ``replace /statusCode`` (``add``/``remove``: ``Invalid patch path
  /statusCode``); ``add``/``replace``/``remove`` of ``/responseParameters/<name>`` and
  ``/responseTemplates/<type>`` (``~1`` for ``/``); ``replace`` of a parameter the response
  does not have: 404 ``Invalid parameter name specified``; a null or empty value: ``Invalid
  null or empty value in responseParameters`` (or ``responseTemplates``); no path: ``Invalid
  patch path null``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from apicanary.engine.apigateway import errors as err
from apicanary.engine.apigateway.patch import unescape
from apicanary.engine.apigateway.restapi_patch import check_ops
from apicanary.errors import AwsApiError

__all__ = [
    "RESPONSE_TYPES",
    "customized",
    "patched",
    "render",
    "render_all",
    "response_type",
]

#: The ``GatewayResponseType`` enum, in the order AWS's validation message lists it.
RESPONSE_TYPES = (
    "REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND", "AUTHORIZER_CONFIGURATION_ERROR",
    "MISSING_AUTHENTICATION_TOKEN", "BAD_REQUEST_BODY", "INVALID_SIGNATURE", "INVALID_API_KEY",
    "BAD_REQUEST_PARAMETERS", "AUTHORIZER_FAILURE", "UNAUTHORIZED", "INTEGRATION_TIMEOUT",
    "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX", "WAF_FILTERED", "QUOTA_EXCEEDED", "THROTTLED",
    "API_CONFIGURATION_ERROR", "UNSUPPORTED_MEDIA_TYPE", "INTEGRATION_FAILURE", "EXPIRED_TOKEN",
)  # fmt: skip

_DEFAULT_STATUS: Mapping[str, str] = {
    "ACCESS_DENIED": "403",
    "API_CONFIGURATION_ERROR": "500",
    "AUTHORIZER_CONFIGURATION_ERROR": "500",
    "AUTHORIZER_FAILURE": "500",
    "BAD_REQUEST_BODY": "400",
    "BAD_REQUEST_PARAMETERS": "400",
    "EXPIRED_TOKEN": "403",
    "INTEGRATION_FAILURE": "504",
    "INTEGRATION_TIMEOUT": "504",
    "INVALID_API_KEY": "403",
    "INVALID_SIGNATURE": "403",
    "MISSING_AUTHENTICATION_TOKEN": "403",
    "QUOTA_EXCEEDED": "429",
    "REQUEST_TOO_LARGE": "413",
    "RESOURCE_NOT_FOUND": "404",
    "THROTTLED": "429",
    "UNAUTHORIZED": "401",
    "UNSUPPORTED_MEDIA_TYPE": "415",
    "WAF_FILTERED": "403",
}
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
_STATUS = re.compile(r"[1-5]\d\d")


def response_type(value: str) -> str:
    """A ``GatewayResponseType``, else AWS's ``ValidationException``."""
    if value not in RESPONSE_TYPES:
        raise AwsApiError(
            "ValidationException",
            f"1 validation error detected: Value '{value}' at 'responseType' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(RESPONSE_TYPES)}]",
            400,
        )
    return value


def customized(kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The stored customization PutGatewayResponse makes of ``fields`` (validated)."""
    status = fields.get("statusCode")
    if status is None:
        status = _DEFAULT_STATUS.get(kind)
    elif not isinstance(status, str) or not _STATUS.fullmatch(status):
        raise AwsApiError(
            "ValidationException",
            f"1 validation error detected: Value '{status}' at 'statusCode' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [1-5]\\d\\d",
            400,
        )
    stored: dict[str, Any] = {
        "responseType": kind,
        "responseParameters": _string_map(fields.get("responseParameters"), "responseParameters"),
        "responseTemplates": _string_map(fields.get("responseTemplates"), "responseTemplates")
        or {"application/json": DEFAULT_TEMPLATE},
    }
    if status is not None:
        stored["statusCode"] = status
    return stored


def render(kind: str, custom: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ``GatewayResponse`` of ``kind`` given the API's customizations (type -> stored)."""
    own = custom.get(kind)
    if own is not None:
        return {**_copy(own), "defaultResponse": False}
    answer: dict[str, Any] = {
        "responseType": kind,
        "responseParameters": {},
        "responseTemplates": {"application/json": DEFAULT_TEMPLATE},
        "defaultResponse": True,
    }
    status = _DEFAULT_STATUS.get(kind)
    if status is not None:
        answer["statusCode"] = status
        family = custom.get("DEFAULT_4XX" if status.startswith("4") else "DEFAULT_5XX")
        if family is not None:
            inherited = _copy(family)
            answer["responseParameters"] = inherited["responseParameters"]
            answer["responseTemplates"] = inherited["responseTemplates"]
            answer["statusCode"] = inherited.get("statusCode", status)
    return answer


def render_all(custom: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every type's ``GatewayResponse``, sorted by type."""
    return [render(kind, custom) for kind in sorted(RESPONSE_TYPES)]


def patched(
    kind: str, custom: Mapping[str, Mapping[str, Any]], operations: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The stored customization UpdateGatewayResponse makes (see the module docstring)."""
    check_ops(operations, "updateGatewayResponseInput")
    current = render(kind, custom)
    current.pop("defaultResponse")
    for operation in operations:
        _patch(current, operation)
    return current


def _patch(response: dict[str, Any], operation: Mapping[str, Any]) -> None:
    op, path, value = operation["op"], operation.get("path"), operation.get("value")
    if not isinstance(path, str):
        raise err.bad_request(f"Invalid patch path {'null' if path is None else path}")
    if path == "/statusCode" and op == "replace":
        if not isinstance(value, str) or not _STATUS.fullmatch(value):
            raise err.bad_request(f"Invalid status code {value!r}: it must be 100-599")
        response["statusCode"] = value
        return
    section, _, name = path[1:].partition("/")
    if section not in ("responseParameters", "responseTemplates") or not name:
        raise err.bad_request(f"Invalid patch path {path}")
    values: dict[str, str] = response[section]
    key = unescape(name)
    if op == "remove":
        values.pop(key, None)
    elif op in ("add", "replace"):
        if not isinstance(value, str) or not value:
            raise err.bad_request(f"Invalid null or empty value in {section}")
        if op == "replace" and key not in values:
            raise err.not_found("Invalid parameter name specified")
        values[key] = value
    else:
        raise err.bad_request(f"Invalid {op} operation with path: {path}")


def not_defined() -> AwsApiError:
    return err.not_found("Gateway response type not defined on api")


def _copy(stored: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(stored)
    result["responseParameters"] = dict(stored.get("responseParameters") or {})
    result["responseTemplates"] = dict(stored.get("responseTemplates") or {})
    return result


def _string_map(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise err.bad_request(f"Invalid {name}: a map of strings to strings is required")
    return dict(value)
