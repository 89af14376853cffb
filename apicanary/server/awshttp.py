"""Rendering of AWS rest-json responses and errors, shared by the AWS-compatible endpoints.

botocore reads a rest-json error's code from the ``x-amzn-ErrorType`` header (or the body's
``__type``/``code``) and its message from ``message``/``Message``; we send all of them, so
both the Lambda model (``Message``) and the API Gateway model (``message``) parse.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from apicanary.errors import AwsApiError

JSON = "application/json"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with a fresh ``x-amzn-RequestId``."""
    all_headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if headers:
        all_headers.update(headers)
    body = b"" if data is None else orjson.dumps(data)
    return Response(body, status_code=status, media_type=JSON, headers=all_headers)


def error_response(error: AwsApiError) -> Response:
    """The response AWS sends for ``error``: status, ``x-amzn-ErrorType`` and a JSON body."""
    body: dict[str, Any] = {
        "__type": error.code,
        "message": error.message,
        "Message": error.message,
    }
    body.update(error.fields)
    headers = {"x-amzn-ErrorType": error.code}
    if error.code == "TooManyRequestsException":
        headers["Retry-After"] = "1"
    return json_response(body, error.status, headers)


async def aws_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette exception handler turning :class:`AwsApiError` into AWS's error response."""
    assert isinstance(exc, AwsApiError)
    return error_response(exc)


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}``.

    A body that is not a JSON object raises the AWS ``SerializationException``.
    """
    return json_object(await request.body())


def json_object(raw: bytes) -> dict[str, Any]:
    """``raw`` as a JSON object (empty: ``{}``); anything else raises the AWS
    ``SerializationException``."""
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise AwsApiError("SerializationException", f"Malformed request body: {exc}", 400) from exc
    if not isinstance(value, dict):
        raise AwsApiError("SerializationException", "Request body must be a JSON object", 400)
    return value
