"""The Lambda API through real boto3 against the real control port (botocore checks shapes)."""

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
from tests.support.lambda_api import create_function, lambda_client
from tests.support.lambda_zips import handler_zip
from tests.support.servers import serve_in_thread
from tests.support.stats import binomial_two_sided_p

ECHO = "return {'version': context.function_version, 'event': event}"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = Engine(tmp_path / "state", rng=random.Random(7))
    yield eng
    asyncio.run(eng.aclose())


@pytest.fixture
def lam(engine: Engine) -> Iterator[Any]:
    with serve_in_thread(build_control_app(engine)) as url:
        yield lambda_client(url)


def _create(lam: Any, name: str = "api", body: str = ECHO, **extra: Any) -> dict[str, Any]:
    return create_function(lam, name, body, **extra)


def _code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def _message(error: ClientError) -> str:
    return str(error.response["Error"]["Message"])


def test_create_get_and_publish_versions(lam: Any) -> None:
    created = _create(lam, Timeout=5, MemorySize=256, Environment={"Variables": {"MODE": "a"}})
    assert created["Version"] == "$LATEST"
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:api"
    fetched = lam.get_function(FunctionName="api")["Configuration"]
    assert fetched["CodeSha256"] == created["CodeSha256"]
    assert fetched["Environment"]["Variables"] == {"MODE": "a"}

    v1 = lam.publish_version(FunctionName="api", Description="first")
    assert v1["Version"] == "1" and v1["Description"] == "first"
    again = lam.publish_version(FunctionName="api", Description="ignored")
    assert again["Version"] == "1" and again["RevisionId"] == v1["RevisionId"]
    assert again["Description"] == "first"

    lam.update_function_code(FunctionName="api", ZipFile=handler_zip("return 2"))
    v2 = lam.publish_version(FunctionName="api")
    assert v2["Version"] == "2" and v2["CodeSha256"] != v1["CodeSha256"]

    lam.update_function_configuration(FunctionName="api", Description="config only")
    v3 = lam.publish_version(FunctionName="api")
    assert v3["Version"] == "3" and v3["CodeSha256"] == v2["CodeSha256"]

    lam.delete_function(FunctionName="api", Qualifier="1")
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName="api")["Versions"]]
    assert versions == ["$LATEST", "2", "3"]
    lam.update_function_code(FunctionName="api", ZipFile=handler_zip("return 4"))
    assert lam.publish_version(FunctionName="api")["Version"] == "4"  # numbers never reused


def test_publish_preconditions(lam: Any) -> None:
    created = _create(lam)
    with pytest.raises(ClientError) as err:
        lam.publish_version(FunctionName="api", CodeSha256="deadbeef")
    assert _code(err.value) == "InvalidParameterValueException"
    assert _message(err.value) == (
        f"CodeSHA256 (deadbeef) is different from current CodeSHA256 in $LATEST "
        f"({created['CodeSha256']}). Please try again with the CodeSHA256 in $LATEST."
    )
    with pytest.raises(ClientError) as err:
        lam.publish_version(FunctionName="api", RevisionId="stale")
    assert _code(err.value) == "PreconditionFailedException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    ok = lam.publish_version(FunctionName="api", CodeSha256=created["CodeSha256"])
    assert ok["Version"] == "1"


def test_unknown_function_and_validation(lam: Any) -> None:
    with pytest.raises(ClientError) as err:
        lam.get_function(FunctionName="nope")
    assert _code(err.value) == "ResourceNotFoundException"
    assert (
        _message(err.value)
        == "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"
    )
    with pytest.raises(ClientError) as err:
        _create(lam, Timeout=901)
    assert _code(err.value) == "ValidationException"
    assert "Value '901' at 'timeout'" in _message(err.value)
    assert "less than or equal to 900" in _message(err.value)
    _create(lam)
    with pytest.raises(ClientError) as err:
        _create(lam)
    assert _code(err.value) == "ResourceConflictException"


def _two_versions(lam: Any) -> None:
    _create(lam)
    lam.publish_version(FunctionName="api")
    lam.update_function_code(FunctionName="api", ZipFile=handler_zip("return 'two'"))
    lam.publish_version(FunctionName="api")


def test_alias_lifecycle_and_promotion_idiom(lam: Any) -> None:
    _two_versions(lam)
    alias = lam.create_alias(FunctionName="api", Name="live", FunctionVersion="1")
    assert alias["Description"] == "" and "RoutingConfig" not in alias
    split = lam.update_alias(
        FunctionName="api",
        Name="live",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
        RevisionId=alias["RevisionId"],
    )
    assert split["FunctionVersion"] == "1"
    assert split["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.1}}
    assert split["RevisionId"] != alias["RevisionId"]
    with pytest.raises(ClientError) as err:  # lost update prevented
        lam.update_alias(FunctionName="api", Name="live", RevisionId=alias["RevisionId"])
    assert _code(err.value) == "PreconditionFailedException"
    promoted = lam.update_alias(
        FunctionName="api",
        Name="live",
        FunctionVersion="2",
        RoutingConfig={"AdditionalVersionWeights": {}},
    )
    assert promoted["FunctionVersion"] == "2" and "RoutingConfig" not in promoted
    listed = lam.list_aliases(FunctionName="api")["Aliases"]
    assert [a["Name"] for a in listed] == ["live"]
    lam.delete_alias(FunctionName="api", Name="live")
    with pytest.raises(ClientError) as err:
        lam.get_alias(FunctionName="api", Name="live")
    assert _message(err.value) == (
        "Cannot find alias arn: arn:aws:lambda:us-east-1:123456789012:function:api:live"
    )


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        (
            {
                "FunctionVersion": "1",
                "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.5, "3": 0.1}},
            },
            "InvalidParameterValueException",
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
        ),
        (
            {
                "FunctionVersion": "$LATEST",
                "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.5}},
            },
            "InvalidParameterValueException",
            "$LATEST is not supported for an alias pointing to more than 1 version",
        ),
        (
            {"FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"1": 0.5}}},
            "InvalidParameterValueException",
            "Invalid function version 1. Function version 1 is already included in routing "
            "configuration.",
        ),
        (
            {"FunctionVersion": "1", "RoutingConfig": {"AdditionalVersionWeights": {"10": 0.5}}},
            "ResourceNotFoundException",
            "Function not found: arn:aws:lambda:us-east-1:123456789012:function:api:10",
        ),
        (
            {"FunctionVersion": "9"},
            "ResourceNotFoundException",
            "Function not found: arn:aws:lambda:us-east-1:123456789012:function:api:9",
        ),
    ],
)
def test_alias_routing_rules(lam: Any, kwargs: dict[str, Any], code: str, message: str) -> None:
    _two_versions(lam)
    with pytest.raises(ClientError) as err:
        lam.create_alias(FunctionName="api", Name="live", **kwargs)
    assert (_code(err.value), _message(err.value)) == (code, message)


def test_weight_out_of_range_is_a_validation_error(engine: Engine, lam: Any) -> None:
    # botocore validates the weight range client-side, so go through the service directly
    _two_versions(lam)
    from apicanary.errors import AwsApiError

    with pytest.raises(AwsApiError) as err:
        engine.lambdas.create_alias(
            "api",
            {"Name": "live", "FunctionVersion": "1",
             "RoutingConfig": {"AdditionalVersionWeights": {"2": 2.0}}},
        )  # fmt: skip
    assert err.value.code == "ValidationException"
    assert err.value.message.startswith(
        "1 validation error detected: Value '{2=2.0}' at 'routingConfig.additionalVersionWeights' "
        "failed to satisfy constraint: Map value must satisfy constraint"
    )


def test_alias_name_conflict_and_digits(lam: Any) -> None:
    _two_versions(lam)
    lam.create_alias(FunctionName="api", Name="live", FunctionVersion="1")
    with pytest.raises(ClientError) as err:
        lam.create_alias(FunctionName="api", Name="live", FunctionVersion="2")
    assert _code(err.value) == "ResourceConflictException"
    assert _message(err.value) == (
        "Alias already exists: arn:aws:lambda:us-east-1:123456789012:function:api:live"
    )
    with pytest.raises(ClientError) as err:
        lam.delete_function(FunctionName="api", Qualifier="1")
    assert _code(err.value) == "ResourceConflictException"


def test_weighted_split_follows_the_weight(engine: Engine, lam: Any) -> None:
    """10,000 seeded draws: the exact binomial test does not reject the configured weight."""
    _two_versions(lam)
    lam.create_alias(
        FunctionName="api",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}},
    )
    draws = [engine.lambdas.invoker.resolve("api", "live").executed_version for _ in range(10_000)]
    secondary = draws.count("2")
    assert set(draws) == {"1", "2"}
    assert binomial_two_sided_p(secondary, 10_000, 0.25) > 0.001
    # and a wrong weight is rejected by the same test: the check has power
    assert binomial_two_sided_p(secondary, 10_000, 0.22) < 0.001


def test_reserved_concurrency_limits(lam: Any) -> None:
    _create(lam)
    put = lam.put_function_concurrency(FunctionName="api", ReservedConcurrentExecutions=5)
    assert put["ReservedConcurrentExecutions"] == 5
    assert lam.get_function_concurrency(FunctionName="api")["ReservedConcurrentExecutions"] == 5
    with pytest.raises(ClientError) as err:
        lam.put_function_concurrency(FunctionName="api", ReservedConcurrentExecutions=901)
    assert _code(err.value) == "InvalidParameterValueException"
    assert "below its minimum value of [100]" in _message(err.value)
    lam.delete_function_concurrency(FunctionName="api")
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="api")


def test_state_survives_restart(tmp_path: Path) -> None:
    first = Engine(tmp_path / "s")
    first.lambdas.create_function(
        {"FunctionName": "api", "Runtime": "python3.11", "Handler": "app.handler",
         "Code": {"ZipFile": handler_zip(ECHO)}, "Publish": True},
    )  # fmt: skip
    first.lambdas.create_alias("api", {"Name": "live", "FunctionVersion": "1"})
    asyncio.run(first.aclose())
    second = Engine(tmp_path / "s")
    try:
        assert second.lambdas.get_alias("api", "live")["FunctionVersion"] == "1"
        assert second.store.integrity_check() == "ok"
    finally:
        asyncio.run(second.aclose())


def test_a_write_reloads_only_the_function_it_changed(engine: Engine, lam: Any) -> None:
    """At 100 functions x 50 versions a full reload per write made UpdateAlias ~30x slower
    (bench/scale.py); a write now re-reads one function and shares the rest of the view."""
    _create(lam, "one")
    _create(lam, "two")
    lam.publish_version(FunctionName="one")
    lam.publish_version(FunctionName="two")
    lam.create_alias(FunctionName="one", Name="live", FunctionVersion="1")
    before = engine.lambdas.view
    lam.update_alias(FunctionName="one", Name="live", Description="changed")
    after = engine.lambdas.view
    assert after.functions["two"] is before.functions["two"]
    assert after.functions["one"] is not before.functions["one"]
    assert after.functions["one"].versions["1"] is before.functions["one"].versions["1"]
    assert after.functions["one"].aliases["live"].description == "changed"
    lam.delete_function(FunctionName="two")
    assert "two" not in engine.lambdas.view.functions and "one" in engine.lambdas.view.functions
