"""`apicanary rehearse`: the real handlers, injected faults, a virtual clock, an exit code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES

TEMPLATE = str(EXAMPLES / "orders-api" / "template.yaml")


def rehearse(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apicanary", "rehearse", "--template", TEMPLATE,
         "--function", "OrdersFunction", "--rate", "30", "--output", "json", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("error-rate=0.5@GET /orders/{id}", "canary error rate"),
        ("crash=0.3", "canary error rate"),
        ("latency=300ms", "above stable p90"),
    ],
)
def test_faults_are_rolled_back_quickly(fault: str, reason: str) -> None:
    done = rehearse("--fault", fault)
    assert done.returncode == 3, done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "rolled_back" and reason in result["reason"]
    assert result["decidedAfterSeconds"] < 120  # the 5-minute bake was not needed
    assert result["injectedFaults"] > 0


def test_a_clean_release_is_promoted_after_the_bake() -> None:
    done = rehearse()
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "promoted"
    assert result["decidedAfterSeconds"] >= 300  # Canary10Percent5Minutes, in virtual time
    assert result["failed"] == 0 and result["canaryRequests"] > 0


@pytest.mark.parametrize(
    "fault", ["latency=fast", "error-rate=2", "explode=1", "error-rate=0.1@orders"]
)
def test_bad_fault_specs_exit_2(fault: str) -> None:
    done = rehearse("--fault", fault)
    assert done.returncode == 2
    assert "--fault" in done.stdout + done.stderr
