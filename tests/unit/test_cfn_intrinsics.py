"""Intrinsics in a CloudFormation template: what Ref/Fn::GetAtt yield for the resource types the
loader reads, the string functions URIs are built with, and Fn::If over Conditions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apicanary.errors import TemplateError
from apicanary.project.cfn_template import CfnTemplate
from apicanary.project.intrinsics import NO_VALUE, StackContext

RESOURCES: dict[str, Any] = {
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "orders"}},
    "Plain": {"Type": "AWS::Lambda::Function", "Properties": {}},
    "FnVersion": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
    "Live": {
        "Type": "AWS::Lambda::Alias",
        "Properties": {"FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]}, "Name": "live"},
    },
    "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}},
    "Items": {"Type": "AWS::ApiGateway::Resource", "Properties": {}},
    "Deployment": {"Type": "AWS::ApiGateway::Deployment", "Properties": {}},
    "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {"StageName": {"Ref": "Env"}}},
    "App": {"Type": "AWS::CodeDeploy::Application", "Properties": {}},
    "Group": {
        "Type": "AWS::CodeDeploy::DeploymentGroup",
        "Properties": {"DeploymentGroupName": "orders-group"},
    },
    "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
}
TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Env": {"Type": "String", "Default": "prod"},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a,b,c"},
    },
    "Mappings": {"Sizes": {"prod": {"Memory": "512"}}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "IsEu": {"Fn::Equals": ["eu-west-1", {"Ref": "AWS::Region"}]},
        "ProdInEu": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "IsEu"}]},
        "ProdOrEu": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsEu"}]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        "Loop": {"Fn::Not": [{"Condition": "Loop2"}]},
        "Loop2": {"Fn::Not": [{"Condition": "Loop"}]},
        "Bad": {"Fn::And": [{"Condition": "IsProd"}]},
    },
    "Resources": RESOURCES,
}
ALIAS_ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders:live"


def resolve(value: Any, **overrides: str) -> Any:
    template = CfnTemplate(TEMPLATE, Path("/x/template.yaml"), overrides, StackContext())
    return template.resolver.resolve(value, "X")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Fn"}, "orders"),
        ({"Ref": "Plain"}, "Plain"),
        ({"Fn::GetAtt": ["Fn", "Arn"]}, "arn:aws:lambda:us-east-1:123456789012:function:orders"),
        ({"Ref": "Live"}, ALIAS_ARN),
        ({"Fn::GetAtt": "Live.AliasArn"}, ALIAS_ARN),
        ({"Ref": "Api"}, "Api"),
        ({"Fn::GetAtt": ["Api", "RootResourceId"]}, "Api.RootResourceId"),
        ({"Ref": "Items"}, "Items"),
        ({"Fn::GetAtt": ["Items", "ResourceId"]}, "Items"),
        ({"Fn::GetAtt": ["Deployment", "DeploymentId"]}, "Deployment"),
        ({"Ref": "Stage"}, "prod"),
        ({"Ref": "App"}, "App"),
        ({"Ref": "Group"}, "orders-group"),
        ({"Ref": "Table"}, "Table"),
        (
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":apigateway:",
                        {"Ref": "AWS::Region"},
                        ":lambda:path/2015-03-31/functions/",
                        {"Ref": "Live"},
                        "/invocations",
                    ],
                ]
            },
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            f"{ALIAS_ARN}/invocations",
        ),
        (
            {"Fn::Sub": "${Fn.Arn}:${!stageVariables.alias}|${stageVariables.alias}|${!Keep}"},
            "arn:aws:lambda:us-east-1:123456789012:function:orders:${stageVariables.alias}"
            "|${stageVariables.alias}|${Keep}",
        ),
        (
            {"Fn::Sub": ["${Target}/invocations", {"Target": {"Ref": "Live"}}]},
            f"{ALIAS_ARN}/invocations",
        ),
        ({"Fn::Select": [1, {"Ref": "Zones"}]}, "b"),
        ({"Fn::Select": ["0", {"Fn::Split": [":", {"Ref": "Live"}]}]}, "arn"),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Memory"]}, "512"),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::If": ["IsProd", "p", "d"]}, "p"),
        ({"Fn::If": ["NotProd", "p", {"Ref": "AWS::NoValue"}]}, NO_VALUE),
        ({"Fn::If": ["ProdInEu", 1, 2]}, 2),
        ({"Fn::If": ["ProdOrEu", 1, 2]}, 1),
        ({"K": {"Fn::If": ["IsEu", 1, {"Ref": "AWS::NoValue"}]}}, {}),
    ],
)
def test_resolves(value: Any, expected: Any) -> None:
    assert resolve(value) == expected


def test_conditions_follow_parameters() -> None:
    assert resolve({"Fn::If": ["IsProd", "p", "d"]}, Env="dev") == "d"
    assert resolve({"Fn::If": ["ProdOrEu", 1, 2]}, Env="dev") == 2
    assert resolve({"Ref": "Stage"}, Env="dev") == "dev"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"Ref": "FnVersion"},
            "X: Ref FnVersion (an AWS::Lambda::Version) has no value before the engine "
            "publishes it; the local engine reads a Version only as an alias's FunctionVersion",
        ),
        ({"Fn::GetAtt": ["FnVersion", "Version"]}, "X: Fn::GetAtt FnVersion.Version (an AWS::"),
        (
            {"Fn::GetAtt": ["Api", "Arn"]},
            "X: Fn::GetAtt Api.Arn (AWS::ApiGateway::RestApi) is not supported by the local",
        ),
        ({"Fn::If": ["Nope", 1, 2]}, 'X[0]: condition "Nope" is not in Conditions'),
        ({"Fn::If": ["IsProd", 1]}, "X: Fn::If needs [condition, value if true, value if false]"),
        ({"Fn::If": ["Loop", 1, 2]}, "Conditions.Loop: refers to itself (Loop -> Loop2 -> Loop)"),
        ({"Fn::If": ["Bad", 1, 2]}, "Conditions.Bad.Fn::And: Fn::And needs 2 to 10 conditions"),
        (
            {"Fn::Equals": ["a", "a"]},
            "X: Fn::Equals is not supported by the local engine (condition functions belong in "
            "the Conditions section)",
        ),
        ({"Fn::ImportValue": "shared"}, "X: Fn::ImportValue is not supported by the local engine"),
    ],
)
def test_refused_with_the_reason(value: Any, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        resolve(value)
    assert str(info.value).startswith(message), str(info.value)


def test_a_resource_with_a_false_condition_is_not_created() -> None:
    template = dict(TEMPLATE)
    template["Resources"] = {
        **RESOURCES,
        "EuOnly": {"Type": "AWS::Lambda::Function", "Condition": "IsEu"},
        "ProdOnly": {"Type": "AWS::Lambda::Function", "Condition": "IsProd"},
    }
    loaded = CfnTemplate(template, Path("/x/t.yaml"), None, StackContext())
    assert loaded.ids_of("AWS::Lambda::Function") == ["Fn", "Plain", "ProdOnly"]
    in_eu = CfnTemplate(template, Path("/x/t.yaml"), None, StackContext(region="eu-west-1"))
    assert in_eu.ids_of("AWS::Lambda::Function") == ["Fn", "Plain", "EuOnly", "ProdOnly"]
