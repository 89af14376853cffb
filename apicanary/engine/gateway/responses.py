"""The fixed responses API Gateway REST sends when it cannot relay the function's answer.

``reference/aws-semantics.md`` §2.7 gives status and body; the ``x-amzn-ErrorType`` values
and the exact body spacing are taken from responses captured from real APIs (the 502 and 500
bodies are 36 bytes, ``{"message": "Internal server error"}``; the 504 body is 41 bytes;
the 403 and 429 bodies have no space after the colon). API Gateway reports every 5xx it
produces itself as ``InternalServerErrorException``, including the 504 timeout.

Per-request headers (``x-amzn-RequestId``, ``x-amz-apigw-id``) are added by
:meth:`GatewayResponse.headers_for`.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

__all__ = [
    "FUNCTION_ERROR",
    "INTEGRATION_REJECTED",
    "INTEGRATION_TIMEOUT",
    "MISSING_AUTHENTICATION_TOKEN",
    "THROTTLED",
    "GatewayResponse",
]


@dataclass(frozen=True, slots=True)
class GatewayResponse:
    """A fixed gateway answer: status, JSON body, ``x-amzn-ErrorType`` and response type.

    ``response_type`` is the API Gateway *gateway response type* (``INTEGRATION_TIMEOUT``...),
    ``None`` where AWS documents none. ``headers`` are ASGI-ready ``(bytes, bytes)`` pairs:
    ``Content-Type: application/json`` and ``x-amzn-ErrorType``.
    """

    status: int
    body: bytes
    error_type: str
    response_type: str | None
    headers: tuple[tuple[bytes, bytes], ...]

    @property
    def message(self) -> str:
        """The ``message`` member of the body."""
        return str(orjson.loads(self.body)["message"])

    def headers_for(self, request_id: str) -> tuple[tuple[bytes, bytes], ...]:
        """:attr:`headers` plus ``x-amzn-RequestId`` for one request."""
        return (*self.headers, (b"x-amzn-RequestId", request_id.encode("ascii", "replace")))


def _fixed(status: int, body: bytes, error_type: str, response_type: str | None) -> GatewayResponse:
    headers = (
        (b"Content-Type", b"application/json"),
        (b"x-amzn-ErrorType", error_type.encode("ascii")),
    )
    return GatewayResponse(status, body, error_type, response_type, headers)


#: No resource matches the path, or the resource lacks the method (and has no ``ANY``).
MISSING_AUTHENTICATION_TOKEN = _fixed(
    403,
    b'{"message":"Missing Authentication Token"}',
    "MissingAuthenticationTokenException",
    "MISSING_AUTHENTICATION_TOKEN",
)

#: The function raised, crashed, hit its own timeout, or returned a malformed proxy response.
FUNCTION_ERROR = _fixed(
    502,
    b'{"message": "Internal server error"}',
    "InternalServerErrorException",
    None,
)

#: The Lambda API refused the call (throttled, function not found, no permission).
INTEGRATION_REJECTED = _fixed(
    500,
    b'{"message": "Internal server error"}',
    "InternalServerErrorException",
    None,
)

#: The integration ran past ``timeoutInMillis`` (29 s by default).
INTEGRATION_TIMEOUT = _fixed(
    504,
    b'{"message": "Endpoint request timed out"}',
    "InternalServerErrorException",
    "INTEGRATION_TIMEOUT",
)

#: API Gateway's own stage/method/account throttling.
THROTTLED = _fixed(
    429,
    b'{"message":"Too Many Requests"}',
    "TooManyRequestsException",
    "THROTTLED",
)
