from __future__ import annotations

from pathlib import Path

import pytest

from apicanary.errors import BadInputError
from apicanary.project.loader import load_project
from apicanary.project.specs import (
    CanarySettingSpec,
    DeploymentPreferenceSpec,
    IntegrationSpec,
    RouteSpec,
)
from tests.support.sam import FUNCTION, load, write_template

ACCOUNT = "123456789012"
ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function"

# The seed article's setup, as a SAM template: an alias-invoking integration, a stage
# canary whose override sends canary traffic to another alias, CodeDeploy-style preference.
SEED = r"""Parameters:
  Stage:
    Type: String
    Default: prod
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Environment:
      Variables:
        LOG_LEVEL: INFO
        TABLE: shared
  Api:
    BinaryMediaTypes: ["image~1png"]
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-hello"
      CodeUri: hello/
      Handler: app.lambda_handler
      Timeout: 20
      AutoPublishAlias: live
      ReservedConcurrentExecutions: 5
      Environment:
        Variables:
          TABLE: hello-table
          API: !Ref HelloApi
          DEBUG: false
      DeploymentPreference:
        Type: Canary10Percent5Minutes
        Alarms:
          - !Ref AliasErrorMetricGreaterThanZeroAlarm
          - !Ref LatestVersionErrorRateAlarm
        Hooks:
          PreTraffic: !Ref PreTrafficHookFunction
        TriggerConfigurations:
          - TriggerEvents: [DeploymentFailure]
            TriggerName: notify
            TriggerTargetArn: !Ref Topic
      Events:
        Hello:
          Type: Api
          Properties:
            RestApiId: !Ref HelloApi
            Path: /hello
            Method: get
        Create:
          Type: Api
          Properties:
            RestApiId: !Ref HelloApi
            Path: /hello
            Method: post
        Anything:
          Type: Api
          Properties:
            Path: /{proxy+}
            Method: any
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
  PreTrafficHookFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: CodeDeployHook_preTrafficHook
      CodeUri: hooks/
      Handler: hooks/pre.handler
      MemorySize: 256
  HelloApi:
    Type: AWS::Serverless::Api
    Properties:
      Name: hello-api
      StageName: !Ref Stage
      Variables:
        lambdaAlias: live
      CanarySetting:
        PercentTraffic: 10
        StageVariableOverrides:
          lambdaAlias: canary
        UseStageCache: false
      DefinitionBody:
        openapi: "3.0.1"
        info: {title: hello, version: "1.0"}
        x-amazon-apigateway-binary-media-types: [application/octet-stream]
        paths:
          /hello:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/\
                  ${HelloFunction.Arn}:${!stageVariables.lambdaAlias}/invocations"
          /items/{id}:
            x-amazon-apigateway-any-method:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/\
                  ${HelloFunction.Arn}:live/invocations"
          /external:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/\
                  arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}/invocations"
          /cors:
            options:
              x-amazon-apigateway-integration:
                type: mock
            parameters: []
  AliasErrorMetricGreaterThanZeroAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: hello-alias-errors
      AlarmDescription: Lambda Function Error > 0
      ComparisonOperator: GreaterThanThreshold
      Dimensions:
        - Name: Resource
          Value: !Sub "${HelloFunction}:live"
        - Name: FunctionName
          Value: !Ref HelloFunction
      EvaluationPeriods: 2
      MetricName: Errors
      Namespace: AWS/Lambda
      Period: 60
      Statistic: Sum
      Threshold: 0
  LatestVersionErrorRateAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      ComparisonOperator: GreaterThanThreshold
      EvaluationPeriods: "3"
      DatapointsToAlarm: 2
      Threshold: "0.05"
      TreatMissingData: notBreaching
      Metrics:
        - Id: errors
          ReturnData: false
          MetricStat:
            Metric:
              Namespace: AWS/Lambda
              MetricName: Errors
              Dimensions: [{Name: Resource, Value: !Sub "${HelloFunction}:live"}]
            Period: 60
            Stat: Sum
        - Id: invocations
          ReturnData: false
          MetricStat:
            Metric:
              Namespace: AWS/Lambda
              MetricName: Invocations
              Dimensions: [{Name: Resource, Value: !Sub "${HelloFunction}:live"}]
            Period: 60
            Stat: Sum
        - Id: rate
          Expression: errors / invocations
          Label: error rate
  Topic:
    Type: AWS::SNS::Topic
  Queue:
    Type: AWS::SQS::Queue
"""


@pytest.fixture
def seed(tmp_path: Path) -> object:
    return load(tmp_path, SEED, code_dirs=("hello", "hooks"))


def test_seed_functions(tmp_path: Path) -> None:
    project = load(tmp_path, SEED, code_dirs=("hello", "hooks"))
    assert project.template_path == tmp_path / "template.yaml"
    assert project.root == tmp_path
    assert project.parameters == {"Stage": "prod"}
    hello = project.function("HelloFunction")
    assert project.function("apicanary-local-hello") is hello
    assert hello.function_name == "apicanary-local-hello"
    assert hello.code_dir == tmp_path / "hello"
    assert (hello.handler, hello.runtime, hello.timeout, hello.memory_size) == (
        "app.lambda_handler",
        "python3.12",
        20,
        128,
    )
    assert hello.environment == {
        "LOG_LEVEL": "INFO",
        "TABLE": "hello-table",
        "API": "HelloApi",
        "DEBUG": "false",
    }
    assert hello.reserved_concurrency == 5
    assert hello.auto_publish_alias == "live"
    assert hello.deployment_preference == DeploymentPreferenceSpec(
        type="Canary10Percent5Minutes",
        alarms=("hello-alias-errors", "LatestVersionErrorRateAlarm"),
        pre_traffic="CodeDeployHook_preTrafficHook",
        post_traffic=None,
        enabled=True,
        raw={
            "TriggerConfigurations": [
                {
                    "TriggerEvents": ["DeploymentFailure"],
                    "TriggerName": "notify",
                    "TriggerTargetArn": {"Ref": "Topic"},
                }
            ]
        },
    )
    assert hello.deployment_preference.deployment_config_name == (
        "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    )
    assert [(e.name, e.rest_api, e.path, e.method) for e in hello.api_events] == [
        ("Hello", "HelloApi", "/hello", "GET"),
        ("Create", "HelloApi", "/hello", "POST"),
        ("Anything", "ServerlessRestApi", "/{proxy+}", "ANY"),
    ]
    hook = project.function("PreTrafficHookFunction")
    assert (hook.timeout, hook.memory_size, hook.handler) == (10, 256, "hooks/pre.handler")
    assert hook.auto_publish_alias is None and hook.deployment_preference is None
    assert hook.environment == {"LOG_LEVEL": "INFO", "TABLE": "shared"}


def test_seed_explicit_api_with_canary_and_definition_body(tmp_path: Path) -> None:
    project = load(tmp_path, SEED, code_dirs=("hello", "hooks"))
    api = project.api("HelloApi")
    assert project.api("hello-api") is api
    assert (api.name, api.stage_name, api.implicit) == ("hello-api", "prod", False)
    assert api.variables == {"lambdaAlias": "live"}
    assert api.canary_setting == CanarySettingSpec(
        percent_traffic=10.0,
        stage_variable_overrides={"lambdaAlias": "canary"},
        use_stage_cache=False,
        deployment_id=None,
    )
    assert api.binary_media_types == ("application/octet-stream", "image/png")
    fn_arn = f"{ARN}:apicanary-local-hello"
    invoke = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations"
    assert api.routes == (
        RouteSpec(
            "/hello",
            "GET",
            IntegrationSpec(
                "AWS_PROXY",
                invoke.format(fn_arn + ":${stageVariables.lambdaAlias}"),
                "HelloFunction",
                "${stageVariables.lambdaAlias}",
            ),
        ),
        RouteSpec(
            "/items/{id}",
            "ANY",
            IntegrationSpec("AWS_PROXY", invoke.format(fn_arn + ":live"), "HelloFunction", "live"),
        ),
        RouteSpec(
            "/external",
            "GET",
            IntegrationSpec(
                "AWS_PROXY", invoke.format(f"{ARN}:${{stageVariables.fn}}"), None, None
            ),
        ),
        RouteSpec("/cors", "OPTIONS", IntegrationSpec("MOCK", None)),
        # GET /hello is in the DefinitionBody already (it wins, as in SAM); POST is added.
        RouteSpec(
            "/hello",
            "POST",
            IntegrationSpec("AWS_PROXY", invoke.format(fn_arn + ":live"), "HelloFunction", "live"),
        ),
    )
    assert api.route("/hello", "post") == api.routes[-1]
    assert api.route("/nope", "GET") is None


def test_seed_implicit_api_gets_globals_and_alias_integration(tmp_path: Path) -> None:
    project = load(tmp_path, SEED, code_dirs=("hello", "hooks"))
    implicit = project.api("ServerlessRestApi")
    assert [a.logical_id for a in project.apis] == ["HelloApi", "ServerlessRestApi"]
    assert (implicit.name, implicit.stage_name, implicit.implicit) == (
        "ServerlessRestApi",
        "Prod",
        True,
    )
    assert implicit.binary_media_types == ("image/png",)
    assert implicit.canary_setting is None
    (route,) = implicit.routes
    assert (route.path, route.method) == ("/{proxy+}", "ANY")
    assert route.integration.function == "HelloFunction"
    assert route.integration.qualifier == "live"
    assert route.integration.uri is not None
    assert route.integration.uri.endswith(":function:apicanary-local-hello:live/invocations")


def test_seed_alarms(tmp_path: Path) -> None:
    project = load(tmp_path, SEED, code_dirs=("hello", "hooks"))
    assert [a.alarm_name for a in project.alarms] == [
        "hello-alias-errors",
        "LatestVersionErrorRateAlarm",
    ]
    single = project.alarm("AliasErrorMetricGreaterThanZeroAlarm")
    assert project.alarm("hello-alias-errors") is single
    assert single.put_metric_alarm == {
        "AlarmName": "hello-alias-errors",
        "AlarmDescription": "Lambda Function Error > 0",
        "ComparisonOperator": "GreaterThanThreshold",
        "EvaluationPeriods": 2,
        "Threshold": 0.0,
        "MetricName": "Errors",
        "Namespace": "AWS/Lambda",
        "Dimensions": [
            {"Name": "Resource", "Value": "apicanary-local-hello:live"},
            {"Name": "FunctionName", "Value": "apicanary-local-hello"},
        ],
        "Statistic": "Sum",
        "Period": 60,
    }
    math = project.alarm("LatestVersionErrorRateAlarm").put_metric_alarm
    assert (math["EvaluationPeriods"], math["DatapointsToAlarm"], math["Threshold"]) == (3, 2, 0.05)
    assert [m["Id"] for m in math["Metrics"]] == ["errors", "invocations", "rate"]
    assert math["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "Resource", "Value": "apicanary-local-hello:live"}
    ]
    assert math["Metrics"][2] == {
        "Id": "rate",
        "Expression": "errors / invocations",
        "Label": "error rate",
    }
    assert "MetricName" not in math and "Period" not in math


def test_specs_are_frozen_and_hashable(tmp_path: Path) -> None:
    project = load(tmp_path, SEED, code_dirs=("hello", "hooks"))
    hello = project.function("HelloFunction")
    with pytest.raises(AttributeError):
        hello.timeout = 5  # type: ignore[misc]
    assert len({hello, project.api("HelloApi"), project.alarms[0], project}) == 4


def test_parameter_overrides_and_region_flow_into_specs(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        SEED,
        code_dirs=("hello", "hooks"),
        parameter_overrides={"Stage": "beta"},
        region="eu-central-1",
        account_id="999988887777",
    )
    assert project.api("HelloApi").stage_name == "beta"
    assert (project.region, project.account_id) == ("eu-central-1", "999988887777")
    uri = project.api("HelloApi").routes[0].integration.uri
    assert uri == (
        "arn:aws:apigateway:eu-central-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:eu-central-1:999988887777:function:apicanary-local-hello"
        ":${stageVariables.lambdaAlias}/invocations"
    )


def test_globals_merge_like_sam(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        """\
        Globals:
          Function:
            Runtime: python3.12
            Handler: app.handler
            CodeUri: src/
            MemorySize: 512
            AutoPublishAlias: live
            Environment:
              Variables: {AA: "1", BB: "2"}
            DeploymentPreference:
              Type: Linear10PercentEvery1Minute
              Alarms: [global-alarm]
          Api:
            Variables: {a: "1"}
            CanarySetting: {PercentTraffic: 5}
            Name: shared-name
        Resources:
          One:
            Type: AWS::Serverless::Function
            Properties:
              MemorySize: 1024
              Environment:
                Variables: {BB: "override", CC: "3"}
              DeploymentPreference:
                Type: AllAtOnce
                Alarms: [local-alarm]
                Enabled: "false"
          Two:
            Type: AWS::Serverless::Function
            Properties:
              AutoPublishAlias: blue
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: v1
              Variables: {b: "2"}
        """,
    )
    one, two = project.functions
    assert (one.runtime, one.handler, one.memory_size, one.auto_publish_alias) == (
        "python3.12",
        "app.handler",
        1024,
        "live",
    )
    assert one.environment == {"AA": "1", "BB": "override", "CC": "3"}
    assert one.deployment_preference == DeploymentPreferenceSpec(
        "AllAtOnce", ("global-alarm", "local-alarm"), enabled=False
    )
    assert (two.memory_size, two.auto_publish_alias) == (512, "blue")
    assert two.environment == {"AA": "1", "BB": "2"}
    assert two.deployment_preference is not None
    assert two.deployment_preference.type == "Linear10PercentEvery1Minute"
    (api,) = project.apis
    assert (api.name, api.variables) == ("shared-name", {"a": "1", "b": "2"})
    assert api.canary_setting == CanarySettingSpec(percent_traffic=5.0)


def test_template_without_functions_is_an_empty_project(tmp_path: Path) -> None:
    project = load(tmp_path, "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    assert (project.functions, project.apis, project.alarms) == ((), (), ())
    empty = load(tmp_path, "Resources: {}\n")
    assert empty.functions == ()
    with pytest.raises(
        BadInputError, match=r"function 'x' is not in template.yaml \(functions: none\)"
    ):
        empty.function("x")


def test_directory_path_finds_template_yaml(tmp_path: Path) -> None:
    write_template(tmp_path, FUNCTION)
    assert load_project(tmp_path).function("HelloFunction").timeout == 3


def test_defaults_and_numeric_strings(tmp_path: Path) -> None:
    body = FUNCTION + "      Timeout: '900'\n      MemorySize: 10240\n"
    fn = load(tmp_path, body).function("HelloFunction")
    assert (fn.timeout, fn.memory_size, fn.description, fn.environment) == (900, 10240, "", {})
    assert fn.api_events == () and fn.reserved_concurrency is None


def test_lambda_function_and_other_resources_are_ignored(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        FUNCTION
        + """\
  Raw:
    Type: AWS::Lambda::Function
    Properties: {Code: {ZipFile: "x"}, Handler: index.h, Runtime: nodejs20.x}
  Table:
    Type: AWS::DynamoDB::Table
    Condition: IsProd
""",
    )
    assert [f.logical_id for f in project.functions] == ["HelloFunction"]
