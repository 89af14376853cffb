"""What the dashboard's browser tests share: a boto3 Lambda client, polling, page errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.support.local import ServerProcess, aws_client


def lambda_client(server: ServerProcess) -> Any:
    """A boto3 Lambda client on the server's control port."""
    return aws_client(server, "lambda")


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
