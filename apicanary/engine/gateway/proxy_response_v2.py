"""The Lambda answer to an HTTP API, payload format 2.0, as the client's reply (sans I/O).

AWS's rules (``docs/aws-semantics.md``, "HTTP APIs", from the developer guide's "Lambda
function response for format 2.0"):

* an answer that is a JSON object **with** ``statusCode`` is a structured response:
  ``statusCode``, ``headers`` (object of strings), ``cookies`` (list of strings, each sent as
  its own ``Set-Cookie``), ``body`` (string) and ``isBase64Encoded`` (the body is decoded:
  HTTP APIs have no binary media types setting). It is held to the same strictness as the
  1.0 parser (:func:`~.proxy_response.parse_proxy_response`, which does the work); other keys
  are ignored;
* any other valid JSON (an object without ``statusCode``, a list, a number) is answered 200,
  ``content-type: application/json``, with that JSON as the body; a bare JSON string is the
  body text itself.

An answer that is not JSON, or a structured response that breaks the rules, is a
:class:`~.proxy_response.MalformedResponse` (the gateway answers 500).
Payload format 1.0 on an HTTP API uses the REST parser with every body treated as binary.
"""

from __future__ import annotations

from typing import Any

import orjson

from apicanary.engine.gateway.media_types import BinaryMediaTypes
from apicanary.engine.gateway.messages import GatewayReply
from apicanary.engine.gateway.proxy_response import MalformedResponse, parse_proxy_response

__all__ = ["parse_v1_response", "parse_v2_response"]

_ALL_BINARY = BinaryMediaTypes.of(("*/*",))
_JSON = ((b"Content-Type", b"application/json"),)
_KEYS = ("statusCode", "headers", "body", "isBase64Encoded")


def parse_v2_response(payload: bytes) -> GatewayReply | MalformedResponse:
    """The reply for a 2.0 answer; never raises (see the module docstring)."""
    try:
        decoded: Any = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return MalformedResponse(f"not JSON: {exc}")
    if not isinstance(decoded, dict) or "statusCode" not in decoded:
        if isinstance(decoded, str):
            return GatewayReply(200, _JSON, decoded.encode("utf-8", "surrogatepass"))
        return GatewayReply(200, _JSON, bytes(payload).strip())
    shaped: dict[str, Any] = {k: decoded[k] for k in _KEYS if k in decoded}
    cookies = decoded.get("cookies")
    if cookies is not None:
        if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
            return MalformedResponse("cookies is not a list of strings")
        shaped["multiValueHeaders"] = {"Set-Cookie": cookies}
        headers = shaped.get("headers")
        if isinstance(headers, dict):
            # a Set-Cookie header and cookies both go out (multiValueHeaders would replace it)
            kept = {k: v for k, v in headers.items() if k.lower() != "set-cookie"}
            extra = [v for k, v in headers.items() if k.lower() == "set-cookie"]
            shaped["headers"] = kept
            shaped["multiValueHeaders"] = {"Set-Cookie": [*extra, *cookies]}
    return parse_v1_response(orjson.dumps(shaped))


def parse_v1_response(payload: bytes) -> GatewayReply | MalformedResponse:
    """A 1.0 answer on an HTTP API: the REST contract, base64 bodies always decoded."""
    return parse_proxy_response(payload, binary_media_types=_ALL_BINARY, accept_header="*/*")
