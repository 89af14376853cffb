"""What the dashboard's browser tests share: a boto3 Lambda client, polling, page errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3

from tests.support.local import ServerProcess


def lambda_client(server: ServerProcess) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=server.control_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def wait_for(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]) -> Any:
    deadline = time.monotonic() + 15
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def page_problems(page: Any) -> list[str]:
    """The list the page's uncaught errors and console errors are appended to, from now on."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    return problems
