"""Lambda proxy events: payload format 1.0 (REST) and 2.0 (HTTP API), sans I/O.

:func:`build_rest_v1_event` returns the exact shape of ``reference/aws-semantics.md`` §2.6:
all twelve top-level keys always present (absent data is ``None``), ``requestContext`` with
every documented key and ``identity`` with every documented key. Behaviour copied from AWS
recordings (LocalStack ``aws.validated`` snapshots of ``test_lambda_aws_proxy_integration``):

* ``path`` is the raw request path without the stage prefix, *not* URL-decoded, trailing
  slash kept; ``requestContext.path`` is the raw path *with* the stage prefix. Repeated
  slashes next to the stage collapse as on AWS (:func:`_event_paths`).
* API Gateway's own headers (``X-Forwarded-*``, ``X-Amzn-Trace-Id``; :mod:`.forwarded`) are
  added to the client's, in both payload formats.
* ``headers`` keep the client's casing, one value per name (the last); ``multiValueHeaders``
  all values. Names are grouped case-insensitively under the first spelling seen.
  ``Authorization`` and ``User-Agent`` arrive Title-Cased whatever the client sent;
  ``Content-Length`` and ``Connection`` are not passed on.
* Query strings are form-decoded (``+`` is a space, ``%2B`` a plus); blank values are kept
  (``?flag`` gives ``{"flag": ""}``); ``queryStringParameters`` holds the last value.
* ``body`` is ``None`` for an empty body; base64 (``isBase64Encoded: true``) when the request
  ``Content-Type`` matches the API's ``binaryMediaTypes`` (see :mod:`.media_types`); otherwise
  UTF-8 text (undecodable bytes become U+FFFD).

Both builders take the request as the server read it and the route the gateway resolved it
to (:mod:`.messages`), plus the per-request id and time.
"""

from __future__ import annotations

import base64
import time
from binascii import b2a_base64
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, unquote_plus

from apicanary.arns import DEFAULT_ACCOUNT
from apicanary.engine.gateway.forwarded import ADDED_NAMES, added_headers
from apicanary.engine.gateway.media_types import DEFAULT_CONTENT_TYPE, first_media_type
from apicanary.engine.gateway.messages import GatewayRequest, ResolvedRoute

__all__ = [
    "build_http_v2_event",
    "build_rest_v1_event",
    "derive_extended_request_id",
    "format_request_time",
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


def derive_extended_request_id(request_id: str) -> str:
    """An ``extendedRequestId`` in AWS's shape (16 base64 characters), derived from the id: the
    one the event and the stage's access log both carry for a request."""
    try:
        raw = bytes.fromhex(request_id.replace("-", "")[:22])
    except ValueError:
        return request_id
    if len(raw) < 11:
        return request_id
    return b2a_base64(raw, newline=False).decode("ascii")


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


_NAME_CACHE_SIZE = 1024
_event_names: dict[str, tuple[str, str | None]] = {}
"""Header name as received -> ``(lower-cased name, event key or None if dropped)``; header
names repeat across requests, so the lower-casing and the re-casing rules run once per name."""


def _event_name(name: str) -> tuple[str, str | None]:
    entry = _event_names.get(name)
    if entry is None:
        lower = name.lower()
        entry = (lower, None if lower in _DROPPED else _RECASED.get(lower, name))
        if len(_event_names) < _NAME_CACHE_SIZE:
            _event_names[name] = entry
    return entry


def _group_headers(
    headers: Sequence[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]], dict[str, str]]:
    """``(last value by name, all values by name, lower-case name -> event name)``."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    event_names = _event_names
    for name, value in headers:
        entry = event_names.get(name) or _event_name(name)
        lower = entry[0]
        key = names.get(lower)
        if key is None:
            key = entry[1]
            if key is None:
                continue
            names[lower] = key
            single[key] = value
            multi[key] = [value]
        else:
            single[key] = value
            multi[key].append(value)
    return single, multi, names


@lru_cache(maxsize=512)
def _event_paths(raw_path: str, stage: str) -> tuple[str, str]:
    """``(path, requestContext.path)`` as AWS gives them for a raw request path.

    AWS-recorded: ``//stage/x`` gives ``("/x", "/stage/x")`` (slashes before the stage
    collapse in both); ``/stage//x`` gives ``("/x", "/stage//x")`` (slashes after the stage
    collapse in ``path`` only); slashes further in and a trailing slash are kept.
    """
    context_path = raw_path if raw_path[1:2] != "/" else "/" + raw_path.lstrip("/")
    prefix = "/" + stage
    if context_path.startswith(prefix):
        rest = context_path[len(prefix) :]
        if not rest:
            return "/", context_path
        if rest[0] == "/":
            return ("/" + rest.lstrip("/") if rest[1:2] == "/" else rest), context_path
    return context_path, context_path


def _put_added_headers(
    added: Sequence[tuple[str, str]],
    single: dict[str, str],
    multi: dict[str, list[str]],
    names: dict[str, str],
) -> None:
    """Put the gateway's own headers in place of any the client sent under the same name."""
    if not ADDED_NAMES.isdisjoint(names):  # rare: the client sent one of them
        for name, _ in added:
            sent = names.pop(name.lower(), None)
            if sent is not None:
                del single[sent], multi[sent]
    for name, value in added:
        single[name] = value
        multi[name] = [value]


@lru_cache(maxsize=64)
def _domain_prefix(domain_name: str) -> str:
    host = domain_name.partition(".")[0]
    return host.partition(":")[0] if "." not in domain_name else host


def build_rest_v1_event(
    request: GatewayRequest,
    route: ResolvedRoute,
    *,
    request_id: str,
    request_time_ms: int,
    account_id: str = DEFAULT_ACCOUNT,
    extended_request_id: str | None = None,
    protocol: str = "HTTP/1.1",
    edge: bool = False,
) -> dict[str, Any]:
    """The payload-format-1.0 event for one REST request (a fresh dict, ready for orjson).

    Empty path parameters or stage variables give ``null``. ``domainName`` is the request's
    ``host``, else its ``Host`` header, else ``{api_id}.execute-api.localhost``. The headers
    API Gateway adds (:mod:`.forwarded`; with ``edge``, an edge-optimized endpoint's too) are
    in ``headers`` and ``multiValueHeaders``.
    """
    single_headers, multi_headers, names = _group_headers(request.headers)
    query, multi_query = parse_query_string(request.query_string)
    body = request.body
    if body:
        content_type_key = names.get("content-type")
        content_type = single_headers[content_type_key] if content_type_key else None
        binary = route.binary_media_types
        if not binary.empty and binary.matches_header(content_type, default=DEFAULT_CONTENT_TYPE):
            body_text: str | None = base64.b64encode(body).decode("ascii")
            is_base64 = True
        else:
            body_text = body.decode("utf-8", "replace")
            is_base64 = False
    else:
        body_text = None
        is_base64 = False

    domain_name = request.host
    if domain_name is None:
        host_key = names.get("host")
        domain_name = (
            single_headers[host_key] if host_key else f"{route.api_id}.execute-api.localhost"
        )
    user_agent_key = names.get("user-agent")
    user_agent = single_headers[user_agent_key] if user_agent_key else None
    forwarded_key = names.get("x-forwarded-for")
    trace_key = names.get("x-amzn-trace-id")
    added = added_headers(
        source_ip=request.source_ip,
        host=domain_name,
        sent_forwarded_for=single_headers[forwarded_key] if forwarded_key else None,
        sent_trace_id=single_headers[trace_key] if trace_key else None,
        request_id=request_id,
        request_time_ms=request_time_ms,
        edge=edge,
    )
    _put_added_headers(added, single_headers, multi_headers, names)
    method = request.method
    raw_path = route.path
    stage = route.stage
    match = route.match
    resource = match.resource
    path_parameters = match.path_parameters
    stage_variables = route.stage_variables
    path, context_path = _event_paths(raw_path, stage)

    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": {
            "accountId": account_id,
            "apiId": route.api_id,
            "deploymentId": route.deployment_id,
            "domainName": domain_name,
            "domainPrefix": _domain_prefix(domain_name),
            "extendedRequestId": extended_request_id or derive_extended_request_id(request_id),
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
                "sourceIp": request.source_ip,
                "user": None,
                "userAgent": user_agent,
                "userArn": None,
            },
            "path": context_path,
            "protocol": protocol,
            "requestId": request_id,
            "requestTime": format_request_time(request_time_ms // 1000),
            "requestTimeEpoch": request_time_ms,
            "resourceId": match.resource_id,
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
    request: GatewayRequest,
    route: ResolvedRoute,
    *,
    request_id: str,
    request_time_ms: int,
    account_id: str = DEFAULT_ACCOUNT,
    protocol: str = "HTTP/1.1",
) -> dict[str, Any]:
    """The payload-format-2.0 event (``reference/aws-semantics.md`` §3).

    Header names are lower-cased and repeated headers comma-joined; ``Cookie`` headers become
    the ``cookies`` list; repeated query parameters are comma-joined. As AWS does, optional
    keys with nothing to carry (``cookies``, ``queryStringParameters``, ``pathParameters``,
    ``stageVariables``, ``body``) are omitted. The body is text for textual content types
    (``text/*``, JSON, XML, form) that decode as UTF-8, base64 otherwise.
    ``routeKey`` is the matched route's ``"METHOD /path"`` (``"$default"`` for that route);
    ``rawPath`` is the route's ``path``. Path parameters are URL-decoded here (HTTP APIs decode
    them, REST APIs do not).
    """
    match = route.match
    route_key = "$default" if match.resource == "$default" else f"{match.method} {match.resource}"
    raw_path = route.path
    query_string = request.query_string
    lowered: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        previous = lowered.get(lower)
        lowered[lower] = value if previous is None else f"{previous},{value}"
    domain_name = request.host
    if domain_name is None:
        domain_name = lowered.get("host") or f"{route.api_id}.execute-api.localhost"
    added = added_headers(
        source_ip=request.source_ip,
        host=domain_name,
        sent_forwarded_for=lowered.get("x-forwarded-for"),
        sent_trace_id=lowered.get("x-amzn-trace-id"),
        request_id=request_id,
        request_time_ms=request_time_ms,
    )
    for name, value in added:
        lowered[name.lower()] = value

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = lowered
    _, multi_query = parse_query_string(query_string)
    if multi_query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in multi_query.items()}
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": route.api_id,
        "domainName": domain_name,
        "domainPrefix": _domain_prefix(domain_name),
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": protocol,
            "sourceIp": request.source_ip,
            "userAgent": lowered.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": route.stage,
        "time": format_request_time(request_time_ms // 1000),
        "timeEpoch": request_time_ms,
    }
    body_text, is_base64 = _decode_v2_body(request.body, lowered.get("content-type"))
    if body_text is not None:
        event["body"] = body_text
    if match.path_parameters:
        event["pathParameters"] = {k: unquote(v) for k, v in match.path_parameters.items()}
    event["isBase64Encoded"] = is_base64
    if route.stage_variables:
        event["stageVariables"] = dict(route.stage_variables)
    return event
