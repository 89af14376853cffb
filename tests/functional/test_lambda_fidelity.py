"""The Lambda API where AWS's recorded answers differ from the obvious ones (issue 18).

Each test states AWS's behaviour as docs/aws-semantics.md records it (section "Lambda"), with
the recording it comes from, and drives the real control port through boto3.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from apicanary.engine.engine import Engine
from apicanary.server.control import build_control_app
from tests.support.lambda_api import ARN, create_function, error_of, lambda_client
from tests.support.servers import serve_in_thread

ECHO = "return {'version': context.function_version}"


@pytest.fixture
def lam(tmp_path: Path) -> Iterator[Any]:
    engine = Engine(tmp_path / "state", rng=random.Random(3))
    try:
        with serve_in_thread(build_control_app(engine)) as url:
            yield lambda_client(url)
    finally:
        asyncio.run(engine.aclose())


def _create(lam: Any, **extra: Any) -> dict[str, Any]:
    return create_function(lam, "api", ECHO, **extra)


def test_create_function_with_publish_answers_version_1(lam: Any) -> None:
    """[Rec test_publish_version_on_create] the answer is $LATEST's configuration (unqualified
    ARN) carrying ``Version: "1"``; version 1 exists right away."""
    created = _create(lam, Publish=True)
    assert created["Version"] == "1"
    assert created["FunctionArn"] == f"{ARN}:api"
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    v1 = lam.get_function(FunctionName="api", Qualifier="1")["Configuration"]
    assert (v1["Version"], v1["FunctionArn"]) == ("1", f"{ARN}:api:1")
    assert lam.publish_version(FunctionName="api")["Version"] == "1"  # nothing changed since


def test_latest_by_qualifier_has_a_qualified_arn(lam: Any) -> None:
    """[Rec test_publish_version_on_create] GetFunction(Qualifier=$LATEST) and the $LATEST item
    of ListVersionsByFunction end ``:$LATEST``; unqualified reads stay unqualified; list items
    carry no State/LastUpdateStatus fields."""
    _create(lam)
    lam.publish_version(FunctionName="api")
    by_qualifier = lam.get_function(FunctionName="api", Qualifier="$LATEST")["Configuration"]
    assert by_qualifier["FunctionArn"] == f"{ARN}:api:$LATEST"
    config = lam.get_function_configuration(FunctionName="api", Qualifier="$LATEST")
    assert config["FunctionArn"] == f"{ARN}:api:$LATEST"
    plain = lam.get_function(FunctionName="api")["Configuration"]
    assert plain["FunctionArn"] == f"{ARN}:api"
    assert plain["State"] == "Active" and plain["LastUpdateStatus"] == "Successful"
    versions = lam.list_versions_by_function(FunctionName="api")["Versions"]
    assert [v["FunctionArn"] for v in versions] == [f"{ARN}:api:$LATEST", f"{ARN}:api:1"]
    listed = lam.list_functions()["Functions"]
    assert [f["FunctionArn"] for f in listed] == [f"{ARN}:api"]
    for item in (*versions, *listed):
        assert not {"State", "LastUpdateStatus", "StateReason"} & item.keys()


@pytest.mark.parametrize("operation", ["get_function", "get_function_configuration"])
def test_missing_latest_keeps_the_qualifier(lam: Any, operation: str) -> None:
    """[Rec test_ops_with_arn_qualifier_mismatch[get_function*]]"""
    with pytest.raises(ClientError) as err:
        getattr(lam, operation)(FunctionName=f"{ARN}:some-function:$LATEST", Qualifier="$LATEST")
    assert error_of(err.value) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: {ARN}:some-function:$LATEST",
    )


def test_invoking_a_missing_function_names_latest(lam: Any) -> None:
    """[Rec test_function_name_and_qualifier_validation[function_name_too_long-invoke]]
    an unqualified Invoke of a missing function reports ``…:$LATEST``; a qualified one its
    qualifier."""
    with pytest.raises(ClientError) as err:
        lam.invoke(FunctionName="nope")
    assert error_of(err.value)[2] == f"Function not found: {ARN}:nope:$LATEST"
    with pytest.raises(ClientError) as err:
        lam.invoke(FunctionName="nope", Qualifier="live")
    assert error_of(err.value)[2] == f"Function not found: {ARN}:nope:live"


def test_get_function_through_an_alias_names_the_alias(lam: Any) -> None:
    """[Rec test_alias_lifecycle get_function_alias_1_1, get_function_byarn_alias_1_1]"""
    _create(lam)
    lam.publish_version(FunctionName="api")
    alias = lam.create_alias(FunctionName="api", Name="live", FunctionVersion="1")
    by_name = lam.get_function(FunctionName="api", Qualifier="live")["Configuration"]
    by_arn = lam.get_function(FunctionName=alias["AliasArn"])["Configuration"]
    for config in (by_name, by_arn):
        assert (config["FunctionArn"], config["Version"]) == (f"{ARN}:api:live", "1")
    with pytest.raises(ClientError) as err:
        lam.get_function(FunctionName="api", Qualifier="missing")
    assert error_of(err.value) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: {ARN}:api:missing",
    )


def test_update_alias_on_a_missing_alias(lam: Any) -> None:
    """[Rec test_non_existent_alias_update] UpdateAlias: ``Alias not found`` (GetAlias words it
    ``Cannot find alias arn``)."""
    _create(lam)
    with pytest.raises(ClientError) as err:
        lam.update_alias(FunctionName="api", Name="non-existent", Description="d")
    assert error_of(err.value) == (
        404,
        "ResourceNotFoundException",
        f"Alias not found: {ARN}:api:non-existent",
    )


def test_create_alias_on_a_missing_function_keeps_the_version(lam: Any) -> None:
    """[Rec test_notfound_and_invalid_routingconfigs routing_config_exc_fn_doesnotexist]"""
    with pytest.raises(ClientError) as err:
        lam.create_alias(
            FunctionName="api-unknown",
            Name="custom",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
        )
    assert error_of(err.value) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: {ARN}:api-unknown:1",
    )


def test_latest_as_a_weight_key_is_a_validation_error(lam: Any) -> None:
    """[Rec test_notfound_and_invalid_routingconfigs routing_config_exc_version_latest]: the
    key constraint list has no trailing ``Member must not be null``."""
    _create(lam)
    lam.publish_version(FunctionName="api")
    with pytest.raises(ClientError) as err:
        lam.create_alias(
            FunctionName="api",
            Name="custom",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"$LATEST": 0.5}},
        )
    assert error_of(err.value) == (
        400,
        "ValidationException",
        "1 validation error detected: Value '{$LATEST=0.5}' at "
        "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must "
        "satisfy constraint: [Member must have length less than or equal to 1024, Member must "
        "have length greater than or equal to 1, Member must satisfy regular expression pattern: "
        "[0-9]+]",
    )


def test_delete_function_by_qualifier(lam: Any) -> None:
    """[Rec test_delete_on_nonexisting_version, test_ops_with_arn_qualifier_mismatch
    [delete_function], test_function_name_and_qualifier_validation[qualifier_too_long1-
    delete_function]]"""
    _create(lam)
    lam.publish_version(FunctionName="api")
    # a version the function does not have: 204, and again (idempotent)
    for _ in range(2):
        answer = lam.delete_function(FunctionName="api", Qualifier="1233")
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    # $LATEST, whether or not the function exists
    for name in ("api", "some-function"):
        with pytest.raises(ClientError) as err:
            lam.delete_function(FunctionName=f"{ARN}:{name}:$LATEST", Qualifier="$LATEST")
        assert error_of(err.value) == (
            400,
            "InvalidParameterValueException",
            "$LATEST version cannot be deleted without deleting the function.",
        )
    with pytest.raises(ClientError) as err:
        lam.delete_function(FunctionName="api", Qualifier="live")
    assert error_of(err.value) == (
        400,
        "InvalidParameterValueException",
        "Deletion of aliases is not currently supported.",
    )
    versions = lam.list_versions_by_function(FunctionName="api")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    lam.delete_function(FunctionName="api", Qualifier="1")
    lam.delete_function(FunctionName="api")
    with pytest.raises(ClientError) as err:
        lam.delete_function(FunctionName="api", Qualifier="1233")
    assert error_of(err.value) == (
        404,
        "ResourceNotFoundException",
        f"Function not found: {ARN}:api",
    )


GET_POLICY_HINT = (
    "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to "
    "retrieve the latest Revision Id"
)


def _permission(lam: Any, sid: str, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = lam.add_permission(
        FunctionName="api",
        StatementId=sid,
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        **extra,
    )
    return result


def test_add_permission_checks_the_alias_revision(lam: Any) -> None:
    """[Rec test_lambda_permission_fn_versioning add_permission_alias_revision_exception]: a
    stale RevisionId on an alias is 412; the alias's own RevisionId is accepted and the policy
    then has a new revision."""
    _create(lam)
    lam.publish_version(FunctionName="api")
    alias = lam.create_alias(FunctionName="api", Name="live", FunctionVersion="1")
    with pytest.raises(ClientError) as err:
        _permission(lam, "s3", Qualifier="live", RevisionId="wrong")
    assert error_of(err.value) == (412, "PreconditionFailedException", GET_POLICY_HINT)
    _permission(lam, "s3", Qualifier="live", RevisionId=alias["RevisionId"])
    policy = lam.get_policy(FunctionName="api", Qualifier="live")
    assert policy["RevisionId"] != alias["RevisionId"]
    again = lam.get_policy(FunctionName="api", Qualifier="live")
    assert again["RevisionId"] == policy["RevisionId"]  # stable between writes
    with pytest.raises(ClientError) as err:  # the alias's old revision is stale now
        _permission(lam, "s3b", Qualifier="live", RevisionId=alias["RevisionId"])
    assert error_of(err.value)[1] == "PreconditionFailedException"
    _permission(lam, "s3b", Qualifier="live", RevisionId=policy["RevisionId"])


def test_add_permission_changes_the_function_revision(lam: Any) -> None:
    """[Rec test_function_revisions_permissions] an unqualified AddPermission is checked
    against, and changes, the function's RevisionId, which GetPolicy then reports."""
    _create(lam)
    before = lam.get_function(FunctionName="api")["Configuration"]["RevisionId"]
    with pytest.raises(ClientError) as err:
        _permission(lam, "s3", RevisionId="wrong")
    assert error_of(err.value) == (412, "PreconditionFailedException", GET_POLICY_HINT)
    _permission(lam, "s3", RevisionId=before)
    policy_revision = lam.get_policy(FunctionName="api")["RevisionId"]
    after = lam.get_function(FunctionName="api")["Configuration"]["RevisionId"]
    assert after == policy_revision != before
    # a permission is not a code or configuration change: publishing twice is still a no-op
    first = lam.publish_version(FunctionName="api")["Version"]
    _permission(lam, "s3b")
    assert lam.publish_version(FunctionName="api")["Version"] == first
