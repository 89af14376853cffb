"""Lambda ARNs and integration URIs: built and parsed in one place, the parts round-trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apicanary.arns import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    FunctionArn,
    alarm_arn,
    function_arn,
    integration_target,
    integration_uri,
    is_function_reference,
    parse_function_arn,
    parse_integration_uri,
    partition_of,
    split_function_name,
)

NAMES = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
QUALIFIERS = st.none() | st.just("$LATEST") | st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)
REGIONS = st.sampled_from(["us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1"])


def test_defaults_are_the_local_account() -> None:
    assert function_arn("orders") == (
        f"arn:aws:lambda:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:function:orders"
    )
    assert function_arn("orders", "live") == (
        "arn:aws:lambda:us-east-1:123456789012:function:orders:live"
    )
    assert alarm_arn("high-errors", region="eu-west-1", account="111122223333") == (
        "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:high-errors"
    )


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-northwest-1", "aws-cn"), ("us-gov-east-1", "aws-us-gov")],
)
def test_partition_follows_the_region(region: str, partition: str) -> None:
    assert partition_of(region) == partition
    assert function_arn("f", region=region).startswith(f"arn:{partition}:lambda:{region}:")
    assert integration_uri("f", region=region).startswith(f"arn:{partition}:apigateway:{region}:")


@given(name=NAMES, qualifier=QUALIFIERS, region=REGIONS)
def test_built_arns_and_uris_parse_back(name: str, qualifier: str | None, region: str) -> None:
    arn = function_arn(name, qualifier, region=region, account="210987654321")
    expected = FunctionArn(partition_of(region), region, "210987654321", name, qualifier)
    assert parse_function_arn(arn) == expected
    uri = integration_uri(arn, region=region)
    parsed = parse_integration_uri(uri)
    assert parsed is not None and parsed.function == arn and parsed.region == region
    assert integration_target(uri) == expected
    assert split_function_name(arn) == (name, qualifier)
    assert is_function_reference(arn)


def test_templated_qualifiers_are_kept_as_written() -> None:
    arn = function_arn("orders", "${stageVariables.alias}")
    target = integration_target(integration_uri(arn))
    assert target is not None and target.qualifier == "${stageVariables.alias}"
    # a URI naming the function without an ARN has a function part but no ARN target
    assert parse_integration_uri(integration_uri("orders")) is not None
    assert integration_target(integration_uri("orders")) is None


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f",
        "arn:aws:apigateway:us-east-1:s3:path/bucket/key",
        "arn:aws:apigateway:US-EAST-1:lambda:path/2015-03-31/functions/f/invocations",
        "https://example.com/functions/f/invocations",
    ],
)
def test_other_uris_are_not_lambda_integrations(uri: str) -> None:
    assert parse_integration_uri(uri) is None
    assert integration_target(uri) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("orders", ("orders", None)),
        ("orders:7", ("orders", "7")),
        ("orders:$LATEST", ("orders", "$LATEST")),
        ("123456789012:function:orders", ("orders", None)),
        ("function:orders:live", ("orders", "live")),
        ("arn:aws:lambda:us-east-1:123456789012:function:orders:live", ("orders", "live")),
        ("orders:a:b", None),
        ("or ders", None),
        ("", None),
        ("x" * 171, None),
    ],
)
def test_function_name_parameter_forms(value: str, expected: tuple[str, str | None] | None) -> None:
    assert split_function_name(value) == expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("orders", True),
        ("orders:live", True),
        ("arn:aws:lambda:us-east-1:123456789012:function:orders", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("orders:" + "a" * 129, False),
        ("123456789012:function:orders", False),  # a partial ARN is the API's, not the user's
        ("my fn", False),
    ],
)
def test_user_function_references(value: str, ok: bool) -> None:
    assert is_function_reference(value) is ok
