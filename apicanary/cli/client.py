"""A thin client of a running ``apicanary serve``'s ``/_apicanary`` JSON API.

The URL comes from ``--control-url``, else ``APICANARY_CONTROL_URL``, else
``http://127.0.0.1:3001``; ``APICANARY_CONTROL_TOKEN`` is sent as a bearer token. Server
errors come back as the same error types the server raised (bad input stays exit code 2); a
server that is not running is a :class:`PlatformError` that says how to start one.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from apicanary.errors import ApicanaryError, BadInputError, PlatformError

DEFAULT_CONTROL_URL = "http://127.0.0.1:3001"


def control_url(explicit: str | None) -> str:
    return (explicit or os.environ.get("APICANARY_CONTROL_URL") or DEFAULT_CONTROL_URL).rstrip("/")


class ControlClient:
    def __init__(self, url: str | None = None, *, timeout: float = 30.0) -> None:
        self.url = control_url(url)
        headers = {}
        token = os.environ.get("APICANARY_CONTROL_TOKEN")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Any:
        return self._call("POST", path, json=body)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise PlatformError(
                f"no apicanary server answers at {self.url}",
                hint="start one with 'apicanary serve' (or pass --control-url)",
            ) from exc
        except httpx.HTTPError as exc:
            raise PlatformError(f"{method} {self.url}{path} failed: {exc}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return response.json() if response.content else None

    def close(self) -> None:
        self._http.close()


def _error_from(response: httpx.Response) -> ApicanaryError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or response.text)
        hint = error.get("hint")
        if response.status_code < 500:
            return BadInputError(message, hint=hint)
        return PlatformError(message, hint=hint)
    text = response.text[:500]
    if response.status_code < 500:
        return BadInputError(f"{response.status_code}: {text}")
    return PlatformError(f"{response.status_code}: {text}")
