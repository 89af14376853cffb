"""botocore exceptions become apicanary errors; none escapes AwsPlatform."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore import exceptions as bce

from apicanary.errors import AwsApiError, BadInputError, PlatformError
from apicanary.platform.aws.clients import AwsClients, make_clients, make_session
from apicanary.platform.aws.errors import aws_call, translate
from apicanary.platform.aws.platform import AwsPlatform


def test_client_error_keeps_code_message_status_and_fields() -> None:
    exc = bce.ClientError(
        {
            "Error": {
                "Code": "TooManyRequestsException",
                "Message": "Rate Exceeded.",
                "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
            },
            "ResponseMetadata": {"HTTPStatusCode": 429},
        },
        "Invoke",
    )
    error = translate(exc)
    assert isinstance(error, AwsApiError)
    assert (error.code, error.message, error.status) == (
        "TooManyRequestsException",
        "Rate Exceeded.",
        429,
    )
    assert error.fields == {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}
    assert error.exit_code == 1


@pytest.mark.parametrize(
    ("exc", "kind", "text"),
    [
        (
            bce.ParamValidationError(report="Invalid length for FunctionName"),
            BadInputError,
            "FunctionName",
        ),
        (bce.NoCredentialsError(), PlatformError, "credentials"),
        (
            bce.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
            PlatformError,
            "credentials",
        ),
        (bce.ProfileNotFound(profile="nope"), PlatformError, "nope"),
        (bce.NoRegionError(), PlatformError, "region"),
        (
            bce.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
            PlatformError,
            "cannot reach",
        ),
        (bce.ReadTimeoutError(endpoint_url="http://x"), PlatformError, "cannot reach"),
        (bce.ConnectTimeoutError(endpoint_url="http://x"), PlatformError, "cannot reach"),
        (bce.DataNotFoundError(data_path="x"), PlatformError, "SDK"),
        (RuntimeError("odd"), PlatformError, "odd"),
    ],
)
def test_sdk_errors_translate(exc: Exception, kind: type[Exception], text: str) -> None:
    error = translate(exc, "get_alias")
    assert type(error) is kind
    assert text in str(error)
    assert str(error).startswith("get_alias: ")


def test_credential_errors_hint_at_the_chain() -> None:
    error = translate(bce.NoCredentialsError())
    assert error.hint is not None and "credential chain" in error.hint


def test_aws_call_drops_none_and_translates() -> None:
    class Client:
        def get_alias(self, **params: Any) -> dict[str, Any]:
            assert params == {"FunctionName": "f"}
            raise bce.EndpointConnectionError(endpoint_url="http://x")

    with pytest.raises(PlatformError, match="cannot reach"):
        aws_call(Client(), "get_alias", FunctionName="f", Name=None)


def test_unknown_profile_is_a_platform_error() -> None:
    with pytest.raises(PlatformError, match="does-not-exist"):
        make_session(profile="does-not-exist")


def test_connection_refused_is_a_platform_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    session = make_session(region="us-east-1")
    platform = AwsPlatform(make_clients(session, endpoint_url="http://127.0.0.1:9", max_attempts=1))
    with pytest.raises(PlatformError, match="cannot reach AWS"):
        platform.get_alias("f", "live")


def test_param_validation_from_the_platform() -> None:
    lam = boto3.client(
        "lambda",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="http://127.0.0.1:9",
    )
    platform = AwsPlatform(AwsClients(lam, None, None))
    with pytest.raises(BadInputError, match="FunctionName"):
        platform.get_alias("", "live")


def test_no_credentials_from_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    platform = AwsPlatform.connect(region="us-east-1", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(PlatformError, match="credentials") as info:
        platform.get_alias("f", "live")
    assert info.value.hint


def test_no_region_is_a_platform_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(PlatformError, match="region"):
        AwsPlatform.connect()
