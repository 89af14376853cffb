"""doctor on CloudFormation projects: the Lambda permissions API Gateway needs are explicit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apicanary.project.doctor import check_project
from tests.support.cfn import edited, load


def permission(function_name: Any) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction", "FunctionName": function_name,
        "Principal": "apigateway.amazonaws.com"}}  # fmt: skip


def messages(root: Path, changes: dict[str, Any]) -> list[str]:
    findings = check_project(load(root, edited(changes)))
    return [f"{f.level} {f.check} {f.message}" for f in findings if f.check == "permissions"]


def test_a_route_to_an_alias_needs_a_permission_on_that_alias(tmp_path: Path) -> None:
    assert messages(tmp_path / "none", {}) == [
        "warning permissions GET /items on shop invokes Fn:live, which no "
        "AWS::Lambda::Permission lets API Gateway invoke: on AWS the route answers 500"
    ]
    # a statement on the unqualified function does not cover invocations of the alias
    unqualified = {"Invoke": permission({"Ref": "Fn"})}
    assert len(messages(tmp_path / "unqualified", unqualified)) == 1
    assert messages(tmp_path / "alias", {"Invoke": permission({"Ref": "Live"})}) == []


def test_every_alias_a_stage_variable_can_select(tmp_path: Path) -> None:
    uri = {"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                      "${Fn.Arn}:${!stageVariables.alias}/invocations"}  # fmt: skip
    method = {"Type": "AWS::ApiGateway::Method", "Properties": {
        "RestApiId": {"Ref": "Api"}, "ResourceId": {"Ref": "Items"}, "HttpMethod": "GET",
        "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri},
    }}  # fmt: skip
    stage = {"Type": "AWS::ApiGateway::Stage", "Properties": {
        "RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Deployment"}, "StageName": "prod",
        "Variables": {"alias": "live"},
        "CanarySetting": {"PercentTraffic": 10, "StageVariableOverrides": {"alias": "beta"}},
    }}  # fmt: skip
    changes = {"ItemsGet": method, "Stage": stage, "Invoke": permission({"Ref": "Live"})}
    assert messages(tmp_path, changes) == [
        "warning permissions GET /items on shop invokes Fn:beta, which no "
        "AWS::Lambda::Permission lets API Gateway invoke: on AWS the route answers 500"
    ]


def test_sam_projects_are_not_asked_for_permissions(tmp_path: Path) -> None:
    from tests.support.sam import load as load_sam

    project = load_sam(tmp_path, """\
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.handler
              Runtime: python3.12
              AutoPublishAlias: live
              Events:
                Get: {Type: Api, Properties: {Path: /x, Method: get}}
        """)  # fmt: skip
    assert project.permissions == () and project.kind == "sam"
    assert [f for f in check_project(project) if f.check == "permissions"] == []
