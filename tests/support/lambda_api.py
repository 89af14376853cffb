"""boto3 against the engine's Lambda API: the client, a function to work on, error parts."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.lambda_zips import handler_zip

ARN = "arn:aws:lambda:us-east-1:123456789012:function"
"""The engine's function ARN prefix (default region and account)."""


def lambda_client(endpoint_url: str) -> Any:
    """A Lambda client of the control port at ``endpoint_url``; no retries (a test sees every
    answer)."""
    return boto3.client(
        "lambda",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )


def create_function(lam: Any, name: str, body: str, **extra: Any) -> dict[str, Any]:
    """CreateFunction of ``name`` whose ``app.handler`` runs ``body``."""
    result: dict[str, Any] = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::123456789012:role/r",
        Handler="app.handler",
        Code={"ZipFile": handler_zip(body)},
        **extra,
    )
    return result


def error_of(error: ClientError) -> tuple[int, str, str]:
    """``(HTTP status, error code, message)`` of an error answer."""
    response = error.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )
