"""Strict parsing of a Lambda proxy (payload format 1.0) response, sans I/O.

The contract is ``reference/aws-semantics.md`` §2.6 ("Response contract"). The function's
return value must be a JSON object whose keys are among ``statusCode``, ``headers``,
``multiValueHeaders``, ``body`` and ``isBase64Encoded``; anything else is a
:class:`MalformedResponse`, which the gateway answers with 502 ``Internal server error``.
:func:`parse_proxy_response` never raises.

Rules, including the choices where the reference is silent:

* ``statusCode``: an int, an integral float, or a string of ASCII digits (``"201"``); missing
  or ``null`` means 200; anything else, a bool, or a value outside 100-599 is malformed.
* ``headers``: ``null`` or an object of strings; ``true``/``false`` become ``"true"``/
  ``"false"``; a ``null`` value drops the header; numbers, lists and objects are malformed.
* ``multiValueHeaders``: ``null`` or an object of lists (a scalar is malformed); list items
  follow the ``headers`` value rules; a ``null`` list drops the header.
* Merging: a name present in both (compared case-insensitively) is sent with the
  ``multiValueHeaders`` values first, then the ``headers`` value, spelled as in
  ``multiValueHeaders`` (AWS-recorded: ``["value-multi"]`` and ``"value-solo"`` give
  ``value-multi, value-solo``; the documentation's "only the values from multiValueHeaders
  will appear" is not what AWS does). Several values of one name are sent as one header
  joined with ``", "``, except ``Set-Cookie``, which is sent as one header line per value
  (joining cookies would corrupt them).
* ``Content-Length``, ``Transfer-Encoding`` and ``Connection`` set by the function are dropped:
  the HTTP server frames the body it actually sends. Header names must be HTTP tokens and
  values must not contain CR, LF or NUL, else the response is malformed.
* ``Content-Type`` defaults to ``application/json`` when the function sets none.
* ``body``: a string, or missing/``null`` for an empty body; any other type is malformed.
* ``isBase64Encoded``: a bool or ``null``. When true, the body is base64-decoded only when the
  first media type of the request's ``Accept`` header matches the API's ``binaryMediaTypes``;
  otherwise the base64 text itself is the body. Undecodable base64 is malformed with
  ``status`` 500 (AWS answers 500 ``Internal server error`` there, not the 502 of a
  malformed response).
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any

import orjson

from apicanary.engine.gateway.media_types import BinaryMediaTypes
from apicanary.engine.gateway.messages import GatewayReply

__all__ = ["ALLOWED_KEYS", "MalformedResponse", "parse_proxy_response"]

ALLOWED_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})

_DROPPED = frozenset({"content-length", "transfer-encoding", "connection"})
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_DEFAULT_CONTENT_TYPE = (b"Content-Type", b"application/json")


@dataclass(frozen=True, slots=True)
class MalformedResponse:
    """The function's answer breaks the proxy contract; ``reason`` is for the execution log.

    ``status`` is what API Gateway answers the client: 502, or 500 for a body that should be
    decoded from base64 and is not base64.
    """

    reason: str
    status: int = 502


class _Malformed(Exception):
    """Internal control flow only; never escapes this module."""

    status = 502


class _NotBase64(_Malformed):
    status = 500


def _status(value: Any) -> int:
    if value is None:
        return 200
    if isinstance(value, bool):
        raise _Malformed(f"statusCode {value!r} is not a number")
    if isinstance(value, int):
        status = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and 0 < len(value) <= 10 and value.isascii() and value.isdigit()
    ):
        status = int(value)
    else:
        raise _Malformed(f"statusCode {value!r} is not a number")
    if not 100 <= status <= 599:
        raise _Malformed(f"statusCode {status} is outside 100-599")
    return status


def _header_value(name: str, value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return None
    raise _Malformed(f"header {name!r} has a {type(value).__name__} value")


def _merged_headers(headers: Any, multi: Any) -> dict[str, tuple[str, list[str]]]:
    merged: dict[str, tuple[str, list[str]]] = {}
    if headers is not None:
        if not isinstance(headers, dict):
            raise _Malformed("headers is not an object")
        for name, value in headers.items():
            text = _header_value(name, value)
            if text is not None:
                merged[name.lower()] = (name, [text])
    if multi is not None:
        if not isinstance(multi, dict):
            raise _Malformed("multiValueHeaders is not an object")
        for name, values in multi.items():
            if values is None:
                continue
            if not isinstance(values, list):
                raise _Malformed(f"multiValueHeaders {name!r} is not a list")
            texts = [t for t in (_header_value(name, v) for v in values) if t is not None]
            single = merged.get(name.lower())
            merged[name.lower()] = (name, texts if single is None else [*texts, *single[1]])
    return merged


def _encode_value(name: str, value: str) -> bytes:
    if "\r" in value or "\n" in value or "\0" in value:
        raise _Malformed(f"header {name!r} value contains a line break or NUL")
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def _asgi_headers(merged: dict[str, tuple[str, list[str]]]) -> tuple[tuple[bytes, bytes], ...]:
    out: list[tuple[bytes, bytes]] = []
    for lower, (name, values) in merged.items():
        if lower in _DROPPED or not values:
            continue
        if not name or not _TOKEN_CHARS.issuperset(name):
            raise _Malformed(f"header name {name!r} is not a valid HTTP token")
        raw_name = name.encode("ascii")
        if lower == "set-cookie":
            out.extend((raw_name, _encode_value(name, v)) for v in values)
        else:
            joined = values[0] if len(values) == 1 else ", ".join(values)
            out.append((raw_name, _encode_value(name, joined)))
    if "content-type" not in merged:
        out.append(_DEFAULT_CONTENT_TYPE)
    return tuple(out)


def _body(value: Any, is_base64: Any, binary: BinaryMediaTypes, accept: str | None) -> bytes:
    if is_base64 is not None and not isinstance(is_base64, bool):
        raise _Malformed(f"isBase64Encoded {is_base64!r} is not a boolean")
    if value is None:
        return b""
    if not isinstance(value, str):
        raise _Malformed(f"body is a {type(value).__name__}, not a string")
    if is_base64 and not binary.empty and binary.matches_header(accept):
        try:
            return binascii.a2b_base64(value.encode("ascii"), strict_mode=False)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise _NotBase64(f"body is not valid base64: {exc}") from None
    return value.encode("utf-8", "surrogatepass")


def parse_proxy_response(
    payload: bytes | str,
    *,
    binary_media_types: BinaryMediaTypes,
    accept_header: str | None,
) -> GatewayReply | MalformedResponse:
    """Parse the function's raw JSON output into the client's reply; never raises (see the
    module docstring)."""
    try:
        decoded = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return MalformedResponse(f"not JSON: {exc}")
    if not isinstance(decoded, dict):
        return MalformedResponse(f"a {type(decoded).__name__} is not a proxy response object")
    extra = decoded.keys() - ALLOWED_KEYS
    if extra:
        return MalformedResponse(f"unexpected key(s) {', '.join(sorted(extra))}")
    try:
        status = _status(decoded.get("statusCode"))
        merged = _merged_headers(decoded.get("headers"), decoded.get("multiValueHeaders"))
        headers = _asgi_headers(merged)
        body = _body(
            decoded.get("body"), decoded.get("isBase64Encoded"), binary_media_types, accept_header
        )
    except _Malformed as exc:
        return MalformedResponse(str(exc), exc.status)
    return GatewayReply(status, headers, body)
