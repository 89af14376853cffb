"""What the dashboard's browser tests share: steady traffic, a boto3 Lambda client, polling."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import httpx

from tests.support.local import ServerProcess


class Traffic:
    """Steady requests through the gateway in a thread, so the charts have something to draw.

    ``api``: the REST API to select by ``Host`` (``None``: the server's only API).
    """

    def __init__(self, server: ServerProcess, path: str, api: str | None = None) -> None:
        headers = {} if api is None else {"Host": f"{server.api_id(api)}.execute-api.localhost"}
        self._client = httpx.Client(base_url=server.gateway_url, headers=headers)
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            with contextlib.suppress(httpx.HTTPError):
                self._client.get(self._path, timeout=5)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._client.close()


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
