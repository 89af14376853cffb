"""Lambda proxy events: payload format 1.0 (REST) and 2.0 (HTTP API), sans I/O.

:func:`build_rest_v1_event` returns the exact shape of ``reference/aws-semantics.md`` §2.6:
all twelve top-level keys always present (absent data is ``None``), ``requestContext`` with
every documented key and ``identity`` with every documented key. Behaviour copied from AWS
recordings (LocalStack ``aws.validated`` snapshots of ``test_lambda_aws_proxy_integration``):

* ``path`` is the raw request path without the stage prefix, *not* URL-decoded, trailing
  slash kept; ``requestContext.path`` is the raw path *with* the stage prefix.
* ``headers`` keep the client's casing, one value per name (the last); ``multiValueHeaders``
  all values. Names are grouped case-insensitively under the first spelling seen.
  ``Authorization`` and ``User-Agent`` arrive Title-Cased whatever the client sent;
  ``Content-Length`` and ``Connection`` are not passed on.
* Query strings are form-decoded (``+`` is a space, ``%2B`` a plus); blank values are kept
  (``?flag`` gives ``{"flag": ""}``); ``queryStringParameters`` holds the last value.
* ``body`` is ``None`` for an empty body; base64 (``isBase64Encoded: true``) when the request
  ``Content-Type`` matches the API's ``binaryMediaTypes`` (see :mod:`.media_types`); otherwise
  UTF-8 text (undecodable bytes become U+FFFD).

The fixed gateway error responses and the proxy-response parser live in
:mod:`.responses` and :mod:`.proxy_response`; they are re-exported here.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, unquote_plus

from apicanary.arns import DEFAULT_ACCOUNT
from apicanary.engine.gateway.media_types import (
    DEFAULT_CONTENT_TYPE,
    NO_BINARY_MEDIA_TYPES,
    BinaryMediaTypes,
    first_media_type,
)
from apicanary.engine.gateway.proxy_response import (
    MalformedResponse,
    ProxyResponse,
    parse_proxy_response,
)
from apicanary.engine.gateway.responses import (
    FUNCTION_ERROR,
    INTEGRATION_REJECTED,
    INTEGRATION_TIMEOUT,
    MISSING_AUTHENTICATION_TOKEN,
    THROTTLED,
    GatewayResponse,
)

__all__ = [
    "FUNCTION_ERROR",
    "INTEGRATION_REJECTED",
    "INTEGRATION_TIMEOUT",
    "MISSING_AUTHENTICATION_TOKEN",
    "THROTTLED",
    "BinaryMediaTypes",
    "GatewayResponse",
    "MalformedResponse",
    "ProxyResponse",
    "build_http_v2_event",
    "build_rest_v1_event",
    "format_request_time",
    "parse_proxy_response",
    "parse_query_string",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Header names API Gateway re-cases (it sits behind CloudFront) and names it drops.
_RECASED = {"authorization": "Authorization", "user-agent": "User-Agent"}
_DROPPED = frozenset({"content-length", "connection"})


@lru_cache(maxsize=16)
def format_request_time(epoch_seconds: int) -> str:
    """``requestTime`` / ``time``: ``dd/Mon/yyyy:HH:mm:ss +0000`` in UTC."""
    t = time.gmtime(epoch_seconds)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year:04d}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def _extended_request_id(request_id: str) -> str:
    """An ``extendedRequestId`` in AWS's shape (16 base64 characters), derived from the id."""
    try:
        raw = bytes.fromhex(request_id.replace("-", "")[:22])
    except ValueError:
        return request_id
    if len(raw) < 11:
        return request_id
    return base64.b64encode(raw).decode("ascii")


def _unquote_form(text: str) -> str:
    if "%" in text or "+" in text:
        return unquote_plus(text)
    return text


def parse_query_string(
    query_string: str,
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """``(queryStringParameters, multiValueQueryStringParameters)``; both ``None`` when empty."""
    if not query_string:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for part in query_string.partition("#")[0].split("&"):
        if not part:
            continue
        raw_name, _, raw_value = part.partition("=")
        name = _unquote_form(raw_name)
        if not name:
            continue
        value = _unquote_form(raw_value)
        single[name] = value
        values = multi.get(name)
        if values is None:
            multi[name] = [value]
        else:
            values.append(value)
    if not single:
        return None, None
    return single, multi


def _group_headers(
    headers: Sequence[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]], dict[str, str]]:
    """``(last value by name, all values by name, lower-case name -> event name)``."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        key = names.get(lower)
        if key is None:
            if lower in _DROPPED:
                continue
            key = _RECASED.get(lower, name)
            names[lower] = key
            single[key] = value
            multi[key] = [value]
        else:
            single[key] = value
            multi[key].append(value)
    return single, multi, names


def _strip_stage(raw_path: str, stage: str) -> str:
    prefix = "/" + stage
    if raw_path.startswith(prefix):
        rest = raw_path[len(prefix) :]
        if not rest:
            return "/"
        if rest[0] == "/":
            return rest
    return raw_path


def _domain_prefix(domain_name: str) -> str:
    host = domain_name.partition(".")[0]
    return host.partition(":")[0] if "." not in domain_name else host


def build_rest_v1_event(
    *,
    method: str,
    raw_path: str,
    stage: str,
    resource: str,
    path_parameters: Mapping[str, str] | None,
    headers: Sequence[tuple[str, str]],
    query_string: str,
    body: bytes,
    source_ip: str,
    api_id: str,
    deployment_id: str,
    resource_id: str,
    stage_variables: Mapping[str, str] | None,
    binary_media_types: BinaryMediaTypes = NO_BINARY_MEDIA_TYPES,
    request_time_ms: int,
    request_id: str,
    extended_request_id: str | None = None,
    account_id: str = DEFAULT_ACCOUNT,
    domain_name: str | None = None,
    protocol: str = "HTTP/1.1",
) -> dict[str, Any]:
    """The payload-format-1.0 event for one REST request (a fresh dict, ready for orjson).

    ``raw_path`` is the path as received, stage prefix included (``/prod/orders/42``);
    ``headers`` are ``(name, value)`` pairs as received (decode ASGI bytes as latin-1);
    ``query_string`` is the raw query without ``?``; ``resource`` the matched template;
    ``path_parameters`` / ``stage_variables`` empty or ``None`` give ``null``.
    ``domain_name`` defaults to the ``Host`` header, else ``{api_id}.execute-api.localhost``.
    """
    single_headers, multi_headers, names = _group_headers(headers)
    query, multi_query = parse_query_string(query_string)

    if body:
        content_type_key = names.get("content-type")
        content_type = single_headers[content_type_key] if content_type_key else None
        if not binary_media_types.empty and binary_media_types.matches_header(
            content_type, default=DEFAULT_CONTENT_TYPE
        ):
            body_text: str | None = base64.b64encode(body).decode("ascii")
            is_base64 = True
        else:
            body_text = body.decode("utf-8", "replace")
            is_base64 = False
    else:
        body_text = None
        is_base64 = False

    if domain_name is None:
        host_key = names.get("host")
        domain_name = single_headers[host_key] if host_key else f"{api_id}.execute-api.localhost"
    user_agent_key = names.get("user-agent")

    return {
        "resource": resource,
        "path": _strip_stage(raw_path, stage),
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "deploymentId": deployment_id,
            "domainName": domain_name,
            "domainPrefix": _domain_prefix(domain_name),
            "extendedRequestId": extended_request_id or _extended_request_id(request_id),
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": source_ip,
                "user": None,
                "userAgent": single_headers[user_agent_key] if user_agent_key else None,
                "userArn": None,
            },
            "path": raw_path,
            "protocol": protocol,
            "requestId": request_id,
            "requestTime": format_request_time(request_time_ms // 1000),
            "requestTimeEpoch": request_time_ms,
            "resourceId": resource_id,
            "resourcePath": resource,
            "stage": stage,
        },
        "body": body_text,
        "isBase64Encoded": is_base64,
    }


# --- payload format 2.0 (HTTP APIs) ------------------------------------------------------------

_TEXT_SUFFIXES = ("+json", "+xml", "/json", "/xml", "/javascript", "/x-www-form-urlencoded")


def _is_text_media(media: str | None) -> bool:
    if media is None:
        return True
    return media.startswith("text/") or media.endswith(_TEXT_SUFFIXES)


def _decode_v2_body(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
    if not body:
        return None, False
    if _is_text_media(first_media_type(content_type)):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def build_http_v2_event(
    *,
    method: str,
    raw_path: str,
    stage: str,
    route_key: str,
    path_parameters: Mapping[str, str] | None,
    headers: Sequence[tuple[str, str]],
    query_string: str,
    body: bytes,
    source_ip: str,
    api_id: str,
    stage_variables: Mapping[str, str] | None,
    request_time_ms: int,
    request_id: str,
    account_id: str = DEFAULT_ACCOUNT,
    domain_name: str | None = None,
    protocol: str = "HTTP/1.1",
) -> dict[str, Any]:
    """The payload-format-2.0 event (``reference/aws-semantics.md`` §3).

    Header names are lower-cased and repeated headers comma-joined; ``Cookie`` headers become
    the ``cookies`` list; repeated query parameters are comma-joined. As AWS does, optional
    keys with nothing to carry (``cookies``, ``queryStringParameters``, ``pathParameters``,
    ``stageVariables``, ``body``) are omitted. The body is text for textual content types
    (``text/*``, JSON, XML, form) that decode as UTF-8, base64 otherwise.
    ``route_key`` is ``"GET /items/{id}"`` or ``"$default"``; ``rawPath`` is ``raw_path``.
    Path parameters are URL-decoded here (HTTP APIs decode them, REST APIs do not).
    """
    lowered: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        previous = lowered.get(lower)
        lowered[lower] = value if previous is None else f"{previous},{value}"
    if domain_name is None:
        domain_name = lowered.get("host") or f"{api_id}.execute-api.localhost"

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = lowered
    if query_string:
        joined: dict[str, str] = {}
        for part in query_string.partition("#")[0].split("&"):
            if not part:
                continue
            raw_name, _, raw_value = part.partition("=")
            name = _unquote_form(raw_name)
            if not name:
                continue
            value = _unquote_form(raw_value)
            previous = joined.get(name)
            joined[name] = value if previous is None else f"{previous},{value}"
        if joined:
            event["queryStringParameters"] = joined
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain_name,
        "domainPrefix": _domain_prefix(domain_name),
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": lowered.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": format_request_time(request_time_ms // 1000),
        "timeEpoch": request_time_ms,
    }
    body_text, is_base64 = _decode_v2_body(body, lowered.get("content-type"))
    if body_text is not None:
        event["body"] = body_text
    if path_parameters:
        event["pathParameters"] = {k: unquote(v) for k, v in path_parameters.items()}
    event["isBase64Encoded"] = is_base64
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event
