"""A malformed CloudFormation resource fails with one sentence naming the resource, the property,
the value and the limit (exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apicanary.errors import TemplateError
from tests.support.cfn import STACK, edited, load, write

T = "template.yaml: Resources"
ALIAS = {"FunctionName": {"Ref": "Fn"}, "FunctionVersion": {"Fn::GetAtt": ["FnVersion", "Version"]},
         "Name": "live"}  # fmt: skip
POLICY = {"CodeDeployLambdaAliasUpdate": {"ApplicationName": {"Ref": "App"},
                                          "DeploymentGroupName": {"Ref": "Group"}}}  # fmt: skip
METHOD = {"RestApiId": {"Ref": "Api"}, "ResourceId": {"Ref": "Items"}, "HttpMethod": "POST",
          "Integration": {"Type": "MOCK"}}  # fmt: skip


def alias(properties: dict[str, Any] | None = None, policy: Any = POLICY) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Alias", "Properties": {**ALIAS, **(properties or {})},
            "UpdatePolicy": policy}  # fmt: skip


def method(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::ApiGateway::Method", "Properties": {**METHOD, **properties}}


def resource(parent: Any, part: str) -> dict[str, Any]:
    properties = {"RestApiId": {"Ref": "Api"}, "ParentId": parent, "PathPart": part}
    return {"Type": "AWS::ApiGateway::Resource", "Properties": properties}


def stage(**properties: Any) -> dict[str, Any]:
    base = {"RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Deployment"}, "StageName": "prod"}
    return {"Type": "AWS::ApiGateway::Stage", "Properties": {**base, **properties}}


CASES: list[tuple[dict[str, Any], str]] = [
    (
        {"Live": alias({"FunctionVersion": "3"})},
        f'{T}.Live.Properties.FunctionVersion: "3" is not supported locally: the engine publishes '
        "versions itself, so an alias must point at a Version resource of Fn",
    ),
    ({"Live": alias({"FunctionVersion": "$LATEST"})}, f"{T}.Live.Properties.FunctionVersion: "),
    ({"Live": alias({"Name": "123"})}, f'{T}.Live.Properties.Name: "123" is not valid: an alias'),
    (
        {
            "Live": alias(
                {
                    "RoutingConfig": {
                        "AdditionalVersionWeights": [
                            {"FunctionVersion": "1", "FunctionWeight": 0.1},
                            {"FunctionVersion": "2", "FunctionWeight": 0.1},
                        ]
                    }
                }
            )
        },
        f"{T}.Live.Properties.RoutingConfig.AdditionalVersionWeights: 2 items: Number of items "
        "in AdditionalVersionWeights cannot be greater than 1",
    ),
    (
        {
            "Live": alias(
                {
                    "RoutingConfig": {
                        "AdditionalVersionWeights": [
                            {"FunctionVersion": "2", "FunctionWeight": 1.5}
                        ]
                    }
                }
            )
        },
        f"{T}.Live.Properties.RoutingConfig.AdditionalVersionWeights[0].FunctionWeight: 1.5 is "
        "out of range: must be 0.0..1.0",
    ),
    (
        {
            "Live": alias(
                {
                    "RoutingConfig": {
                        "AdditionalVersionWeights": [
                            {"FunctionVersion": "latest", "FunctionWeight": 0.5}
                        ]
                    }
                }
            )
        },
        f'{T}.Live.Properties.RoutingConfig.AdditionalVersionWeights[0].FunctionVersion: "latest" '
        "is not valid: must be a version number",
    ),
    (
        {
            "Live": alias(
                policy={
                    "CodeDeployLambdaAliasUpdate": {
                        "ApplicationName": "a",
                        "DeploymentGroupName": "nope",
                    }
                }
            )
        },
        f'{T}.Live.UpdatePolicy.CodeDeployLambdaAliasUpdate.DeploymentGroupName: "nope" is no '
        "AWS::CodeDeploy::DeploymentGroup of this template (deployment groups: Group)",
    ),
    (
        {"Live": alias(policy={"CodeDeployLambdaAliasUpdate": {"DeploymentGroupName": "x"}})},
        f"{T}.Live.UpdatePolicy.CodeDeployLambdaAliasUpdate.ApplicationName: is required",
    ),
    (
        {
            "Live": alias(
                policy={
                    "CodeDeployLambdaAliasUpdate": {
                        **POLICY["CodeDeployLambdaAliasUpdate"],
                        "BeforeTraffic": "x",
                    }
                }
            )
        },
        f"{T}.Live.UpdatePolicy.CodeDeployLambdaAliasUpdate.BeforeTraffic: is not a "
        "CodeDeployLambdaAliasUpdate property",
    ),
    (
        {
            "Group": {
                "Type": "AWS::CodeDeploy::DeploymentGroup",
                "Properties": {
                    "ApplicationName": "a",
                    "AlarmConfiguration": {"Alarms": [{"Name": f"a{i}"} for i in range(11)]},
                },
            }
        },
        f"{T}.Group.Properties.AlarmConfiguration.Alarms: 11 alarms: a deployment group takes at "
        "most 10",
    ),
    (
        {
            "Post": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {k: v for k, v in METHOD.items() if k != "Integration"},
            }
        },
        f"{T}.Post.Properties.Integration: is required: API Gateway deploys no method without an "
        "integration",
    ),
    (
        {"Post": method(HttpMethod="FETCH")},
        f'{T}.Post.Properties.HttpMethod: "FETCH" is not an HTTP method: allowed are GET, PUT',
    ),
    (
        {"Post": method(ResourceId="Elsewhere")},
        f'{T}.Post.Properties.ResourceId: "Elsewhere" is no resource of Api: use !GetAtt '
        "Api.RootResourceId or !Ref of one of its AWS::ApiGateway::Resource",
    ),
    (
        {
            "Post": method(
                Integration={
                    "Type": "AWS_PROXY",
                    "IntegrationHttpMethod": "GET",
                    "Uri": {
                        "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:"
                        "path/2015-03-31/functions/${Fn.Arn}/invocations"
                    },
                }
            )
        },
        f'{T}.Post.Properties.Integration.IntegrationHttpMethod: "GET" is not allowed: a Lambda '
        "integration is invoked with POST",
    ),
    (
        {"Post": method(Integration={"Type": "LAMBDA"})},
        f'{T}.Post.Properties.Integration.Type: "LAMBDA" is not an integration type: allowed are '
        "AWS_PROXY, AWS, HTTP_PROXY, HTTP, MOCK",
    ),
    (
        {"Post": method(Integration={"Type": "HTTP_PROXY"})},
        f"{T}.Post.Properties.Integration.Uri: is required for a HTTP_PROXY integration",
    ),
    (
        {"Post": method(Integration={"Type": "MOCK", "TimeoutInMillis": 30000})},
        f"{T}.Post.Properties.Integration.TimeoutInMillis: 30000 is out of range: must be "
        "50..29000 milliseconds",
    ),
    (
        {"Bad": resource({"Ref": "Items"}, "a b")},
        f'{T}.Bad.Properties.PathPart: "a b" is not a path part',
    ),
    (
        {"A": resource({"Ref": "B"}, "a"), "B": resource({"Ref": "A"}, "b")},
        f"{T}.A.Properties.ParentId: the resource tree loops (A -> B -> A)",
    ),
    (
        {"Proxy": resource({"Ref": "Items"}, "{proxy+}"), "Under": resource({"Ref": "Proxy"}, "x")},
        f"{T}.Under.Properties.ParentId: /items/{{proxy+}} is greedy: it can have no child",
    ),
    (
        {"Orphan": resource({"Ref": "Nowhere"}, "x")},
        f"{T}.Orphan.Properties.ParentId: Ref to 'Nowhere': not a parameter, resource",
    ),
    (
        {"Stage": stage(StageName="pr od")},
        f'{T}.Stage.Properties.StageName: "pr od" is not valid: 1-128 letters',
    ),
    (
        {"Again": stage()},
        f'{T}.Again.Properties.StageName: "prod" is a stage of Api already',
    ),
    (
        {"Stage": stage(CanarySetting={"DeploymentId": "Other", "PercentTraffic": 10})},
        f'{T}.Stage.Properties.CanarySetting.DeploymentId: "Other" is no '
        "AWS::ApiGateway::Deployment of Api",
    ),
    (
        {"Stage": stage(CanarySetting={"PercentTraffic": 150})},
        f"{T}.Stage.Properties.CanarySetting.PercentTraffic: 150 is out of range: must be "
        "0.0..100.0",
    ),
    (
        {
            "Canary": {
                "Type": "AWS::ApiGateway::Deployment",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "StageName": "beta",
                    "DeploymentCanarySettings": {"PercentTraffic": 10},
                },
            }
        },
        f"{T}.Canary.Properties.DeploymentCanarySettings: stage beta must already be created "
        "before making a canary release deployment",
    ),
    (
        {
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {
                    "Body": {"openapi": "3.0.1", "paths": {}},
                    "BodyS3Location": {"Bucket": "b", "Key": "k"},
                },
            }
        },
        f"{T}.Api.Properties.BodyS3Location: cannot be combined with Body: use one",
    ),
    (
        {
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {"BodyS3Location": {"Bucket": "b", "Key": "api.yaml"}},
            }
        },
        f'{T}.Api.Properties.BodyS3Location.Key: "api.yaml" cannot be read next to the template',
    ),
    (
        {
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {
                    "Body": {
                        "openapi": "3.0.1",
                        "paths": {
                            "/items": {"get": {"x-amazon-apigateway-integration": {"type": "mock"}}}
                        },
                    }
                },
            }
        },
        f"{T}.Api: GET /items is declared by both the Body and a Method resource",
    ),
    (
        {"Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"CloneFrom": "abc"}}},
        f"{T}.Api.Properties.CloneFrom: is not supported locally",
    ),
    (
        {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Runtime": "python3.12", "Handler": "nohandler", "Code": "src"},
            }
        },
        f'{T}.Fn.Properties.Handler: "nohandler" is not valid: must be module.function',
    ),
    (
        {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "app.handler",
                    "Code": "src",
                    "Timeout": 901,
                },
            }
        },
        f"{T}.Fn.Properties.Timeout: 901 is out of range: must be 1..900 seconds",
    ),
    (
        {
            "Twin": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "Fn",
                    "Runtime": "python3.12",
                    "Handler": "app.handler",
                    "Code": "src",
                },
            }
        },
        f'{T}.Twin.Properties.FunctionName: "Fn" is already the name of Fn: names must be unique',
    ),
    (
        {
            "Invoke": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "Live"}},
            }
        },
        f"{T}.Invoke.Properties.Principal: is required",
    ),
    (
        {"Maybe": {"Type": "AWS::IAM::Role", "Condition": "Unknown"}},
        f'{T}.Maybe.Condition: condition "Unknown" is not in Conditions (conditions: none)',
    ),
    (
        {"bad-id": {"Type": "AWS::IAM::Role"}},
        f"{T}.bad-id: a logical id must be alphanumeric",
    ),
]


@pytest.mark.parametrize(("changes", "message"), CASES)
def test_malformed_resources_name_resource_and_property(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(TemplateError) as info:
        load(tmp_path, edited(changes))
    assert info.value.exit_code == 2
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Transform: AWS::LanguageExtensions\n" + STACK, "template.yaml: Transform: "
         '"AWS::LanguageExtensions" is not supported locally: allowed is AWS::Serverless-2016'),
        ("", "template.yaml: the template is empty"),
    ],
)  # fmt: skip
def test_document_level_errors(tmp_path: Path, text: str, message: str) -> None:
    from apicanary.project.loader import load_project

    with pytest.raises(TemplateError) as info:
        load_project(write(tmp_path, text))
    assert str(info.value).startswith(message), str(info.value)
