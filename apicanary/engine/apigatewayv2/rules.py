"""HTTP API (apigatewayv2) input rules and error answers, as pure functions.

Codes and limits come from botocore's ``apigatewayv2`` model (``IntegerWithLengthBetween50And
30000`` for ``timeoutInMillis``, the operations' error shapes). The message strings are
``[Unverified]`` (no AWS recording was found); each names the field, the value and what is
allowed. ``docs/aws-semantics.md`` ("HTTP APIs") lists them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from apicanary.arns import parse_function_arn, parse_integration_uri
from apicanary.errors import AwsApiError

#: Route key methods (``ANY`` matches every method).
ROUTE_METHODS: Final = ("ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
DEFAULT_ROUTE: Final = "$default"
DEFAULT_STAGE: Final = "$default"
PAYLOAD_VERSIONS: Final = ("1.0", "2.0")
INTEGRATION_TYPES: Final = ("AWS_PROXY", "HTTP_PROXY", "AWS", "HTTP", "MOCK")
MIN_TIMEOUT_MS: Final = 50
MAX_TIMEOUT_MS: Final = 30_000
_SEGMENT = re.compile(r"[A-Za-z0-9._~:@!$&'()*,;=-]+|\{[A-Za-z0-9_.-]+\+?\}")
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
_VAR_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
_VAR_VALUE = re.compile(r"[A-Za-z0-9\-._~:/?#&=,]{1,512}")


def bad_request(message: str) -> AwsApiError:
    return AwsApiError("BadRequestException", message, 400)


def not_found(message: str, resource_type: str) -> AwsApiError:
    return AwsApiError("NotFoundException", message, 404, {"resourceType": resource_type})


def conflict(message: str) -> AwsApiError:
    return AwsApiError("ConflictException", message, 409)


def api_not_found(api_id: str) -> AwsApiError:
    return not_found(f"Invalid API identifier specified {api_id}", "Api")


def required_str(fields: Mapping[str, Any], key: str, *, max_len: int = 1024) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value:
        raise bad_request(f"Invalid input: '{key}' is required (got {value!r})")
    return check_str(value, key, max_len=max_len)


def check_str(value: Any, key: str, *, max_len: int = 1024) -> str:
    if not isinstance(value, str):
        raise bad_request(f"Invalid input: '{key}' must be a string (got {value!r})")
    if len(value) > max_len:
        raise bad_request(f"Invalid input: '{key}' is {len(value)} characters, at most {max_len}")
    return value


def split_route_key(route_key: str) -> tuple[str, str]:
    """``(method, path)`` of a route key; ``("ANY", "$default")`` for ``$default``.

    A key is ``$default`` or ``METHOD /path`` with ``METHOD`` in :data:`ROUTE_METHODS`, a path
    of non-empty segments, and a greedy ``{name+}`` only as the last segment.
    """
    if route_key == DEFAULT_ROUTE:
        return "ANY", DEFAULT_ROUTE
    method, _, path = route_key.partition(" ")
    allowed = f"'$default' or 'METHOD /path' with METHOD one of {', '.join(ROUTE_METHODS)}"
    if method not in ROUTE_METHODS or not path.startswith("/"):
        raise bad_request(f"Invalid route key {route_key!r}: must be {allowed}")
    segments = path.strip("/").split("/") if path != "/" else []
    for index, segment in enumerate(segments):
        if not _SEGMENT.fullmatch(segment):
            raise bad_request(f"Invalid route key {route_key!r}: path segment {segment!r}")
        if segment.endswith("+}") and index != len(segments) - 1:
            raise bad_request(
                f"Invalid route key {route_key!r}: a greedy path variable must be the last segment"
            )
    return method, path


def integration_function(uri: str) -> str | None:
    """The function reference (name or ARN text) a Lambda ``integrationUri`` invokes.

    HTTP APIs accept the function (or alias) ARN itself or the Lambda invocation URI
    (``arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations``).
    """
    parsed = parse_integration_uri(uri)
    if parsed is not None:
        return parsed.function
    if parse_function_arn(uri) is not None:
        return uri
    return None


def check_integration(fields: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """The checked integration fields of a Create (``partial=False``) or Update call."""
    out: dict[str, Any] = {}
    if "integrationType" in fields or not partial:
        kind = required_str(fields, "integrationType").upper()
        if kind not in INTEGRATION_TYPES:
            raise bad_request(
                f"Invalid integration type {kind!r}: must be one of {', '.join(INTEGRATION_TYPES)}"
            )
        out["integrationType"] = kind
    if "integrationUri" in fields:
        out["integrationUri"] = check_str(fields["integrationUri"], "integrationUri", max_len=2048)
    if "payloadFormatVersion" in fields:
        version = fields["payloadFormatVersion"]
        if version not in PAYLOAD_VERSIONS:
            raise bad_request(f"Invalid payload format version {version!r}: must be 1.0 or 2.0")
        out["payloadFormatVersion"] = version
    if "timeoutInMillis" in fields:
        timeout = fields["timeoutInMillis"]
        if (
            not isinstance(timeout, int)
            or isinstance(timeout, bool)
            or not MIN_TIMEOUT_MS <= timeout <= MAX_TIMEOUT_MS
        ):
            raise bad_request(
                f"Invalid timeoutInMillis {timeout!r}: must be between {MIN_TIMEOUT_MS} and "
                f"{MAX_TIMEOUT_MS} milliseconds"
            )
        out["timeoutInMillis"] = timeout
    for key in ("integrationMethod", "description", "connectionType", "integrationSubtype"):
        if key in fields:
            out[key] = check_str(fields[key], key)
    return out


def check_lambda_integration(integration: Mapping[str, Any]) -> None:
    """An ``AWS_PROXY`` integration must name a Lambda function and a payload format."""
    if integration.get("integrationType") != "AWS_PROXY":
        return
    uri = integration.get("integrationUri")
    if not isinstance(uri, str) or integration_function(uri) is None:
        raise bad_request(
            f"Invalid integrationUri {uri!r}: an AWS_PROXY integration needs a Lambda function "
            "ARN or invocation URI"
        )
    if integration.get("payloadFormatVersion") not in PAYLOAD_VERSIONS:
        raise bad_request(
            "Invalid payloadFormatVersion: an AWS_PROXY integration needs '1.0' or '2.0' "
            f"(got {integration.get('payloadFormatVersion')!r})"
        )


def check_stage_name(name: Any) -> str:
    if name == DEFAULT_STAGE:
        return DEFAULT_STAGE
    if not isinstance(name, str) or not _STAGE_NAME.fullmatch(name):
        raise bad_request(
            f"Invalid stage name {name!r}: must be '$default' or 1-128 letters, digits, '-' or '_'"
        )
    return name


def check_stage_variables(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise bad_request(f"Invalid stageVariables {value!r}: must be an object")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _VAR_KEY.fullmatch(key):
            raise bad_request(f"Invalid stage variable name {key!r}: 1-64 letters, digits or '_'")
        if not isinstance(item, str) or not _VAR_VALUE.fullmatch(item):
            raise bad_request(
                f"Invalid stage variable value {item!r} for {key!r}: 1-512 characters from "
                "A-Z a-z 0-9 - . _ ~ : / ? # & = ,"
            )
        out[key] = item
    return out


def check_bool(fields: Mapping[str, Any], key: str) -> bool:
    value = fields.get(key)
    if not isinstance(value, bool):
        raise bad_request(f"Invalid input: '{key}' must be a boolean (got {value!r})")
    return value
