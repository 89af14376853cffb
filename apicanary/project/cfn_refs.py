"""What ``Ref`` and ``Fn::GetAtt`` yield for the CloudFormation resource types the loader reads.

On the local stack (see :mod:`apicanary.project.intrinsics` for functions, alarms and the rest):

* ``AWS::Lambda::Alias``: ``Ref`` and ``AliasArn`` → the alias ARN (``…:function:<fn>:<Name>``);
* ``AWS::Lambda::Version``: its number exists only once the engine publishes it, so ``Ref`` and
  ``Version``/``FunctionArn`` are refused, except where the loader reads the Version resource
  itself (an alias's ``FunctionVersion`` and ``RoutingConfig``);
* ``AWS::ApiGateway::Stage``: ``Ref`` → the stage name; ``AWS::ApiGateway::RestApi``: ``Ref`` →
  its logical id (the engine makes the real id), ``RootResourceId`` → ``<api>.RootResourceId``;
  ``Resource``/``Deployment``: ``Ref`` → the logical id, which the loader reads back;
* ``AWS::CodeDeploy::Application``/``DeploymentGroup``/``DeploymentConfig``: ``Ref`` → the
  resource's name property, else its logical id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apicanary.arns import function_arn, split_function_name
from apicanary.project.fields import as_mapping, as_str, fail, show
from apicanary.project.intrinsics import Resolver

FUNCTION: Final = "AWS::Lambda::Function"
VERSION: Final = "AWS::Lambda::Version"
ALIAS: Final = "AWS::Lambda::Alias"
PERMISSION: Final = "AWS::Lambda::Permission"
REST_API: Final = "AWS::ApiGateway::RestApi"
API_RESOURCE: Final = "AWS::ApiGateway::Resource"
METHOD: Final = "AWS::ApiGateway::Method"
DEPLOYMENT: Final = "AWS::ApiGateway::Deployment"
STAGE: Final = "AWS::ApiGateway::Stage"
CODEDEPLOY_APPLICATION: Final = "AWS::CodeDeploy::Application"
DEPLOYMENT_GROUP: Final = "AWS::CodeDeploy::DeploymentGroup"
DEPLOYMENT_CONFIG: Final = "AWS::CodeDeploy::DeploymentConfig"
ROOT_RESOURCE: Final = ".RootResourceId"

_NAME_PROPERTIES: Final = {
    CODEDEPLOY_APPLICATION: "ApplicationName",
    DEPLOYMENT_GROUP: "DeploymentGroupName",
    DEPLOYMENT_CONFIG: "DeploymentConfigName",
    STAGE: "StageName",
}


def root_resource_id(api: str) -> str:
    """The local stand-in for ``Fn::GetAtt <api>.RootResourceId``."""
    return api + ROOT_RESOURCE


class CfnReferences:
    """The :class:`~apicanary.project.intrinsics.ResourceReferences` of a CloudFormation stack."""

    def __init__(self, resources: Mapping[str, Mapping[str, Any]]) -> None:
        self._resources = resources
        self._resolver: Resolver | None = None

    def bind(self, resolver: Resolver) -> None:
        """Use ``resolver`` for the properties a reference depends on (an alias's function)."""
        self._resolver = resolver

    def ref(self, logical_id: str, path: str) -> Any | None:
        kind = self._resources[logical_id]["Type"]
        if kind == VERSION:
            raise _unpublished(f"Ref {logical_id}", path)
        if kind == ALIAS:
            return self.alias_arn(logical_id)
        if kind in _NAME_PROPERTIES:
            return self._name(logical_id, _NAME_PROPERTIES[kind])
        return None

    def get_att(self, logical_id: str, attribute: str, path: str) -> Any | None:
        kind = self._resources[logical_id]["Type"]
        if kind == VERSION and attribute in ("Version", "FunctionArn"):
            raise _unpublished(f"Fn::GetAtt {logical_id}.{attribute}", path)
        if kind == ALIAS and attribute == "AliasArn":
            return self.alias_arn(logical_id)
        if kind == REST_API and attribute == "RootResourceId":
            return root_resource_id(logical_id)
        if (kind, attribute) in ((API_RESOURCE, "ResourceId"), (DEPLOYMENT, "DeploymentId")):
            return logical_id
        return None

    def alias_function(self, logical_id: str) -> str:
        """The name of the function alias ``logical_id`` belongs to."""
        base = f"Resources.{logical_id}.Properties"
        props = self._properties(logical_id)
        value = as_str(self._resolve(props.get("FunctionName"), f"{base}.FunctionName"), base)
        parts = split_function_name(value)
        if parts is None or parts[1] is not None:
            raise fail(f"{base}.FunctionName", f"{show(value)} is not an unqualified function")
        return parts[0]

    def alias_arn(self, logical_id: str) -> str:
        """``arn:…:function:<function>:<alias name>`` of alias ``logical_id``."""
        path = f"Resources.{logical_id}.Properties.Name"
        name = as_str(self._resolve(self._properties(logical_id).get("Name"), path), path)
        assert self._resolver is not None
        ctx = self._resolver.context
        return function_arn(
            self.alias_function(logical_id), name, region=ctx.region, account=ctx.account_id
        )

    def _name(self, logical_id: str, prop: str) -> str:
        raw = self._properties(logical_id).get(prop)
        if raw is None:
            return logical_id
        path = f"Resources.{logical_id}.Properties.{prop}"
        return as_str(self._resolve(raw, path), path)

    def _properties(self, logical_id: str) -> Mapping[str, Any]:
        props = self._resources[logical_id].get("Properties") or {}
        return as_mapping(props, f"Resources.{logical_id}.Properties")

    def _resolve(self, value: Any, path: str) -> Any:
        assert self._resolver is not None, "bind() a resolver first"
        return self._resolver.resolve(value, path)


def _unpublished(what: str, path: str) -> Exception:
    return fail(
        path,
        f"{what} (an AWS::Lambda::Version) has no value before the engine publishes it; the "
        "local engine reads a Version only as an alias's FunctionVersion or RoutingConfig",
    )
