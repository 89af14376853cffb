"""The CloudFormation loader reads what the local engine runs into the same specs as SAM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apicanary.errors import TemplateError
from apicanary.project.loader import load_project
from apicanary.project.specs import CanarySettingSpec
from tests.support.cfn import STACK, edited, load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LIVE_URI = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:123456789012:function:Fn:live/invocations"
)


@pytest.fixture(autouse=True)
def code_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Inline code and zips unpack under the test's own directory, not the user's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "apicanary" / "code"


def test_the_stack_as_specs(tmp_path: Path) -> None:
    project = load(tmp_path)
    assert project.kind == "cloudformation"
    (fn,) = project.functions
    assert (fn.logical_id, fn.function_name, fn.code_dir) == ("Fn", "Fn", tmp_path / "src")
    assert (fn.handler, fn.runtime, fn.timeout, fn.memory_size) == (
        "app.handler",
        "python3.12",
        3,
        128,
    )
    assert fn.auto_publish_alias == "live" and dict(fn.alias_weights) == {}
    preference = fn.deployment_preference
    assert preference is not None
    assert preference.type == "Linear10PercentEvery1Minute" and preference.is_predefined
    assert (
        preference.deployment_config_name == "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"
    )
    assert preference.alarms == ("Errors",)
    assert (preference.pre_traffic, preference.post_traffic) == (None, None)
    (api,) = project.apis
    assert (api.logical_id, api.name, api.stage_name) == ("Api", "shop", "prod")
    (route,) = api.routes
    assert (route.path, route.method) == ("/items", "GET")
    assert route.integration.type == "AWS_PROXY" and route.integration.uri == LIVE_URI
    assert (route.integration.function, route.integration.qualifier) == ("Fn", "live")
    (alarm,) = project.alarms
    assert alarm.put_metric_alarm["Dimensions"] == [{"Name": "Resource", "Value": "Fn:live"}]
    # the two IAM-free extras of STACK are read, nothing is left over to warn about
    assert project.warnings == ()


def test_resource_tree_paths_and_methods(tmp_path: Path) -> None:
    method = {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "HttpMethod": "any",
            "Integration": {"Type": "MOCK"},
        },
    }
    body = edited({
        "Item": {"Type": "AWS::ApiGateway::Resource", "Properties": {
            "RestApiId": {"Ref": "Api"}, "ParentId": {"Ref": "Items"}, "PathPart": "{id}"}},
        "Proxy": {"Type": "AWS::ApiGateway::Resource", "Properties": {
            "RestApiId": {"Ref": "Api"}, "ParentId": {"Fn::GetAtt": "Item.ResourceId"},
            "PathPart": "{proxy+}"}},
        "RootAny": {**method, "Properties": {**method["Properties"],
                    "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]}}},
        "ProxyAny": {**method, "Properties": {**method["Properties"],
                     "ResourceId": {"Ref": "Proxy"}}},
    })  # fmt: skip
    (api,) = load(tmp_path, body).apis
    assert [(r.method, r.path, r.integration.type) for r in api.routes] == [
        ("GET", "/items", "AWS_PROXY"),
        ("ANY", "/", "MOCK"),
        ("ANY", "/items/{id}/{proxy+}", "MOCK"),
    ]


def test_body_and_body_s3_location_definitions(tmp_path: Path) -> None:
    definition = {
        "openapi": "3.0.1",
        "info": {"title": "from-body", "version": "1"},
        "x-amazon-apigateway-binary-media-types": ["image/png"],
        "paths": {"/hello": {"get": {"x-amazon-apigateway-integration": {
            "type": "aws_proxy", "httpMethod": "POST",
            "uri": {"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
                    "functions/${Fn.Arn}:${!stageVariables.alias}/invocations"},
        }}}},
    }  # fmt: skip
    inline = edited(
        {"Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Body": definition}}}
    )
    (api,) = load(tmp_path / "inline", inline).apis
    assert api.name == "from-body" and api.binary_media_types == ("image/png",)
    hello = api.route("/hello", "GET")
    assert hello is not None and hello.integration.qualifier == "${stageVariables.alias}"
    assert [r.path for r in api.routes] == ["/hello", "/items"]  # Body first, then Methods

    s3 = edited({"Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {
        "Name": "s3", "BodyS3Location": {"Bucket": "b", "Key": "defs/api.yaml"}}}})  # fmt: skip
    root = tmp_path / "s3"
    (root / "defs").mkdir(parents=True)
    (root / "defs" / "api.yaml").write_text(
        "openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n"
        "      x-amazon-apigateway-integration: {type: mock}\n"
    )
    (api,) = load(root, s3).apis
    assert api.name == "s3" and [(r.path, r.integration.type) for r in api.routes] == [
        ("/x", "MOCK"),
        ("/items", "AWS_PROXY"),
    ]


def test_stages_from_stage_and_deployment_resources(tmp_path: Path) -> None:
    body = edited({
        "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {
            "RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Deployment"},
            "StageName": "prod", "Variables": {"lambdaAlias": "live"},
            "CanarySetting": {"DeploymentId": {"Ref": "Deployment"}, "PercentTraffic": 5,
                              "StageVariableOverrides": {"lambdaAlias": "canary"}}}},
        "DevDeployment": {"Type": "AWS::ApiGateway::Deployment", "Properties": {
            "RestApiId": {"Ref": "Api"}, "StageName": "dev",
            "StageDescription": {"Variables": {"lambdaAlias": "dev"}}}},
        "CanaryDeployment": {"Type": "AWS::ApiGateway::Deployment", "Properties": {
            "RestApiId": {"Ref": "Api"}, "StageName": "prod",
            "DeploymentCanarySettings": {"PercentTraffic": 20, "UseStageCache": True}}},
    })  # fmt: skip
    apis = load(tmp_path, body).apis
    assert [(a.logical_id, a.stage_name, dict(a.variables)) for a in apis] == [
        ("Api", "prod", {"lambdaAlias": "live"}),
        ("Api", "dev", {"lambdaAlias": "dev"}),
    ]
    # the deployment's canary settings replace the stage's own, as a canary deployment does
    assert apis[0].canary_setting == CanarySettingSpec(20.0, {}, True)
    assert apis[1].canary_setting is None


def test_an_api_without_stage_is_listed_not_served(tmp_path: Path) -> None:
    project = load(tmp_path, edited({"Stage": None}))
    assert project.apis == ()
    assert project.warnings == (
        "Resources.Api (AWS::ApiGateway::RestApi): not served (it has no stage: add an "
        "AWS::ApiGateway::Stage, or a Deployment with StageName)",
    )


def test_unsupported_types_are_listed_once_by_type(tmp_path: Path) -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {}}
    body = edited({
        "RoleA": role, "RoleB": role, "Table": {"Type": "AWS::DynamoDB::Table"},
        "Meta": {"Type": "AWS::CDK::Metadata"},
        "Http": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}},
        "HttpAuth": {"Type": "AWS::ApiGatewayV2::Authorizer"},
    })  # fmt: skip
    assert load(tmp_path, body).warnings == (
        "HTTP API features not emulated locally (ignored): AWS::ApiGatewayV2::Authorizer ×1",
        "not emulated locally (ignored): AWS::DynamoDB::Table ×1, AWS::IAM::Role ×2",
        "Resources.Http (AWS::ApiGatewayV2::Api): not served (it has no stage: add an "
        "AWS::ApiGatewayV2::Stage, e.g. StageName $default with AutoDeploy)",
    )


def test_functions_the_engine_cannot_run_are_skipped_with_a_warning(tmp_path: Path) -> None:
    node = {"Type": "AWS::Lambda::Function", "Properties": {
        "Runtime": "nodejs22.x", "Handler": "index.handler",
        "Code": {"S3Bucket": "b", "S3Key": "nowhere.zip"}}}  # fmt: skip
    image = {"Type": "AWS::Lambda::Function", "Properties": {
        "PackageType": "Image", "Code": {"ImageUri": "x"}}}  # fmt: skip
    node_alias = {"Type": "AWS::Lambda::Alias", "Properties": {
        "FunctionName": {"Ref": "Node"}, "FunctionVersion": "$LATEST", "Name": "x"}}  # fmt: skip
    project = load(tmp_path, edited({"Node": node, "Image": image, "NodeAlias": node_alias}))
    assert [f.logical_id for f in project.functions] == ["Fn"]
    assert project.warnings == (
        'Resources.Node (AWS::Lambda::Function): not run locally (runtime "nodejs22.x"; the '
        "local engine runs python3.x zip functions)",
        "Resources.Image (AWS::Lambda::Function): not run locally (package type Image; the "
        "local engine runs python3.x zip functions)",
    )


def test_one_released_alias_per_function(tmp_path: Path) -> None:
    second = {"Type": "AWS::Lambda::Alias", "Properties": {
        "FunctionName": {"Ref": "Fn"}, "FunctionVersion": {"Fn::GetAtt": ["FnVersion", "Version"]},
        "Name": "beta"}}  # fmt: skip
    # declared first, without an update policy: the alias with the policy is still released
    body = STACK.replace("  Live:\n", "  Beta:\n" + _indent(second) + "  Live:\n", 1)
    project = load(tmp_path, body)
    assert project.functions[0].auto_publish_alias == "live"
    assert project.warnings == (
        "Resources.Beta (AWS::Lambda::Alias): not run locally (the engine releases one alias "
        "per function, and Fn has another)",
    )


def test_routing_config_and_hooks(tmp_path: Path) -> None:
    hook = {"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": "CodeDeployHook_pre", "Runtime": "python3.12", "Handler": "app.handler",
        "Code": {"ZipFile": "def handler(e, c):\n    return None\n"}}}  # fmt: skip
    live = {
        "Type": "AWS::Lambda::Alias",
        "Properties": {
            "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]},
            "FunctionVersion": {"Fn::GetAtt": "FnVersion.Version"},
            "Name": "live",
            "RoutingConfig": {"AdditionalVersionWeights": [
                {"FunctionVersion": {"Ref": "Previous"}, "FunctionWeight": 0.25}]},
        },
        "UpdatePolicy": {"CodeDeployLambdaAliasUpdate": {
            "ApplicationName": {"Ref": "App"}, "DeploymentGroupName": {"Ref": "Group"},
            "BeforeAllowTrafficHook": {"Ref": "PreHook"},
            "AfterAllowTrafficHook": {"Fn::GetAtt": ["PreHook", "Arn"]}}},
    }  # fmt: skip
    body = edited({"Live": live, "PreHook": hook}).replace(
        "Resources:", "Parameters:\n  Previous: {Type: String, Default: '3'}\nResources:", 1
    )
    project = load(tmp_path, body, parameter_overrides={"Previous": "7"})
    fn = project.function("Fn")
    assert dict(fn.alias_weights) == {"7": 0.25}
    assert fn.deployment_preference is not None
    assert fn.deployment_preference.pre_traffic == "CodeDeployHook_pre"
    assert fn.deployment_preference.post_traffic == "CodeDeployHook_pre"


def test_deployment_group_defaults_and_disabled_alarms(tmp_path: Path) -> None:
    group = {"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": {
        "ApplicationName": {"Ref": "App"}, "DeploymentGroupName": "orders-group",
        "AlarmConfiguration": {"Enabled": False, "Alarms": [{"Name": "ignored"}]}}}  # fmt: skip
    preference = load(tmp_path, edited({"Group": group})).functions[0].deployment_preference
    assert preference is not None and preference.type == "AllAtOnce" and preference.alarms == ()


def test_no_update_policy_means_no_preference(tmp_path: Path) -> None:
    live = {"Type": "AWS::Lambda::Alias", "Properties": {
        "FunctionName": {"Ref": "Fn"}, "FunctionVersion": {"Fn::GetAtt": ["FnVersion", "Version"]},
        "Name": "live"}}  # fmt: skip
    (fn,) = load(tmp_path, edited({"Live": live, "Group": None, "App": None})).functions
    assert fn.auto_publish_alias == "live" and fn.deployment_preference is None


def test_permissions_are_kept(tmp_path: Path) -> None:
    permission = {"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "Live"},
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": {"Fn::Sub": "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*"},
    }}  # fmt: skip
    (permission_spec,) = load(tmp_path, edited({"Invoke": permission})).permissions
    assert (permission_spec.function, permission_spec.qualifier) == ("Fn", "live")
    assert permission_spec.source_arn == "arn:aws:execute-api:us-east-1:123456789012:Api/*"


def test_conditions_decide_which_resources_exist(tmp_path: Path) -> None:
    body = edited({
        "Extra": {"Type": "AWS::Lambda::Function", "Condition": "IsProd", "Properties": {
            "Runtime": "python3.12", "Handler": "app.handler", "Code": "src"}},
    }).replace("Resources:", (
        "Parameters:\n  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}\n"
        "Conditions:\n  IsProd: {'Fn::Equals': [{Ref: Env}, prod]}\nResources:"
    ), 1)  # fmt: skip
    assert [f.logical_id for f in load(tmp_path / "a", body).functions] == ["Fn"]
    prod = load(tmp_path / "b", body, parameter_overrides={"Env": "prod"})
    assert [f.logical_id for f in prod.functions] == ["Fn", "Extra"]


def test_sam_templates_still_go_to_the_sam_loader(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      CodeUri: src/\n      Handler: app.handler\n      Runtime: python3.12\n"
    )
    with pytest.raises(TemplateError, match="AWS::Serverless-2016-10-31 is required"):
        load_project(path)
    path.write_text("Transform: AWS::Serverless-2016-10-31\n" + path.read_text())
    assert load_project(path).kind == "sam"


def test_the_examples_load(tmp_path: Path) -> None:
    cfn = load_project(EXAMPLES / "orders-cfn")
    assert cfn.kind == "cloudformation" and cfn.function("orders-cfn").auto_publish_alias == "live"
    assert cfn.apis[0].canary_setting == CanarySettingSpec(0.0, {"lambdaAlias": "live"})
    cdk = load_project(EXAMPLES / "orders-cdk")  # the app directory: its cdk.out is found
    assert cdk.kind == "cdk" and cdk.template_path.name == "OrdersCdkStack.template.json"
    (fn,) = cdk.functions
    assert fn.code_dir.name.startswith("asset.") and (fn.code_dir / "app.py").is_file()
    assert fn.deployment_preference is not None
    assert fn.deployment_preference.alarms == (cdk.alarms[0].alarm_name,)
    assert cdk.warnings == ("not emulated locally (ignored): AWS::IAM::Role ×2",)


def _indent(resource: dict[str, Any]) -> str:
    import yaml

    return "".join("    " + line + "\n" for line in yaml.dump(resource).splitlines())


def test_weights_on_another_version_resource_are_skipped_with_a_warning(tmp_path: Path) -> None:
    """AWS's blue/green example weights one Version resource against another; locally both
    are the version the engine publishes, so the alias starts unweighted and says why."""
    old = {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}}
    live = {"Type": "AWS::Lambda::Alias", "Properties": {
        "FunctionName": {"Ref": "Fn"}, "FunctionVersion": {"Fn::GetAtt": ["FnVersion", "Version"]},
        "Name": "BLUE", "RoutingConfig": {"AdditionalVersionWeights": [
            {"FunctionVersion": {"Fn::GetAtt": ["OldVersion", "Version"]}, "FunctionWeight": 0.5}]},
    }}  # fmt: skip
    project = load(tmp_path, edited({"OldVersion": old, "Live": live, "Group": None, "App": None}))
    (fn,) = project.functions
    assert fn.auto_publish_alias == "BLUE" and dict(fn.alias_weights) == {}
    assert project.warnings == (
        "Resources.Live.Properties.RoutingConfig.AdditionalVersionWeights[0].FunctionVersion: "
        "not applied locally (every Version resource stands for the version the engine "
        "publishes, which the alias already points to)",
    )
