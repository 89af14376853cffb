"""Every unusable template fails with one sentence naming the path, the value and the limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apicanary.errors import BadInputError, TemplateError
from apicanary.project.loader import load_project
from tests.support.sam import FUNCTION, load, write_template

P = "template.yaml: Resources.HelloFunction.Properties"


def error_of(tmp_path: Path, body: str, **kwargs: object) -> str:
    with pytest.raises(TemplateError) as info:
        load(tmp_path, body, **kwargs)
    assert info.value.exit_code == 2
    return str(info.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("      Timeout: 901\n", f"{P}.Timeout: 901 is out of range: must be 1..900 seconds"),
        ("      Timeout: 0\n", f"{P}.Timeout: 0 is out of range: must be 1..900 seconds"),
        ("      Timeout: 2.5\n", f"{P}.Timeout: 2.5 is not an integer"),
        ("      Timeout: true\n", f"{P}.Timeout: true is not an integer"),
        ("      MemorySize: 64\n", f"{P}.MemorySize: 64 is out of range: must be 128..10240 MB"),
        (
            "      ReservedConcurrentExecutions: -1\n",
            f"{P}.ReservedConcurrentExecutions: -1 is out",
        ),
        ("      FunctionName: has space\n", f'{P}.FunctionName: "has space" is not valid: 1-64'),
        ("      AutoPublishAlias: '123'\n", f'{P}.AutoPublishAlias: "123" is not valid: an alias'),
        ("      InlineCode: print(1)\n", f"{P}.InlineCode: inline code is not supported locally"),
        ("      PackageType: Image\n", f'{P}.PackageType: "Image" is not supported locally'),
        (
            "      Environment:\n        Variables:\n          X: '1'\n",
            f'{P}.Environment.Variables.X: name "X" is not valid: must start with a letter',
        ),
        (
            "      Environment:\n        Vars: {}\n",
            f"{P}.Environment.Vars: is not allowed: Environment has only Variables",
        ),
        (
            "      Environment:\n        Variables:\n          OK: [1]\n",
            f"{P}.Environment.Variables.OK: [1] is not a string",
        ),
        (
            "      DeploymentPreference:\n        Type: AllAtOnce\n",
            f"{P}.DeploymentPreference: requires AutoPublishAlias",
        ),
        (
            "      AutoPublishAlias: live\n      DeploymentPreference:\n        Enabled: true\n",
            f"{P}.DeploymentPreference.Type: is required",
        ),
        (
            "      AutoPublishAlias: live\n      DeploymentPreference:\n        Type: AllAtOnce\n"
            "        Hooks: {Before: x}\n",
            f"{P}.DeploymentPreference.Hooks.Before: is not a hook: allowed are PreTraffic",
        ),
        (
            "      Events:\n        E: {Type: Api, Properties: {Path: /x, Method: fetch}}\n",
            f'{P}.Events.E.Properties.Method: "fetch" is not an HTTP method: allowed are any, get',
        ),
        (
            "      Events:\n        E: {Type: Api, Properties: {Path: x, Method: get}}\n",
            f"{P}.Events.E.Properties.Path: \"x\" is not valid: must start with '/'",
        ),
        (
            "      Events:\n        E: {Type: Api, Properties: {Path: /x, Method: get, "
            "RestApiId: !Ref Nope}}\n",
            f'{P}.Events.E.Properties.RestApiId: {{"Ref": "Nope"}} must be a Ref to an '
            "AWS::Serverless::Api",
        ),
        (
            "      Events:\n        A: {Type: Api, Properties: {Path: /x, Method: get}}\n"
            "        B: {Type: Api, Properties: {Path: /x, Method: GET}}\n",
            f"{P}.Events.B: GET /x is already routed by Resources.HelloFunction.Properties.Events.A"
            " on ServerlessRestApi",
        ),
        (
            "      Description: !If [IsProd, a, b]\n",
            f"{P}.Description: Fn::If is not supported by the local engine (Conditions are not "
            "evaluated locally)",
        ),
        (
            "      Environment:\n        Variables:\n          QUEUE: !GetAtt Q.Arn\n"
            "  Q:\n    Type: AWS::SQS::Queue\n",
            f"{P}.Environment.Variables.QUEUE: Fn::GetAtt Q.Arn (AWS::SQS::Queue) is not supported",
        ),
    ],
)
def test_function_errors(tmp_path: Path, extra: str, message: str) -> None:
    assert error_of(tmp_path, FUNCTION + extra).startswith(message)


@pytest.mark.parametrize(
    ("runtime", "shown"),
    [("nodejs20.x", '"nodejs20.x"'), ("python2.7", '"python2.7"'), ("3.12", '"3.12"')],
)
def test_runtime_error_names_resource_field_value_and_allowed(
    tmp_path: Path, runtime: str, shown: str
) -> None:
    body = FUNCTION.replace("python3.12", runtime)
    assert error_of(tmp_path, body) == (
        f"{P}.Runtime: {shown} is not valid: the local engine runs python3.x runtimes only "
        "(e.g. python3.12)"
    )


def test_runtime_from_globals_is_reported_at_globals(tmp_path: Path) -> None:
    body = "Globals:\n  Function:\n    Runtime: java21\n" + FUNCTION.replace(
        "      Runtime: python3.12\n", ""
    )
    assert error_of(tmp_path, body).startswith('template.yaml: Globals.Function.Runtime: "java21"')


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("      Handler: app.handler\n", "", f"{P}.Handler: is required"),
        ("app.handler", "handler", f'{P}.Handler: "handler" is not valid: must be module.function'),
        ("      CodeUri: src/\n", "", f"{P}.CodeUri: is required: the local engine runs code"),
        ("CodeUri: src/", "CodeUri: missing/", f'{P}.CodeUri: "missing/" does not exist ('),
        ("CodeUri: src/", "CodeUri: template.yaml", f'{P}.CodeUri: "template.yaml" is not a dir'),
        ("CodeUri: src/", "CodeUri: s3://b/k.zip", f'{P}.CodeUri: "s3://b/k.zip" is not supported'),
        ("CodeUri: src/", "CodeUri: {Bucket: b, Key: k}", f'{P}.CodeUri: {{"Bucket": "b"'),
    ],
)
def test_code_and_handler_errors(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert error_of(tmp_path, FUNCTION.replace(old, new)).startswith(message)


API = """\
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
"""
A = "template.yaml: Resources.Api.Properties"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "      CanarySetting: {PercentTraffic: 150}\n",
            f"{A}.CanarySetting.PercentTraffic: 150 is out of range: must be 0.0..100.0",
        ),
        (
            "      CanarySetting: {Percent: 5}\n",
            f"{A}.CanarySetting.Percent: is not a CanarySetting property",
        ),
        (
            "      CanarySetting: {StageVariableOverrides: {alias: 'has space'}}\n",
            f'{A}.CanarySetting.StageVariableOverrides.alias: "has space" is not valid: 1-512',
        ),
        ("      Variables: {bad-key: x}\n", f'{A}.Variables.bad-key: name "bad-key" is not valid'),
        (
            "      DefinitionBody: {paths: {/x: {get: {}}}}\n",
            f"{A}.DefinitionBody.paths./x.get: has no x-amazon-apigateway-integration",
        ),
        (
            "      DefinitionBody:\n        paths:\n          /x:\n            get:\n"
            "              x-amazon-apigateway-integration: {type: lambda}\n",
            f'{A}.DefinitionBody.paths./x.get.x-amazon-apigateway-integration.type: "lambda" is '
            "not an integration type: must be one of aws_proxy, aws, http_proxy, http, mock",
        ),
        (
            "      DefinitionBody:\n        paths:\n          /x:\n            get:\n"
            "              x-amazon-apigateway-integration: {type: aws_proxy}\n",
            f"{A}.DefinitionBody.paths./x.get.x-amazon-apigateway-integration.uri: is required",
        ),
        (
            "      DefinitionBody:\n        Fn::Transform: {Name: AWS::Include}\n",
            f"{A}.DefinitionBody: Fn::Transform is not supported in a DefinitionBody",
        ),
        (
            "      DefinitionBody: {}\n      DefinitionUri: api.yaml\n",
            f"{A}.DefinitionUri: cannot be combined with DefinitionBody",
        ),
        (
            "      DefinitionUri: s3://bucket/api.yaml\n",
            f'{A}.DefinitionUri: "s3://bucket/api.yaml" is not supported locally',
        ),
    ],
)
def test_api_errors(tmp_path: Path, extra: str, message: str) -> None:
    assert error_of(tmp_path, API + extra).startswith(message)


def test_explicit_api_requires_stage_name(tmp_path: Path) -> None:
    body = API.replace("      StageName: prod\n", "      Name: x\n")
    assert error_of(tmp_path, body) == (f"{A}.StageName: is required for an AWS::Serverless::Api")


def test_definition_uri_local_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(
        "paths:\n  /x:\n    post:\n      x-amazon-apigateway-integration:\n"
        "        type: http_proxy\n        uri: https://example.com/x\n"
    )
    project = load(tmp_path, API + "      DefinitionUri: api.yaml\n")
    (route,) = project.api("Api").routes
    assert (route.path, route.method, route.integration.type) == ("/x", "POST", "HTTP_PROXY")
    assert route.integration.uri == "https://example.com/x"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Resources: [a]\n", 'template.yaml: Resources: ["a"] is not a mapping'),
        ("Resources:\n  bad-id: {Type: X}\n", "template.yaml: Resources.bad-id: a logical id must"),
        (
            "Resources:\n  A: {Properties: {}}\n",
            "template.yaml: Resources.A.Type: null is not a string",
        ),
        (
            FUNCTION.replace("    Properties:", "    Condition: IsProd\n    Properties:"),
            "template.yaml: Resources.HelloFunction.Condition: conditions are not evaluated",
        ),
        (
            FUNCTION + "  Other:\n    Type: AWS::Serverless::Function\n    Properties:\n"
            "      FunctionName: HelloFunction\n      CodeUri: src/\n      Handler: a.b\n"
            "      Runtime: python3.12\n",
            'template.yaml: Resources.Other.Properties.FunctionName: "HelloFunction" is already '
            "the name of HelloFunction: names must be unique",
        ),
    ],
)
def test_template_level_errors(tmp_path: Path, body: str, message: str) -> None:
    assert error_of(tmp_path, body).startswith(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "template.yaml: the template is empty"),
        ("- a\n", 'template.yaml: template: ["a"] is not a mapping'),
        (
            "Transform: AWS::LanguageExtensions\nResources: {}\n",
            'template.yaml: Transform: "AWS::LanguageExtensions" is not supported locally: '
            "allowed is AWS::Serverless-2016-10-31",
        ),
        (
            "Transform: [AWS::Serverless-2016-10-31, Custom]\nResources: {}\n",
            'template.yaml: Transform[1]: "Custom" is not supported locally',
        ),
    ],
)
def test_document_level_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write_template(tmp_path, text, header=False)
    with pytest.raises(TemplateError) as info:
        load_project(path)
    assert str(info.value).startswith(message)


def test_missing_transform_is_reported(tmp_path: Path) -> None:
    path = write_template(tmp_path, FUNCTION, header=False)
    with pytest.raises(TemplateError) as info:
        load_project(path)
    assert str(info.value) == (
        "template.yaml: Transform: AWS::Serverless-2016-10-31 is required for "
        "AWS::Serverless::Function (Resources.HelloFunction)"
    )


def test_implicit_api_name_clash(tmp_path: Path) -> None:
    body = (
        FUNCTION
        + "      Events:\n        E: {Type: Api, Properties: {Path: /x, Method: get}}\n"
        + "  ServerlessRestApi:\n    Type: AWS::SNS::Topic\n"
    )
    assert error_of(tmp_path, body).startswith(
        "template.yaml: Resources.ServerlessRestApi: is the logical id SAM gives the implicit API"
    )


def test_yaml_error_names_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, FUNCTION + "      Timeout: [3\n")
    assert message.startswith("template.yaml line ")


def test_missing_template_and_bad_stack_settings(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not exist") as info:
        load_project(tmp_path / "nope.yaml")
    assert info.value.hint is not None and "apicanary init" in info.value.hint
    with pytest.raises(TemplateError, match="no template in"):
        load_project(tmp_path)
    write_template(tmp_path, FUNCTION)
    with pytest.raises(BadInputError, match="region 'mars' is not valid"):
        load_project(tmp_path, region="mars")
    with pytest.raises(BadInputError, match="account id '12' is not valid: must be 12 digits"):
        load_project(tmp_path, account_id="12")


def test_alarm_name_clash(tmp_path: Path) -> None:
    alarm = (
        "  {}:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      AlarmName: same\n"
        "      MetricName: Errors\n      Namespace: AWS/Lambda\n      Statistic: Sum\n"
        "      Period: 60\n      EvaluationPeriods: 1\n      Threshold: 1\n"
        "      ComparisonOperator: GreaterThanThreshold\n"
    )
    body = "Resources:\n" + alarm.format("First") + alarm.format("Second")
    assert error_of(tmp_path, body) == (
        'template.yaml: Resources.Second.Properties.AlarmName: "same" is already the name of '
        "First: names must be unique"
    )


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=-5000, max_value=5000))
def test_timeout_is_accepted_exactly_in_range(tmp_path: Path, timeout: int) -> None:
    body = FUNCTION + f"      Timeout: {timeout}\n"
    if 1 <= timeout <= 900:
        assert load(tmp_path, body).functions[0].timeout == timeout
    else:
        assert error_of(tmp_path, body) == (
            f"{P}.Timeout: {timeout} is out of range: must be 1..900 seconds"
        )
