"""``--baseline live``: the code a running ``apicanary serve`` answers with, fetched through the
Lambda API as any client would.

GetAlias gives the version the alias serves (its primary: during a rollout, the stable one);
GetFunction on that version gives its configuration and ``Code.Location``. The local engine
answers a ``file://`` URL of the package in its code store (readable when the server runs on
this machine); an ``http(s)`` location (AWS's pre-signed S3 URL) is downloaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from apicanary.engine.functions.model import FunctionConfig
from apicanary.errors import BadInputError, PlatformError

DEFAULT_CONTROL_URL = "http://127.0.0.1:3001"
_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class LiveCode:
    """The package and configuration of the version an alias serves."""

    version: str
    package: bytes
    config: FunctionConfig
    url: str


def fetch_live(control_url: str | None, function: str, alias: str) -> LiveCode:
    """What ``function:alias`` runs on the server at ``control_url``."""
    url = control_url or os.environ.get("APICANARY_CONTROL_URL") or DEFAULT_CONTROL_URL
    url = url.rstrip("/")
    headers = {}
    token = os.environ.get("APICANARY_CONTROL_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    base = f"/2015-03-31/functions/{quote(function, safe='')}"
    with httpx.Client(base_url=url, headers=headers, timeout=_TIMEOUT_S) as client:
        alias_doc = _get(client, f"{base}/aliases/{quote(alias, safe='')}", url, function, alias)
        version = str(alias_doc["FunctionVersion"])
        described = _get(client, base, url, function, alias, Qualifier=version)
        location = str((described.get("Code") or {}).get("Location") or "")
    package = _download(location)
    return LiveCode(version, package, _config(described.get("Configuration") or {}), url)


def _get(
    client: httpx.Client, path: str, url: str, function: str, alias: str, **params: str
) -> dict[str, Any]:
    try:
        response = client.get(path, params=params or None)
    except httpx.HTTPError as exc:
        raise PlatformError(
            f"--baseline live: no apicanary server answers at {url} ({exc})",
            hint="start 'apicanary serve' for this project, or pass --control-url",
        ) from None
    if response.status_code == 404:
        raise BadInputError(
            f"--baseline live: the server at {url} has no {function}:{alias} "
            f"({response.text[:200]})"
        )
    if response.status_code >= 400:
        raise PlatformError(f"--baseline live: {url}{path} answered {response.status_code}")
    data: dict[str, Any] = response.json()
    return data


def _download(location: str) -> bytes:
    parts = urlsplit(location)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        try:
            return path.read_bytes()
        except OSError as exc:
            raise PlatformError(
                f"--baseline live: the package at {location} cannot be read here "
                f"({exc.strerror}); the server must run on this machine"
            ) from None
    if parts.scheme in ("http", "https"):
        response = httpx.get(location, timeout=_TIMEOUT_S)  # no control token to S3
        if response.status_code != 200:
            raise PlatformError(f"--baseline live: {location} answered {response.status_code}")
        return response.content
    raise PlatformError(f"--baseline live: GetFunction gave no code location ({location!r})")


def _config(data: dict[str, Any]) -> FunctionConfig:
    variables = (data.get("Environment") or {}).get("Variables") or {}
    return FunctionConfig(
        runtime=str(data.get("Runtime") or "python3.11"),
        handler=str(data.get("Handler") or ""),
        timeout=int(data.get("Timeout") or 3),
        memory_size=int(data.get("MemorySize") or 128),
        environment={str(k): str(v) for k, v in variables.items()},
        description=str(data.get("Description") or ""),
    )
