"""Opt-in smoke test against real AWS (read-only): ``APICANARY_AWS_SMOKE=1`` plus credentials.

Set ``APICANARY_AWS_SMOKE_FUNCTION`` / ``APICANARY_AWS_SMOKE_ALIAS`` to a function and alias
that exist (and optionally ``APICANARY_AWS_SMOKE_API`` / ``_STAGE``); nothing is written.
This is the one test allowed to skip: see docs/aws.md.
"""

from __future__ import annotations

import os
import time

import pytest

from apicanary.platform.aws.doctor import DoctorTarget, run_checks
from apicanary.platform.aws.platform import AwsPlatform
from apicanary.platform.base import TelemetryTarget
from apicanary.platform.marker import read_marker

pytestmark = pytest.mark.aws


def _enabled() -> bool:
    if os.environ.get("APICANARY_AWS_SMOKE") != "1":
        return False
    import boto3

    return boto3.Session().get_credentials() is not None


requires_aws = pytest.mark.skipif(
    not _enabled(), reason="real-AWS smoke test: set APICANARY_AWS_SMOKE=1 and AWS credentials"
)


@requires_aws
def test_read_only_round_trip() -> None:
    function = os.environ["APICANARY_AWS_SMOKE_FUNCTION"]
    alias = os.environ.get("APICANARY_AWS_SMOKE_ALIAS", "live")
    api = os.environ.get("APICANARY_AWS_SMOKE_API")
    stage = os.environ.get("APICANARY_AWS_SMOKE_STAGE")
    platform = AwsPlatform.connect(region=os.environ.get("AWS_REGION"))
    state = platform.get_alias(function, alias)
    assert state.primary
    read_marker(platform, function, alias)
    target = TelemetryTarget(function, alias, state.primary, state.canary or state.primary)
    first = platform.read_telemetry(target, None)
    assert first.fresh_until <= time.time()
    api_id = platform.find_api(api) if api else None
    if api_id and stage:
        platform.get_stage(api_id, stage)
    import boto3

    session = boto3.Session()
    findings = run_checks(session.client, DoctorTarget(function, alias, api_id, stage))
    assert findings[0].check == "identity" and findings[0].level == "ok", findings
