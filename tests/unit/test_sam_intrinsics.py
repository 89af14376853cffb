from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apicanary.errors import TemplateError
from apicanary.project.intrinsics import NO_VALUE, Resolver, StackContext
from apicanary.project.parameters import resolve_parameters

RESOURCES: dict[str, Any] = {
    "HelloFunction": {"Type": "AWS::Serverless::Function", "Properties": {}},
    "NamedFunction": {
        "Type": "AWS::Serverless::Function",
        "Properties": {"FunctionName": {"Fn::Sub": "${AWS::StackName}-named"}},
    },
    "ErrorsAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "errors"}},
    "PlainAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
    "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
    "MyApi": {"Type": "AWS::Serverless::Api", "Properties": {}},
}
FUNCTIONS = {
    "HelloFunction": {"AutoPublishAlias": "live"},
    "NamedFunction": RESOURCES["NamedFunction"]["Properties"],
}
PARAMETERS = {
    "Stage": {"Type": "String", "Default": "prod"},
    "Size": {"Type": "Number", "Default": 256},
    "Names": {"Type": "CommaDelimitedList", "Default": "a, b,c"},
    "Secret": {"Type": "String"},
}


def resolver(region: str = "eu-west-1", **overrides: str) -> Resolver:
    return Resolver(
        context=StackContext(region=region, account_id="111122223333"),
        parameters=resolve_parameters(PARAMETERS, overrides),
        resources=RESOURCES,
        function_properties=FUNCTIONS,
        implicit_apis=["ServerlessRestApi"],
        mappings={"Env": {"prod": {"Size": "large"}}},
    )


def r(value: Any, **overrides: str) -> Any:
    return resolver(**overrides).resolve(value, "X")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Stage"}, "prod"),
        ({"Ref": "Size"}, "256"),
        ({"Ref": "Names"}, ["a", "b", "c"]),
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Ref": "AWS::AccountId"}, "111122223333"),
        ({"Ref": "AWS::StackName"}, "apicanary-local"),
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Ref": "AWS::URLSuffix"}, "amazonaws.com"),
        ({"Ref": "HelloFunction"}, "HelloFunction"),
        ({"Ref": "NamedFunction"}, "apicanary-local-named"),
        ({"Ref": "ErrorsAlarm"}, "errors"),
        ({"Ref": "PlainAlarm"}, "PlainAlarm"),
        ({"Ref": "Table"}, "Table"),
        ({"Ref": "MyApi"}, "MyApi"),
        ({"Ref": "ServerlessRestApi"}, "ServerlessRestApi"),
        (
            {"Ref": "HelloFunction.Alias"},
            "arn:aws:lambda:eu-west-1:111122223333:function:HelloFunction:live",
        ),
        (
            {"Ref": "HelloFunctionAliaslive"},
            "arn:aws:lambda:eu-west-1:111122223333:function:HelloFunction:live",
        ),
        (
            {"Fn::GetAtt": ["NamedFunction", "Arn"]},
            "arn:aws:lambda:eu-west-1:111122223333:function:apicanary-local-named",
        ),
        (
            {"Fn::GetAtt": ["ErrorsAlarm", "Arn"]},
            "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:errors",
        ),
        ({"Fn::Sub": "${HelloFunction}:live"}, "HelloFunction:live"),
        ({"Fn::Sub": "${Stage}-${AWS::Region}"}, "prod-eu-west-1"),
        ({"Fn::Sub": ["${a}/${Stage}", {"a": {"Ref": "Size"}}]}, "256/prod"),
        ({"Fn::Sub": "${!Literal} and ${ !Also}"}, "${Literal} and ${Also}"),
        (
            {"Fn::Sub": "fn:${HelloFunction.Arn}:${stageVariables.lambdaAlias}"},
            "fn:arn:aws:lambda:eu-west-1:111122223333:function:HelloFunction"
            ":${stageVariables.lambdaAlias}",
        ),
        ({"Fn::Join": ["-", ["a", {"Ref": "Stage"}, 3]]}, "a-prod-3"),
        ({"Fn::Join": [",", {"Ref": "Names"}]}, "a,b,c"),
        ({"Fn::Select": [1, {"Ref": "Names"}]}, "b"),
        ({"Fn::Select": ["0", ["x", "y"]]}, "x"),
        ({"Fn::Split": [",", "a,b"]}, ["a", "b"]),
        ({"Fn::FindInMap": ["Env", {"Ref": "Stage"}, "Size"]}, "large"),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Ref": "AWS::NoValue"}, NO_VALUE),
        ({"a": {"Ref": "AWS::NoValue"}, "b": [1, {"Ref": "AWS::NoValue"}]}, {"b": [1]}),
        ({"Ref": "Secret"}, "s3cr3t"),
    ],
)
def test_resolves(value: Any, expected: Any) -> None:
    assert r(value, Secret="s3cr3t") == expected


def test_partition_follows_region() -> None:
    assert resolver("cn-north-1").resolve({"Ref": "AWS::Partition"}, "X") == "aws-cn"
    arn = resolver("us-gov-west-1").resolve({"Fn::GetAtt": "HelloFunction.Arn"}, "X")
    assert arn.startswith("arn:aws-us-gov:lambda:us-gov-west-1:")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Ref": "Nope"}, "X: Ref to 'Nope': not a parameter, resource or pseudo parameter"),
        ({"Ref": "AWS::Nope"}, "X: Ref to unknown pseudo parameter 'AWS::Nope'"),
        ({"Ref": "Secret"}, "X: parameter 'Secret' has no value: it has no Default"),
        ({"Fn::If": ["C", 1, 2]}, "X: Fn::If is not supported by the local engine (Conditions"),
        ({"Fn::ImportValue": "x"}, "X: Fn::ImportValue is not supported by the local engine"),
        ({"Fn::GetAtt": ["Table", "Arn"]}, "X: Fn::GetAtt Table.Arn (AWS::DynamoDB::Table) is not"),
        ({"Fn::GetAtt": ["Ghost", "Arn"]}, "X: Fn::GetAtt Ghost.Arn: no resource 'Ghost'"),
        ({"Fn::GetAtt": ["MyApi", "RootResourceId"]}, "X: Fn::GetAtt MyApi.RootResourceId"),
        ({"Fn::GetAtt": ["HelloFunction", "Version"]}, "X: HelloFunction.Version is not supported"),
        ({"Ref": "NamedFunction.Alias"}, "X: NamedFunction.Alias needs AutoPublishAlias"),
        ({"Fn::Sub": "${Names}"}, "X: Fn::Sub variable ${Names} is"),
        ({"Fn::Sub": ["a", "b", "c"]}, "X: Fn::Sub needs a string or [string, variables]"),
        ({"Fn::Select": [5, ["a"]]}, "X: Fn::Select index 5 is out of range for 1 items"),
        ({"Fn::FindInMap": ["Env", "dev", "Size"]}, "X: Fn::FindInMap: Mappings.Env.dev does not"),
        ({"Fn::Join": ["-"]}, "X: Fn::Join needs [delimiter, list]"),
    ],
)
def test_errors_name_the_path_and_the_problem(value: Any, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        r(value)
    assert str(info.value).startswith(message)


def test_self_referencing_function_name_is_an_error() -> None:
    loop: dict[str, Any] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {"FunctionName": {"Ref": "Loop"}},
    }
    res = Resolver(
        context=StackContext(),
        parameters=resolve_parameters({}, None),
        resources={"Loop": loop},
        function_properties={"Loop": loop["Properties"]},
    )
    with pytest.raises(TemplateError, match=r"Resources\.Loop\.Properties\.FunctionName: refers"):
        res.function_name("Loop")


def test_parameter_overrides_are_validated() -> None:
    params = {"Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]}}
    assert resolve_parameters(params, {"Stage": "prod"}).values == {"Stage": "prod"}
    with pytest.raises(TemplateError) as info:
        resolve_parameters(params, {"Stage": "qa"})
    assert (
        str(info.value)
        == 'Parameters.Stage: override "qa" is not allowed: must be one of dev, prod'
    )
    with pytest.raises(
        TemplateError, match=r"override 'Stag' is not a parameter .*parameters: Stage"
    ):
        resolve_parameters(params, {"Stag": "prod"})
    with pytest.raises(TemplateError, match=r"Parameters\.N: Default \"x\" is not a number"):
        resolve_parameters({"N": {"Type": "Number", "Default": "x"}}, None)
    ssm = {"P": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/my/param"}}
    assert resolve_parameters(ssm, None).unresolved["P"].startswith("SSM parameters are not")
    assert resolve_parameters(ssm, {"P": "v"}).values == {"P": "v"}


_plain_text = st.text(alphabet=st.characters(blacklist_characters="$"), max_size=40)


@given(_plain_text)
def test_sub_without_variables_is_identity(text: str) -> None:
    assert r({"Fn::Sub": text}) == text


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_.:]{0,20}", fullmatch=True), _plain_text)
def test_sub_escape_yields_the_literal(name: str, text: str) -> None:
    assert r({"Fn::Sub": text + "${!" + name + "}"}) == text + "${" + name + "}"


@given(st.lists(st.text(alphabet="abc-", max_size=5), min_size=1, max_size=6))
def test_join_then_split_round_trips(parts: list[str]) -> None:
    joined = r({"Fn::Join": ["|", parts]})
    assert r({"Fn::Split": ["|", joined]}) == parts
