"""Helpers for the CloudFormation loader tests: write a plain template (and its code) and load it.

:data:`STACK` is a complete small stack (function, version, alias with a CodeDeploy deployment
group, alarm, REST API from Resource/Method resources, deployment and stage); tests change it
with :func:`with_resource` or plain string edits.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

from apicanary.project.cfn_yaml import load_cfn_yaml
from apicanary.project.loader import load_project
from apicanary.project.specs import Project

STACK = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Code: src/
  FnVersion:
    Type: AWS::Lambda::Version
    Properties:
      FunctionName: !Ref Fn
  Live:
    Type: AWS::Lambda::Alias
    Properties:
      FunctionName: !Ref Fn
      FunctionVersion: !GetAtt FnVersion.Version
      Name: live
    UpdatePolicy:
      CodeDeployLambdaAliasUpdate:
        ApplicationName: !Ref App
        DeploymentGroupName: !Ref Group
  App:
    Type: AWS::CodeDeploy::Application
    Properties: {ComputePlatform: Lambda}
  Group:
    Type: AWS::CodeDeploy::DeploymentGroup
    Properties:
      ApplicationName: !Ref App
      DeploymentConfigName: CodeDeployDefault.LambdaLinear10PercentEvery1Minute
      AlarmConfiguration:
        Enabled: true
        Alarms: [{Name: !Ref Errors}]
  Errors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions: [{Name: Resource, Value: !Sub "${Fn}:live"}]
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: shop}
  Items:
    Type: AWS::ApiGateway::Resource
    Properties:
      RestApiId: !Ref Api
      ParentId: !GetAtt Api.RootResourceId
      PathPart: items
  ItemsGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Items
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Join
          - ""
          - ["arn:", !Ref AWS::Partition, ":apigateway:", !Ref AWS::Region,
             ":lambda:path/2015-03-31/functions/", !Ref Live, "/invocations"]
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: ItemsGet
    Properties: {RestApiId: !Ref Api}
  Stage:
    Type: AWS::ApiGateway::Stage
    Properties:
      RestApiId: !Ref Api
      DeploymentId: !Ref Deployment
      StageName: prod
"""


def write(root: Path, body: str, *, name: str = "template.yaml") -> Path:
    """Write ``body`` (dedented) as a template under ``root``, with a ``src/`` handler."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    path = root / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def load(root: Path, body: str = STACK, **kwargs: Any) -> Project:
    """Write ``body`` under ``root`` and load it."""
    return load_project(write(root, body), **kwargs)


def edited(changes: dict[str, Any], body: str = STACK) -> str:
    """``body`` with resources replaced (a mapping), added, or removed (``None``)."""
    document = load_cfn_yaml(body, "template.yaml")
    for lid, resource in changes.items():
        if resource is None:
            document["Resources"].pop(lid, None)
        else:
            document["Resources"][lid] = resource
    return yaml.dump(document, sort_keys=False)
