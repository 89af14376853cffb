"""The read-only view of HTTP API state that the data plane routes with.

Built from committed state and never changed afterwards, so the gateway holds one reference
and swaps it atomically on every committed change (like the REST
:mod:`apicanary.engine.apigateway.snapshot`). Only deployments a stage points to are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class HttpRouteSnapshot:
    """One route of a deployment: its key and the integration it targets (frozen at deploy).

    ``route_key`` is ``"GET /items/{id}"``, ``"ANY /{proxy+}"`` or ``"$default"``;
    ``integration_type`` is ``None`` when the route has no target (AWS answers 500 for it).
    """

    route_key: str
    integration_type: str | None
    integration_uri: str | None
    payload_format_version: str
    timeout_in_millis: int


@dataclass(frozen=True, slots=True)
class HttpDeploymentSnapshot:
    id: str
    routes: tuple[HttpRouteSnapshot, ...]


@dataclass(frozen=True, slots=True)
class HttpStageSnapshot:
    """A stage: name (``$default`` or a named stage), its deployment, its variables."""

    name: str
    deployment_id: str
    variables: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class HttpApiSnapshot:
    """An HTTP API with its deployed stages (by name) and their deployments (by id)."""

    id: str
    name: str
    stages: Mapping[str, HttpStageSnapshot]
    deployments: Mapping[str, HttpDeploymentSnapshot]


@dataclass(frozen=True, slots=True)
class HttpGatewaySnapshot:
    """Every HTTP API (by id), as of ``revision`` of the HTTP API state."""

    revision: int
    apis: Mapping[str, HttpApiSnapshot]


EMPTY_HTTP_SNAPSHOT = HttpGatewaySnapshot(-1, MappingProxyType({}))
