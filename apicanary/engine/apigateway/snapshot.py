"""The read-only view of API Gateway state that the data plane routes with.

A :class:`GatewaySnapshot` is built from committed state and never changes afterwards
(frozen dataclasses, tuples, read-only mappings), so the gateway can hold one reference
and swap it atomically when the control plane changes. Only deployments that a stage or a
stage canary points to are included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

_V = TypeVar("_V")
_EMPTY: Mapping[str, str] = MappingProxyType({})


def frozen_map(values: Mapping[str, _V] | None) -> Mapping[str, _V]:
    """A read-only copy of ``values``."""
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True, slots=True)
class RouteSnapshot:
    """One method of one resource in a deployment, with its integration.

    ``resource_path`` is the template (``/items/{id}``, ``/{proxy+}``); ``http_method`` may be
    ``ANY``. ``integration_uri`` may contain ``${stageVariables.x}``: the gateway substitutes
    them per request, after the canary choice. ``integration_http_method`` is the method the
    integration is called with (Lambda needs ``POST``; AWS accepts others and fails the
    request with 500, which the gateway should mirror).
    """

    resource_path: str
    resource_id: str
    http_method: str
    integration_type: str
    integration_uri: str | None
    integration_http_method: str | None
    timeout_in_millis: int


@dataclass(frozen=True, slots=True)
class DeploymentSnapshot:
    """An immutable deployment: its id and routes (sorted by path, then method), and the
    API's ``binaryMediaTypes`` as they were when it was made (``None``: not recorded, the
    API's current ones apply)."""

    id: str
    routes: tuple[RouteSnapshot, ...]
    binary_media_types: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class CanarySnapshot:
    """A stage canary: ``percent_traffic`` in [0, 100], the canary deployment and overrides."""

    percent_traffic: float
    deployment_id: str
    stage_variable_overrides: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    use_stage_cache: bool = False


@dataclass(frozen=True, slots=True)
class StageSnapshot:
    """A stage: name, production deployment, variables, and its canary (or ``None``)."""

    name: str
    deployment_id: str
    variables: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    canary: CanarySnapshot | None = None


@dataclass(frozen=True, slots=True)
class ApiSnapshot:
    """A REST API with its stages (by name) and the deployments they reference (by id)."""

    id: str
    name: str
    binary_media_types: tuple[str, ...]
    stages: Mapping[str, StageSnapshot]
    deployments: Mapping[str, DeploymentSnapshot]
    #: customized gateway responses by type, as PutGatewayResponse stored them
    gateway_responses: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True, slots=True)
class GatewaySnapshot:
    """Every REST API (by id), as of ``revision`` of the API Gateway state."""

    revision: int
    apis: Mapping[str, ApiSnapshot]
