"""The system python3's AWS CLI v1 (its own botocore, not this virtualenv's), pointed at a
local endpoint with throw-away credentials and no user configuration."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def system_python() -> str:
    """The first python3 on PATH that is not this virtualenv's (skips the test if none)."""
    venv_bin = str(Path(sys.prefix) / "bin")
    search = os.pathsep.join(
        entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry != venv_bin
    )
    python = shutil.which("python3", path=search)
    if python is None:
        pytest.skip("no system python3")
    return python


def aws_cli(
    service: str, endpoint_url: str, *args: str, data_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``aws <service> <args> --endpoint-url <endpoint_url> --output json``, one attempt per
    call; ``data_path`` is ``AWS_DATA_PATH`` (service models that override botocore's). Skips
    the test when the system python3 has no ``awscli``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env |= {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
    }
    if data_path is not None:
        env["AWS_DATA_PATH"] = str(data_path)
    command = [system_python(), "-m", "awscli", service, *args, "--endpoint-url", endpoint_url]
    done = subprocess.run(
        [*command, "--output", "json"], env=env, capture_output=True, text=True, timeout=60
    )
    if "No module named awscli" in done.stderr:
        pytest.skip("AWS CLI v1 is not installed for the system python3")
    return done
