"""HTTP API (v2) rules as pure functions: route selection, the 2.0 response rules, the SAM and
CloudFormation loaders. The rules and their sources are in docs/aws-semantics.md
("HTTP APIs")."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from apicanary.engine.apigatewayv2.snapshot import HttpRouteSnapshot
from apicanary.engine.gateway.http_compiled import HttpRoutes
from apicanary.engine.gateway.proxy_response import MalformedResponse
from apicanary.engine.gateway.proxy_response_v2 import parse_v2_response
from apicanary.errors import TemplateError
from apicanary.project.loader import load_project
from tests.support.sam import load

URI = "arn:aws:lambda:us-east-1:123456789012:function:fn:live"


def _routes(*keys: str) -> HttpRoutes:
    return HttpRoutes(tuple(HttpRouteSnapshot(k, "AWS_PROXY", URI, "2.0", 30000) for k in keys))


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/items/1", "GET /items/{id}"),
        ("GET", "/items/special", "GET /items/special"),
        ("POST", "/items/1", "ANY /items/{id}"),  # an exact method wins, ANY on the same path next
        ("DELETE", "/items/1/parts", "ANY /{proxy+}"),  # greedy after full matches
        ("GET", "/", "$default"),  # {proxy+} needs a segment: $default catches the rest
        ("TRACE", "/items/1", "ANY /items/{id}"),
    ],
)
def test_the_most_specific_route_wins(method: str, path: str, expected: str) -> None:
    routes = _routes(
        "GET /items/{id}", "GET /items/special", "ANY /items/{id}", "ANY /{proxy+}", "$default"
    )
    match = routes.match(method, path)
    assert match is not None
    key = "$default" if match.resource == "$default" else f"{match.method} {match.resource}"
    assert key == expected


def test_a_path_without_the_method_falls_through_unlike_rest() -> None:
    routes = _routes("GET /items", "$default")
    match = routes.match("POST", "/items")
    assert match is not None and match.resource == "$default"
    assert _routes("GET /items").match("POST", "/items") is None  # then 404 Not Found


def test_a_bare_json_value_is_a_200_json_answer() -> None:
    reply = parse_v2_response(b'{"message": "hi"}')
    assert not isinstance(reply, MalformedResponse)
    assert reply.status == 200
    assert (b"Content-Type", b"application/json") in reply.headers
    assert orjson.loads(reply.body) == {"message": "hi"}
    text = parse_v2_response(b'"Hello from Lambda!"')
    assert not isinstance(text, MalformedResponse) and text.body == b"Hello from Lambda!"


def test_cookies_become_set_cookie_and_base64_bodies_are_decoded() -> None:
    payload = {
        "statusCode": 201,
        "cookies": ["a=1; Path=/", "b=2"],
        "headers": {"x-one": "1", "Set-Cookie": "c=3"},
        "body": base64.b64encode(b"\x00\x01").decode(),
        "isBase64Encoded": True,
    }
    reply = parse_v2_response(orjson.dumps(payload))
    assert not isinstance(reply, MalformedResponse)
    assert reply.status == 201 and reply.body == b"\x00\x01"
    cookies = [v for k, v in reply.headers if k.lower() == b"set-cookie"]
    assert cookies == [b"c=3", b"a=1; Path=/", b"b=2"]


@pytest.mark.parametrize(
    "payload",
    [b"not json", b'{"statusCode": "abc"}', b'{"statusCode": 200, "cookies": "a=1"}'],
)
def test_malformed_answers_are_refused(payload: bytes) -> None:
    assert isinstance(parse_v2_response(payload), MalformedResponse)


SAM = """\
Globals:
  HttpApi:
    StageVariables: {team: core}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      AutoPublishAlias: live
      Events:
        Get:
          Type: HttpApi
          Properties: {Path: "/items/{id}", Method: get, TimeoutInMillis: 2000}
        Old:
          Type: HttpApi
          Properties: {ApiId: !Ref Named, Path: /v1, PayloadFormatVersion: "1.0"}
        Everything:
          Type: HttpApi
  Named:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: beta
      DefinitionBody:
        openapi: "3.0.1"
        info: {title: named, version: "1"}
        paths:
          /doc:
            post:
              x-amazon-apigateway-integration:
                type: aws_proxy
                uri: !GetAtt Fn.Arn
                payloadFormatVersion: "2.0"
"""


def test_sam_http_apis(tmp_path: Path) -> None:
    project = load(tmp_path, SAM)
    named, implicit = project.http_apis
    assert (implicit.logical_id, implicit.stage_name, implicit.implicit) == (
        "ServerlessHttpApi", "$default", True
    )  # fmt: skip
    assert dict(implicit.variables) == {"team": "core"}
    keys = {r.route_key: r for r in implicit.routes}
    assert set(keys) == {"GET /items/{id}", "$default"}
    get = keys["GET /items/{id}"]
    assert get.payload_format_version == "2.0" and get.integration.timeout_in_millis == 2000
    assert get.integration.uri is not None and get.integration.uri.endswith(":Fn:live/invocations")
    assert (get.integration.function, get.integration.qualifier) == ("Fn", "live")
    assert named.stage_name == "beta"
    assert {r.route_key: r.payload_format_version for r in named.routes} == {
        "POST /doc": "2.0", "ANY /v1": "1.0"
    }  # fmt: skip
    assert project.apis == ()  # no REST API appears for HttpApi events


def test_sam_http_api_errors_name_the_field_and_value(tmp_path: Path) -> None:
    bad = SAM.replace('PayloadFormatVersion: "1.0"', 'PayloadFormatVersion: "3.0"')
    with pytest.raises(TemplateError, match=r"Old\.Properties\.PayloadFormatVersion.*3\.0"):
        load(tmp_path, bad)
    slow = SAM.replace("TimeoutInMillis: 2000", "TimeoutInMillis: 30001")
    with pytest.raises(TemplateError, match=r"TimeoutInMillis.*30001"):
        load(tmp_path, slow)


CFN = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: fn
      Runtime: python3.11
      Handler: app.handler
      Role: arn:aws:iam::123456789012:role/x
      Code: src/
  Version:
    Type: AWS::Lambda::Version
    Properties: {FunctionName: !Ref Fn}
  Live:
    Type: AWS::Lambda::Alias
    Properties: {FunctionName: !Ref Fn, FunctionVersion: !GetAtt Version.Version, Name: live}
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: cfn-http, ProtocolType: HTTP}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Ref Live
      PayloadFormatVersion: "2.0"
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: GET /items
      Target: !Sub integrations/${Integration}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: $default, AutoDeploy: true}
"""


def test_cloudformation_http_api(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return {}\n")
    (tmp_path / "template.yaml").write_text(CFN)
    project = load_project(tmp_path / "template.yaml")
    (api,) = project.http_apis
    assert (api.name, api.stage_name) == ("cfn-http", "$default")
    (route,) = api.routes
    assert route.route_key == "GET /items"
    assert route.integration.uri == "arn:aws:lambda:us-east-1:123456789012:function:fn:live"
    assert (route.integration.function, route.integration.qualifier) == ("Fn", "live")
    assert not any("ApiGatewayV2" in w for w in project.warnings)


PITFALLS = """\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      AutoPublishAlias: live
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 2}
      DeploymentPreference: {Type: Canary10Percent5Minutes}
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefinitionBody:
        openapi: "3.0.1"
        info: {title: pitfalls, version: "1"}
        paths:
          /bare:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                uri: !GetAtt Fn.Arn
                payloadFormatVersion: "2.0"
          /latest:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                uri: !Sub "${Fn.Arn}:$LATEST"
                payloadFormatVersion: "2.0"
          /alias:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                uri: !Sub "${Fn.Arn}:live"
                payloadFormatVersion: "2.0"
"""


def test_doctor_flags_http_api_pitfalls(tmp_path: Path) -> None:
    from apicanary.project.doctor import check_project

    findings = check_project(load(tmp_path, PITFALLS))
    http = [f for f in findings if f.check == "http-integration"]
    assert [f.level for f in http] == ["error", "error"]
    assert "GET /bare" in http[0].message and "unqualified" in http[0].message
    assert "GET /latest" in http[1].message and "$LATEST" in http[1].message
    (pc,) = [f for f in findings if f.check == "provisioned-concurrency"]
    assert pc.level == "warning" and "Alias with weights" in pc.message


def test_a_failing_change_listener_is_logged_and_the_write_stays(tmp_path: Path) -> None:
    """As for REST APIs (the shared ``engine/api_service.py``): the write committed, and the
    listeners after the failing one still get the new snapshot."""
    from apicanary.clock import VirtualClock
    from apicanary.engine.apigatewayv2.service import HttpApiService
    from apicanary.engine.apigatewayv2.snapshot import HttpGatewaySnapshot
    from apicanary.store import Store

    service = HttpApiService(Store(tmp_path / "state"), VirtualClock())
    seen: list[HttpGatewaySnapshot] = []

    def boom(_snapshot: HttpGatewaySnapshot) -> None:
        raise RuntimeError("listener bug")

    service.on_change(boom)
    service.on_change(seen.append)
    created = service.create_api({"name": "a", "protocolType": "HTTP"})
    assert service.get_api(created["apiId"])["name"] == "a"
    assert [snapshot.revision for snapshot in seen] == [service.revision]
