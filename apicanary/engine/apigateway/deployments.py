"""Deployments and stages: snapshots of an API's routes, and the stages (with their canaries)
that serve them (reference/aws-semantics.md §2.3, §2.4).

:class:`DeploymentOps` works inside the caller's transaction (a :class:`Tables`), like
:class:`~.resources.ResourceOps`; every operation takes its time once (``now``), so a
deployment and the stage it creates or repoints carry the same date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from apicanary.engine.apigateway import errors as err
from apicanary.engine.apigateway import validate as valid
from apicanary.engine.apigateway.build import capture_routes
from apicanary.engine.apigateway.patch import apply_stage_patch
from apicanary.engine.apigateway.stage import (
    canary_from_input,
    new_stage,
    referenced_deployments,
    render_stage,
)
from apicanary.engine.apigateway.tables import Tables

_STAGE_SETTINGS = ("tracingEnabled", "cacheClusterEnabled", "cacheClusterSize")


class DeploymentOps:
    """Deployment and stage writes through ``tables`` at time ``now`` (epoch seconds);
    ``new_id(n)`` makes an n-char id."""

    def __init__(self, tables: Tables, new_id: Callable[[int], str], now: int) -> None:
        self.tables = tables
        self.new_id = new_id
        self.now = now

    # -- deployments -----------------------------------------------------------------------------

    def create_deployment(self, api_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """CreateDeployment: snapshot the API; with ``stageName`` create or repoint the stage;
        with ``canarySettings`` make the new deployment the stage's canary (the stage must
        exist; its production deployment is unchanged)."""
        tables = self.tables
        stage_name = fields.get("stageName")
        if stage_name is not None and not isinstance(stage_name, str):
            raise err.bad_request(f"Invalid stageName {stage_name!r}: a string is required")
        canary_input = fields.get("canarySettings")
        if canary_input is not None and not isinstance(canary_input, Mapping):
            raise err.bad_request("canarySettings must be an object")
        api = tables.api_or_fail(api_id)
        stage = None
        if canary_input is not None:
            if not stage_name:
                raise err.canary_needs_stage_name(stage_name)
            stage = tables.stage(api_id, stage_name)
            if stage is None:
                raise err.canary_needs_existing_stage(stage_name)
        elif stage_name:
            valid.stage_name(stage_name)
            stage = tables.stage(api_id, stage_name)
            if stage is not None and stage.get("canarySettings") is not None:
                raise err.non_canary_deployment_on_canary_stage(stage_name)
        valid.variables(fields.get("variables"))
        routes = capture_routes(tables, api_id)
        deployment: dict[str, Any] = {"id": self._fresh_deployment_id(api_id)}
        if fields.get("description") is not None:
            deployment["description"] = fields["description"]
        deployment["createdDate"] = self.now
        settings = {"binaryMediaTypes": list(api.get("binaryMediaTypes") or [])}
        tables.insert_deployment(api_id, deployment, routes, settings)
        if stage_name:
            self._deploy_to_stage(api_id, stage_name, stage, deployment["id"], fields)
        return deployment

    def delete_deployment(self, api_id: str, deployment_id: str) -> None:
        """Refused while a stage, or a stage's canary, points to the deployment."""
        tables = self.tables
        tables.api_or_fail(api_id)
        tables.deployment_or_fail(api_id, deployment_id)
        for stage in tables.stages(api_id):
            if stage["deploymentId"] == deployment_id:
                raise err.bad_request(err.DEPLOYMENT_IN_USE)
            if deployment_id in referenced_deployments(stage):
                raise err.bad_request(err.DEPLOYMENT_IN_USE_BY_CANARY)
        tables.delete_deployment(api_id, deployment_id)

    # -- stages ----------------------------------------------------------------------------------

    def create_stage(self, api_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """CreateStage, with optional ``canarySettings`` (whose deployment must exist)."""
        tables = self.tables
        tables.api_or_fail(api_id)
        name = valid.stage_name(fields.get("stageName"))
        deployment_id = self._existing_deployment(api_id, fields.get("deploymentId"))
        if tables.stage(api_id, name) is not None:
            raise err.conflict(err.STAGE_EXISTS)
        self._check_stage_limit(api_id)
        canary = None
        if fields.get("canarySettings") is not None:
            canary = canary_from_input(fields["canarySettings"], deployment_id)
            self._existing_deployment(api_id, canary["deploymentId"])
        stage = new_stage(
            name,
            deployment_id,
            self.now,
            description=fields.get("description"),
            variables=valid.variables(fields.get("variables")),
            canary=canary,
            tracing_enabled=fields.get("tracingEnabled"),
            cache_cluster_enabled=fields.get("cacheClusterEnabled"),
            cache_cluster_size=fields.get("cacheClusterSize"),
            tags=fields.get("tags"),
        )
        tables.put_stage(api_id, stage)
        return render_stage(stage)

    def update_stage(
        self, api_id: str, stage_name: str, operations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """UpdateStage: JSON-patch ``operations`` with the canary semantics of §2.4."""
        tables = self.tables
        tables.api_or_fail(api_id)
        stage = tables.stage_or_fail(api_id, stage_name)

        def exists(deployment_id: str) -> bool:
            return tables.deployment(api_id, deployment_id) is not None

        updated = apply_stage_patch(stage, operations, exists)
        updated["lastUpdatedDate"] = self.now
        tables.put_stage(api_id, updated)
        return render_stage(updated)

    # -- internals -------------------------------------------------------------------------------

    def _fresh_deployment_id(self, api_id: str) -> str:
        deployment_id = self.new_id(6)
        while self.tables.deployment(api_id, deployment_id) is not None:
            deployment_id = self.new_id(6)
        return deployment_id

    def _existing_deployment(self, api_id: str, deployment_id: Any) -> str:
        if (
            not isinstance(deployment_id, str)
            or self.tables.deployment(api_id, deployment_id) is None
        ):
            raise err.bad_request(err.DEPLOYMENT_ID_UNKNOWN)
        return deployment_id

    def _check_stage_limit(self, api_id: str) -> None:
        count = len(self.tables.stages(api_id))
        if count >= valid.MAX_STAGES_PER_API:
            raise err.limit_exceeded(
                f"Stage limit reached: the API already has {count} stages; "
                f"the limit is {valid.MAX_STAGES_PER_API} per API"
            )

    def _deploy_to_stage(
        self,
        api_id: str,
        stage_name: str,
        stage: dict[str, Any] | None,
        deployment_id: str,
        fields: Mapping[str, Any],
    ) -> None:
        """Point ``stage_name`` (created if missing) or its canary at ``deployment_id``.

        ``variables`` merge into the stage's variables ([Unverified]: AWS does not document
        replace-vs-merge); ``stageDescription`` sets the stage's description.
        """
        variables = valid.variables(fields.get("variables"))
        canary_input = fields.get("canarySettings")
        if stage is None:
            self._check_stage_limit(api_id)
            stage = new_stage(
                stage_name,
                deployment_id,
                self.now,
                description=fields.get("stageDescription"),
                variables=variables,
                tracing_enabled=fields.get("tracingEnabled"),
                cache_cluster_enabled=fields.get("cacheClusterEnabled"),
                cache_cluster_size=fields.get("cacheClusterSize"),
            )
        else:
            if canary_input is not None:
                new_canary_input = {**canary_input, "deploymentId": None}
                stage["canarySettings"] = canary_from_input(new_canary_input, deployment_id)
            else:
                stage["deploymentId"] = deployment_id
            stage["variables"].update(variables)
            valid.variable_count(stage["variables"])
            if fields.get("stageDescription") is not None:
                stage["description"] = fields["stageDescription"]
            for key in _STAGE_SETTINGS:
                if fields.get(key) is not None:
                    stage[key] = fields[key]
            stage["lastUpdatedDate"] = self.now
        self.tables.put_stage(api_id, stage)
