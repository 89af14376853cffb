"""Translate botocore's exceptions into apicanary's error tree, at the boundary.

Contract: :func:`translate` maps **every** exception botocore or boto3 can raise to an
:class:`~apicanary.errors.ApicanaryError`; :func:`aws_call` calls one client operation and lets
nothing else escape.

* ``ClientError`` (AWS answered with an error) → :class:`AwsApiError` keeping AWS's code, message,
  HTTP status and the extra members of the error body (``Type``, ``Reason``...).
* ``ParamValidationError`` (botocore refused to send the request) → :class:`BadInputError`: the
  values come from the user (names, weights), and the message names the parameter.
* missing/partial credentials, unknown profile, no region → :class:`PlatformError` with a hint
  on the boto3 credential chain.
* connection, timeout, proxy and every other ``BotoCoreError`` → :class:`PlatformError`.
"""

from __future__ import annotations

from typing import Any

from botocore import exceptions as bce

from apicanary.errors import (
    ApicanaryError,
    AwsApiError,
    BadInputError,
    PlatformError,
)

_CREDENTIALS_HINT = (
    "apicanary uses the standard boto3 credential chain: AWS_PROFILE / --profile, "
    "AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, SSO (aws sso login), or an instance role"
)
_REGION_HINT = "pass --region, or set AWS_REGION / AWS_DEFAULT_REGION, or a region in the profile"
_CONNECT_HINT = "check the network, the region and --endpoint-url"

_CREDENTIAL_ERRORS: tuple[type[Exception], ...] = (
    bce.NoCredentialsError,
    bce.PartialCredentialsError,
    bce.CredentialRetrievalError,
    bce.ProfileNotFound,
    bce.UnauthorizedSSOTokenError,
    bce.TokenRetrievalError,
    bce.SSOTokenLoadError,
)
_CONNECT_ERRORS: tuple[type[Exception], ...] = (
    bce.EndpointConnectionError,
    bce.ConnectTimeoutError,
    bce.ReadTimeoutError,
    bce.ConnectionClosedError,
    bce.ProxyConnectionError,
    bce.SSLError,
    bce.HTTPClientError,
)


def translate(exc: BaseException, operation: str = "") -> ApicanaryError:
    """The apicanary error for ``exc`` raised by ``operation`` (a botocore operation name)."""
    where = f"{operation}: " if operation else ""
    if isinstance(exc, ApicanaryError):
        return exc
    if isinstance(exc, bce.ClientError):
        return _client_error(exc)
    if isinstance(exc, bce.ParamValidationError):
        return BadInputError(f"{where}invalid request parameters: {exc}")
    if isinstance(exc, bce.NoRegionError):
        return PlatformError(f"{where}no AWS region is configured", hint=_REGION_HINT)
    if isinstance(exc, _CREDENTIAL_ERRORS):
        return PlatformError(f"{where}AWS credentials unavailable: {exc}", hint=_CREDENTIALS_HINT)
    if isinstance(exc, _CONNECT_ERRORS):
        return PlatformError(f"{where}cannot reach AWS: {exc}", hint=_CONNECT_HINT)
    if isinstance(exc, bce.BotoCoreError):
        return PlatformError(f"{where}AWS SDK error: {exc}")
    return PlatformError(f"{where}unexpected error from the AWS SDK: {type(exc).__name__}: {exc}")


def _client_error(exc: bce.ClientError) -> AwsApiError:
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    error: dict[str, Any] = dict(response.get("Error") or {})
    code = str(error.pop("Code", "") or "UnknownError")
    message = str(error.pop("Message", "") or str(exc))
    status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 400)
    fields = {k: v for k, v in error.items() if k not in ("Code", "Message")}
    return AwsApiError(code, message, status, fields)


def aws_call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """``client.<operation>(**params)`` with every SDK exception translated.

    ``operation`` is the boto3 method name (``update_alias``); ``None`` values in ``params``
    are dropped, so optional members can be passed through unconditionally.
    """
    method = getattr(client, operation)
    try:
        result: dict[str, Any] = method(**{k: v for k, v in params.items() if v is not None})
    except Exception as exc:
        raise translate(exc, operation) from exc
    return result


def paginate(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    """All items under ``key`` across the pages of ``operation`` (translated errors)."""
    try:
        pages = client.get_paginator(operation).paginate(
            **{k: v for k, v in params.items() if v is not None}
        )
        items: list[Any] = []
        for page in pages:
            items.extend(page.get(key) or [])
    except Exception as exc:
        raise translate(exc, operation) from exc
    return items


__all__ = ["aws_call", "paginate", "translate"]
