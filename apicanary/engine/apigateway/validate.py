"""Validation of API Gateway inputs: path parts, methods, stage names, variables, canary
percentages and integrations (reference/aws-semantics.md §2.1, §2.2).

Every function either returns the normalised value or raises the ``AwsApiError`` API Gateway
would answer with. Messages not recorded from AWS name the value and the limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from apicanary.arns import parse_function_arn, parse_integration_uri
from apicanary.engine.apigateway import errors as err

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY")
AUTHORIZATION_TYPES = ("NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS")
INTEGRATION_TYPES = ("HTTP", "AWS", "MOCK", "HTTP_PROXY", "AWS_PROXY")

MAX_STAGE_NAME = 128
MAX_VARIABLE_NAME = 64
MAX_VARIABLE_VALUE = 512
MAX_VARIABLES = 100
MAX_STAGES_PER_API = 10
MIN_TIMEOUT_MS = 50
MAX_TIMEOUT_MS = 29_000
DEFAULT_TIMEOUT_MS = 29_000

_PATH_PART = re.compile(r"[A-Za-z0-9._-]+|\{[A-Za-z0-9._-]+\+?\}")
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-]+")
_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_]+")
_VARIABLE_VALUE = re.compile(r"[A-Za-z0-9\-._~:/?#&=,]+")

_STAGE_VAR = r"\$\{stageVariables\.[A-Za-z0-9_]+\}"
_NAME_OR_VAR = re.compile(rf"(?:[A-Za-z0-9_-]|{_STAGE_VAR})+")
_REGION = re.compile(r"[a-z0-9-]+")
_ACCOUNT = re.compile(r"\d{12}")
_ARN = re.compile(r"arn:[^:]+:[^:]+:[^:]*:[^:]*:.+")
_APIGW_ARN = re.compile(r"arn:aws[a-z-]*:apigateway:[a-z0-9-]+:[a-z0-9.-]+:(?:path|action)/.+")


def path_part(value: Any) -> str:
    """A resource's ``pathPart``: ``items``, ``{id}`` or ``{proxy+}``."""
    if not isinstance(value, str) or not value:
        raise err.bad_request(err.PATH_PART_MISSING)
    if not _PATH_PART.fullmatch(value):
        raise err.bad_request(err.PATH_PART_INVALID)
    return value


def http_method(value: str) -> str:
    """An HTTP method of a Method resource (case-insensitive in, upper case out)."""
    upper = value.upper()
    if upper not in HTTP_METHODS:
        raise err.bad_request(
            f"Invalid HttpMethod specified: {value}. Valid options are {','.join(HTTP_METHODS)}"
        )
    return upper


def authorization_type(value: Any) -> str:
    if not isinstance(value, str) or value not in AUTHORIZATION_TYPES:
        raise err.bad_request(
            f"Invalid authorization type specified: {value}. "
            f"Valid options are {','.join(AUTHORIZATION_TYPES)}"
        )
    return value


def stage_name(value: Any) -> str:
    """§2.1: alphanumerics, ``-`` and ``_``, at most 128 characters."""
    if not isinstance(value, str) or not _STAGE_NAME.fullmatch(value):
        raise err.bad_request(f"Stage name only allows a-zA-Z0-9_- (got {value!r})")
    if len(value) > MAX_STAGE_NAME:
        raise err.bad_request(
            f"Stage name is {len(value)} characters long; the limit is {MAX_STAGE_NAME}"
        )
    return value


def variables(values: Any, what: str = "variables") -> dict[str, str]:
    """Stage variables (or canary overrides): §2.1 names, values and count limits."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise err.bad_request(f"{what} must be a map of strings")
    result: dict[str, str] = {}
    for name, value in values.items():
        result[variable_name(name)] = variable_value(name, value)
    variable_count(result, what)
    return result


def variable_name(name: Any) -> str:
    if not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name):
        raise err.bad_request(
            f"Stage variable name {name!r} is invalid: only alphanumerics and underscores "
            "are allowed"
        )
    if len(name) > MAX_VARIABLE_NAME:
        raise err.bad_request(
            f"Stage variable name {name!r} is {len(name)} characters long; "
            f"the limit is {MAX_VARIABLE_NAME}"
        )
    return name


def variable_value(name: str, value: Any) -> str:
    if not isinstance(value, str) or not _VARIABLE_VALUE.fullmatch(value):
        raise err.bad_request(
            f"Stage variable value {value!r} of {name!r} is invalid: values may only contain "
            "alphanumerics and -._~:/?#&=,"
        )
    if len(value) > MAX_VARIABLE_VALUE:
        raise err.bad_request(
            f"Stage variable value of {name!r} is {len(value)} characters long; "
            f"the limit is {MAX_VARIABLE_VALUE}"
        )
    return value


def variable_count(values: Mapping[str, str], what: str = "variables") -> None:
    if len(values) > MAX_VARIABLES:
        raise err.bad_request(
            f"Too many stage {what}: {len(values)}; a stage may have at most {MAX_VARIABLES}"
        )


def percent_traffic(value: Any) -> float:
    """A canary ``percentTraffic``: a number (or numeric string) in [0.0, 100.0]."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise err.bad_request(f"Invalid percentTraffic value: {value!r} is not a number") from None
    if math.isnan(number) or not 0.0 <= number <= 100.0:
        raise err.bad_request(
            f"Canary traffic percentage {value} is out of range: it must be between 0.0 and 100.0"
        )
    return number


def boolean(value: Any, path: str) -> bool:
    """A patch value ``"true"``/``"false"`` (or a JSON bool)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise err.bad_request(f"Invalid boolean value {value!r} for {path}: use true or false")


def lambda_function_of(uri: str) -> str | None:
    """The function ARN (or templated name) inside a Lambda invocation URI, else ``None``."""
    parsed = parse_integration_uri(uri)
    if parsed is None or not _function_target(parsed.function):
        return None
    return parsed.function


def _function_target(text: str) -> bool:
    """A function name or function ARN whose name and qualifier may be stage variables."""
    if _NAME_OR_VAR.fullmatch(text):
        return True
    arn = parse_function_arn(text)
    return (
        arn is not None
        and _REGION.fullmatch(arn.region) is not None
        and _ACCOUNT.fullmatch(arn.account) is not None
        and _NAME_OR_VAR.fullmatch(arn.name) is not None
        and (arn.qualifier is None or _NAME_OR_VAR.fullmatch(arn.qualifier) is not None)
    )


def integration(fields: Mapping[str, Any], resource_id: str) -> dict[str, Any]:
    """Validate a PutIntegration input and return the stored ``Integration`` shape.

    AWS accepts an ``AWS_PROXY`` Lambda integration whose ``httpMethod`` is not ``POST`` and
    fails it only at invocation (500); so do we: the data plane sees the method in the route.
    """
    kind = fields.get("type")
    if kind not in INTEGRATION_TYPES:
        raise err.bad_request(
            f"Invalid integration type specified: {kind}. "
            f"Valid options are {','.join(INTEGRATION_TYPES)}"
        )
    method = fields.get("httpMethod")
    uri = fields.get("uri")
    if kind != "MOCK":
        if not method:
            raise err.bad_request(err.HTTP_METHOD_MISSING)
        method = http_method(str(method))
        _check_uri(kind, uri)
    timeout = fields.get("timeoutInMillis")
    timeout = DEFAULT_TIMEOUT_MS if timeout is None else _timeout(timeout)
    result: dict[str, Any] = {"type": kind}
    if method:
        result["httpMethod"] = method
    if uri:
        result["uri"] = uri
    result["connectionType"] = fields.get("connectionType") or "INTERNET"
    result["passthroughBehavior"] = fields.get("passthroughBehavior") or "WHEN_NO_MATCH"
    result["timeoutInMillis"] = timeout
    result["cacheNamespace"] = fields.get("cacheNamespace") or resource_id
    result["cacheKeyParameters"] = list(fields.get("cacheKeyParameters") or [])
    for key in ("credentials", "requestParameters", "requestTemplates", "contentHandling"):
        if fields.get(key) is not None:
            result[key] = fields[key]
    return result


def _check_uri(kind: str, uri: Any) -> None:
    """AWS's checks of an integration URI, in its order (docs/aws-semantics.md, PutIntegration):
    an ARN at all, then a ``path/`` or ``action/`` resource, then (``AWS_PROXY``) a Lambda
    invocation path naming a function, or a Firehose action."""
    if kind in ("HTTP", "HTTP_PROXY"):
        if not isinstance(uri, str) or not re.match(r"https?://[^/]", uri):
            raise err.bad_request(err.INVALID_HTTP_ENDPOINT)
        return
    if not isinstance(uri, str) or not _ARN.fullmatch(uri):
        raise err.bad_request(err.INVALID_ARN)
    resource = uri.split(":", 5)[5]
    if not resource.startswith(("path/", "action/")):
        raise err.bad_request(err.ARN_WITHOUT_PATH_OR_ACTION)
    if not _APIGW_ARN.fullmatch(uri):
        raise err.bad_request(err.INVALID_ARN)
    lambda_path = ":lambda:path/" in uri
    if kind == "AWS_PROXY":
        if lambda_path and lambda_function_of(uri) is not None:
            return
        if ":firehose:action/" in uri:
            return
        raise err.bad_request(err.AWS_PROXY_NOT_LAMBDA)
    if lambda_path and lambda_function_of(uri) is None:
        raise err.bad_request(
            f"{err.INVALID_ARN}: {uri} is not arn:aws:apigateway:<region>:lambda:path/"
            "2015-03-31/functions/<function-arn>/invocations"
        )


def _timeout(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise err.bad_request(f"Invalid timeoutInMillis value: {value!r}") from None
    if not MIN_TIMEOUT_MS <= number <= MAX_TIMEOUT_MS:
        raise err.bad_request(
            f"Timeout should be between {MIN_TIMEOUT_MS} ms and {MAX_TIMEOUT_MS} ms (got {number})"
        )
    return number
