"""Function states: ``Pending`` after create, ``InProgress`` after an update, then settled.

AWS applies creates and updates asynchronously (docs/aws-semantics.md, "Lambda: function
states"); the engine emulates it for ``--lambda-state-delay`` seconds, so code that waits with
boto3's waiters is exercised and code that does not wait fails as it would on AWS. The boto3
tests run against a real ``apicanary serve --lambda-state-delay`` child process.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from apicanary.clock import VirtualClock
from apicanary.engine.engine import Engine
from apicanary.engine.functions.model import FunctionConfig
from tests.support.lambda_api import ARN, create_function, error_of, lambda_client
from tests.support.lambda_zips import handler_zip
from tests.support.local import running_server

DELAY = 1.5  # long enough for a few calls while Pending, on a loaded machine
FAST_POLL = {"Delay": 0.05, "MaxAttempts": 100}
CREATING = "The function is being created."
UPDATE_IN_PROGRESS = (
    "The operation cannot be performed at this time. An update is in progress for resource: "
    f"{ARN}:api"
)
PENDING_RESOURCE = (
    f"The operation cannot be performed at this time. The resource {ARN}:api is currently in "
    "the following state: 'Pending'. StateReasonCode: 'Creating'"
)


@pytest.fixture
def lam(tmp_path: Path) -> Iterator[Any]:
    extra = ["--lambda-state-delay", str(DELAY)]
    with running_server(tmp_path / "state", extra_args=extra) as server:
        yield lambda_client(server.control_url)


def _create(lam: Any, **extra: Any) -> dict[str, Any]:
    return create_function(lam, "api", "return 'one'", **extra)


def _conflict(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    status, code, message = error_of(err.value)
    assert (status, code) == (409, "ResourceConflictException")
    return message


def test_create_is_pending_until_active(lam: Any) -> None:
    """[Rec test_function_revisions_basic, test_publish_with_update create_response; Doc
    functions-states: Invoke, updates and PublishVersion fail while Pending]"""
    created = _create(lam)
    assert created["State"] == "Pending"
    assert created["StateReason"] == CREATING and created["StateReasonCode"] == "Creating"
    assert "LastUpdateStatus" not in created
    pending = lam.get_function(FunctionName="api")["Configuration"]
    assert pending["State"] == "Pending" and pending["RevisionId"] == created["RevisionId"]
    assert _conflict(lam.invoke, FunctionName="api") == (
        "The operation cannot be performed at this time. The function is currently in the "
        "following state: Pending"
    )
    assert _conflict(lam.publish_version, FunctionName="api") == PENDING_RESOURCE
    assert (
        _conflict(lam.update_function_configuration, FunctionName="api", Timeout=5)
        == PENDING_RESOURCE
    )
    started = time.monotonic()
    lam.get_waiter("function_active_v2").wait(FunctionName="api", WaiterConfig=FAST_POLL)
    assert time.monotonic() - started > DELAY / 3  # the waiter really had to wait
    active = lam.get_function(FunctionName="api")["Configuration"]
    assert (active["State"], active["LastUpdateStatus"]) == ("Active", "Successful")
    assert "StateReason" not in active
    assert active["RevisionId"] != created["RevisionId"]  # becoming Active is a new revision
    assert lam.invoke(FunctionName="api")["Payload"].read() == b'"one"'


def test_update_is_in_progress_until_successful(lam: Any) -> None:
    """[Rec test_version_lifecycle first_update_response, test_lambda_concurrent_code_updates;
    Issue Optum/dce#418 (PublishVersion during an update)]"""
    _create(lam)
    lam.get_waiter("function_active_v2").wait(FunctionName="api", WaiterConfig=FAST_POLL)
    updated = lam.update_function_configuration(FunctionName="api", Description="two")
    assert (updated["State"], updated["LastUpdateStatus"]) == ("Active", "InProgress")
    assert updated["LastUpdateStatusReason"] == CREATING
    assert updated["LastUpdateStatusReasonCode"] == "Creating"
    assert _conflict(lam.publish_version, FunctionName="api") == UPDATE_IN_PROGRESS
    zip_two = handler_zip("return 'two'")
    assert _conflict(lam.update_function_code, FunctionName="api", ZipFile=zip_two) == (
        UPDATE_IN_PROGRESS
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName="api", WaiterConfig=FAST_POLL)
    settled = lam.get_function(FunctionName="api")["Configuration"]
    assert (settled["LastUpdateStatus"], settled["Description"]) == ("Successful", "two")
    assert "LastUpdateStatusReason" not in settled
    assert settled["RevisionId"] != updated["RevisionId"]
    version = lam.publish_version(FunctionName="api", RevisionId=settled["RevisionId"])
    # published from a settled $LATEST: Active at once [Rec test_version_lifecycle]
    assert (version["Version"], version["State"]) == ("1", "Active")


def test_update_code_with_publish_gives_a_pending_version(lam: Any) -> None:
    """[Rec test_publish_with_update]: the version published with an update is Pending, its
    RevisionId unchanged when it becomes Active; $LATEST is InProgress meanwhile."""
    _create(lam)
    lam.get_waiter("function_active_v2").wait(FunctionName="api", WaiterConfig=FAST_POLL)
    published = lam.update_function_code(
        FunctionName="api", ZipFile=handler_zip("return 'two'"), Publish=True
    )
    assert (published["Version"], published["FunctionArn"]) == ("1", f"{ARN}:api:1")
    assert (published["State"], published["StateReasonCode"]) == ("Pending", "Creating")
    assert "LastUpdateStatus" not in published
    latest = lam.get_function(FunctionName="api", Qualifier="$LATEST")["Configuration"]
    assert latest["LastUpdateStatus"] == "InProgress"
    assert _conflict(lam.invoke, FunctionName="api", Qualifier="1").endswith("state: Pending")
    lam.get_waiter("published_version_active").wait(
        FunctionName="api", Qualifier="1", WaiterConfig=FAST_POLL
    )
    active = lam.get_function_configuration(FunctionName="api", Qualifier="1")
    assert (active["State"], active["LastUpdateStatus"]) == ("Active", "Successful")
    assert active["RevisionId"] == published["RevisionId"]
    assert lam.invoke(FunctionName="api", Qualifier="1")["Payload"].read() == b'"two"'


def test_create_with_publish_is_pending_and_carries_version_1(lam: Any) -> None:
    """[Rec test_publish_version_on_create create_response]"""
    created = _create(lam, Publish=True)
    assert (created["Version"], created["State"], created["FunctionArn"]) == (
        "1",
        "Pending",
        f"{ARN}:api",
    )
    lam.get_waiter("function_active_v2").wait(FunctionName="api", WaiterConfig=FAST_POLL)
    lam.get_waiter("published_version_active").wait(
        FunctionName="api", Qualifier="1", WaiterConfig=FAST_POLL
    )
    assert lam.invoke(FunctionName="api", Qualifier="1")["ExecutedVersion"] == "1"


def test_no_delay_is_settled_at_once(tmp_path: Path) -> None:
    """``lambda_state_delay=0`` (the Engine's default, used by rehearsals and most tests):
    every answer is already Active/Successful."""
    engine = Engine(tmp_path / "state")
    try:
        created = engine.lambdas.create_function(
            {"FunctionName": "api", "Runtime": "python3.12", "Handler": "app.handler",
             "Code": {"ZipFile": handler_zip("return 1")}},
        )  # fmt: skip
        assert (created["State"], created["LastUpdateStatus"]) == ("Active", "Successful")
        updated = engine.lambdas.update_function_configuration("api", {"Timeout": 9})
        assert updated["LastUpdateStatus"] == "Successful"
        assert engine.lambdas.publish_version("api", {})["State"] == "Active"
    finally:
        asyncio.run(engine.aclose())


def test_the_engines_own_callers_wait(tmp_path: Path) -> None:
    """Template functions are created and updated like any other; the engine's own callers
    (here: a source function updated twice, then published) wait for each change to settle
    as a client would, on the engine's clock (a virtual clock: no real waiting)."""
    clock = VirtualClock()
    engine = Engine(tmp_path / "state", clock=clock, lambda_state_delay=30.0)
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("def handler(e, c):\n    return 1\n")
    config = FunctionConfig(runtime="python3.12", handler="app.handler")
    try:
        lambdas = engine.lambdas
        started = clock.now()
        assert lambdas.ensure_source_function("api", source, config)
        assert lambdas.get_function("api", None)["Configuration"]["State"] == "Pending"
        assert lambdas.ensure_source_function("api", source, FunctionConfig("python3.12", "app.h2"))
        assert clock.now() - started >= 30.0  # waited for Active before updating
        lambdas.wait_settled("api")
        assert clock.now() - started >= 60.0
        assert lambdas.publish_version("api", {})["State"] == "Active"
    finally:
        asyncio.run(engine.aclose())


@pytest.mark.parametrize("value", ["61", "-1", "soon"])
def test_serve_refuses_a_delay_out_of_range(tmp_path: Path, value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "apicanary", "serve", "--state-dir", str(tmp_path / "s"),
         "--lambda-state-delay", value],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--lambda-state-delay" in done.stderr and value in done.stderr
