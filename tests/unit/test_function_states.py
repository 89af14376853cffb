"""Function states as pure decisions (apicanary/engine/functions/states.py), and the schema
migration that added them."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from apicanary.engine.engine import Engine
from apicanary.engine.functions import states
from apicanary.engine.functions.model import FunctionConfig, Transition, VersionState
from apicanary.engine.functions.tables import COMPONENT, MIGRATIONS
from apicanary.errors import AwsApiError
from apicanary.store import Store
from tests.support.lambda_zips import handler_zip

ARN = "arn:aws:lambda:us-east-1:123456789012:function:api"
LATEST = VersionState(
    "api", "$LATEST", "c0de", "sha=", 10, FunctionConfig("python3.12", "app.handler"), "settled",
    "2024-01-01T00:00:00.000+0000",
)  # fmt: skip


def _in(kind: str, until: float = 100.0, revision: str | None = "pending") -> VersionState:
    return dataclasses.replace(LATEST, transition=Transition(kind, until, revision))


def test_no_delay_starts_no_transition() -> None:
    assert states.start(states.CREATE, 50.0, 0.0, "r") is None
    assert states.start(states.UPDATE, 50.0, 2.0, "r") == Transition("update", 52.0, "r")
    # a version published with a change keeps its RevisionId when it settles
    assert states.start(states.PUBLISH, 50.0, 2.0, "r") == Transition("publish", 52.0, None)


@pytest.mark.parametrize(
    ("version", "now", "fields", "revision"),
    [
        (LATEST, 0.0, {"State": "Active", "LastUpdateStatus": "Successful"}, "settled"),
        (
            _in("create"),
            99.9,
            {"State": "Pending", "StateReason": states.REASON, "StateReasonCode": "Creating"},
            "pending",
        ),
        (_in("create"), 100.0, {"State": "Active", "LastUpdateStatus": "Successful"}, "settled"),
        (
            _in("update"),
            10.0,
            {
                "State": "Active",
                "LastUpdateStatus": "InProgress",
                "LastUpdateStatusReason": states.REASON,
                "LastUpdateStatusReasonCode": "Creating",
            },
            "pending",
        ),
        (
            _in("publish", revision=None),
            10.0,
            {"State": "Pending", "StateReason": states.REASON, "StateReasonCode": "Creating"},
            "settled",
        ),
    ],
)
def test_state_and_revision_follow_the_time(
    version: VersionState, now: float, fields: dict[str, str], revision: str
) -> None:
    assert states.status_fields(version, now) == fields
    assert states.revision_at(version, now) == revision


def test_what_is_refused_while_a_change_is_applied() -> None:
    with pytest.raises(AwsApiError) as err:
        states.check_changeable(_in("update"), 10.0, ARN)
    assert (err.value.status, err.value.code) == (409, "ResourceConflictException")
    assert err.value.message.endswith(f"An update is in progress for resource: {ARN}")
    with pytest.raises(AwsApiError) as err:
        states.check_changeable(_in("create"), 10.0, ARN)
    assert f"The resource {ARN} is currently in the following state: 'Pending'" in (
        err.value.message
    )
    states.check_changeable(_in("update"), 100.0, ARN)  # over: allowed
    states.check_invocable(_in("update"), 10.0)  # an update in progress still invokes
    with pytest.raises(AwsApiError) as err:
        states.check_invocable(_in("publish", revision=None), 10.0)
    assert err.value.message.endswith("currently in the following state: Pending")


def test_transition_text_round_trips() -> None:
    for transition in (None, Transition("create", 12.5, "r"), Transition("publish", 3.0, None)):
        assert states.from_json(states.to_json(transition)) == transition


def test_a_state_dir_from_before_states_keeps_its_publish_no_op(tmp_path: Path) -> None:
    """Migration 2 adds ``content_revision`` and ``transition``: a function published before
    it, unchanged since, publishes no new version after it."""
    store = Store(tmp_path)
    store.migrate(COMPONENT, MIGRATIONS[:1])
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO lambda_functions(name, code_hex, code_sha256, code_size, config, "
            "revision_id, last_modified, next_version, published_revision) "
            "VALUES ('api', 'c0de', 'sha=', 10, ?, 'r2', 'now', 2, 'r2')",
            (LATEST.config.to_json().decode(),),
        )
        conn.execute(
            "INSERT INTO lambda_versions(function, version, code_hex, code_sha256, code_size, "
            "config, revision_id, last_modified) VALUES ('api', 1, 'c0de', 'sha=', 10, ?, "
            "'v1', 'now')",
            (LATEST.config.to_json().decode(),),
        )
    store.close()
    engine = Engine(tmp_path)
    try:
        lambdas = engine.lambdas
        assert lambdas.get_function("api", None)["Configuration"]["State"] == "Active"
        assert lambdas.publish_version("api", {})["Version"] == "1"
        lambdas.update_function_code("api", {"ZipFile": handler_zip("return 2")})
        assert lambdas.publish_version("api", {})["Version"] == "2"
        assert engine.store.integrity_check() == "ok"
    finally:
        asyncio.run(engine.aclose())
