"""The fixed answers an HTTP API (API Gateway v2) sends when it cannot relay the function's.

They differ from REST's (:mod:`.responses`): no route is 404 ``Not Found`` (REST: 403
``Missing Authentication Token``), a failed or malformed Lambda answer is 500 ``Internal
Server Error`` (REST: 502), an integration timeout is 503 ``Service Unavailable`` (REST: 504).
A body over 10 MB never gets here: the HTTP server answers 413 first, for both kinds of API.
Sources per answer are in ``docs/aws-semantics.md`` ("HTTP APIs").
HTTP APIs send no ``x-amzn-ErrorType``; every answer carries ``apigw-requestid``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "INTEGRATION_FAILED",
    "INTEGRATION_TIMEOUT",
    "NOT_FOUND",
    "HttpApiResponse",
]


@dataclass(frozen=True, slots=True)
class HttpApiResponse:
    """A fixed answer: status and JSON body."""

    status: int
    body: bytes

    def headers_for(self, request_id: str) -> tuple[tuple[bytes, bytes], ...]:
        return (
            (b"Content-Type", b"application/json"),
            (b"apigw-requestid", request_id.encode("ascii", "replace")),
        )


NOT_FOUND = HttpApiResponse(404, b'{"message":"Not Found"}')
INTEGRATION_FAILED = HttpApiResponse(500, b'{"message":"Internal Server Error"}')
INTEGRATION_TIMEOUT = HttpApiResponse(503, b'{"message":"Service Unavailable"}')
