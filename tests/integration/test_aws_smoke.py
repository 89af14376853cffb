"""Opt-in smoke tests against real AWS: ``APICANARY_AWS_SMOKE=1`` plus credentials.

Set ``APICANARY_AWS_SMOKE_FUNCTION`` / ``APICANARY_AWS_SMOKE_ALIAS`` to a function and alias
that exist (and optionally ``APICANARY_AWS_SMOKE_API`` / ``_STAGE``) for the read-only test.
The log-path test also needs ``APICANARY_AWS_SMOKE_WRITE_FUNCTION``: a disposable function
whose code and log format it changes. These are the only tests allowed to skip: docs/aws.md.
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


def _write_enabled() -> bool:
    return _enabled() and bool(os.environ.get("APICANARY_AWS_SMOKE_WRITE_FUNCTION"))


@pytest.mark.skipif(
    not _write_enabled(),
    reason="real-AWS log-path smoke test: also set APICANARY_AWS_SMOKE_WRITE_FUNCTION to a "
    "disposable Python function with an alias 'live' (its code and log format are changed)",
)
def test_log_path_rolls_back_a_bad_version(tmp_path: object) -> None:
    """JSON log format, a bad version published, invoked through the alias: the AWS backend
    rolls it back from log evidence; the ingestion delay it measured is printed."""
    import io
    import threading
    import zipfile
    from pathlib import Path

    import boto3

    from apicanary.cli.backends.aws import AwsBackend

    function = os.environ["APICANARY_AWS_SMOKE_WRITE_FUNCTION"]
    lam = boto3.client("lambda")
    lam.update_function_configuration(FunctionName=function, LoggingConfig={"LogFormat": "JSON"})
    lam.get_waiter("function_updated_v2").wait(FunctionName=function)
    handler = lam.get_function_configuration(FunctionName=function)["Handler"]
    module = handler.split(".")[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{module}.py", "def handler(e, c):\n    raise RuntimeError('bad')\n")
        archive.writestr("stamp.txt", str(time.time()))
    lam.update_function_code(FunctionName=function, ZipFile=buffer.getvalue())
    lam.get_waiter("function_updated_v2").wait(FunctionName=function)
    version = lam.publish_version(FunctionName=function)["Version"]

    stop = threading.Event()

    def invoke() -> None:
        while not stop.is_set():
            lam.invoke(FunctionName=f"{function}:live", Payload=b"{}")
            time.sleep(0.05)

    load = threading.Thread(target=invoke, daemon=True)
    load.start()
    backend = AwsBackend(
        state_dir=Path(str(tmp_path)), region=None, profile=None, endpoint_url=None
    )
    try:
        started = backend.start(
            {"function": function, "alias": "live", "toVersion": version,
             "strategy": {"steps": [{"setWeight": 20}, {"pause": {"duration": 600}}]}}
        )  # fmt: skip
        final = backend.controller.run_until_done(started["id"], tick_s=1.0)
        assert final["status"] == "rolled_back", final.get("reason")
        logs = backend.platform.logs
        assert logs is not None and logs.readers
        for reader in logs.readers.values():
            print(
                f"measured CloudWatch Logs ingestion delay: last {reader.delays.last_s} s, "
                f"largest recent {reader.delays.bound(time.time())} s over "
                f"{reader.delays.measured} events; live {reader.stats.live_events}, "
                f"filled {reader.stats.filled_events}"
            )
    finally:
        stop.set()
        load.join(10)
        backend.platform.close()
