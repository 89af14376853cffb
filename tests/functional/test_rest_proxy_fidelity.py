"""The REST proxy path where AWS's recorded answers differ from the obvious ones (issue 18).

Each test states AWS's behaviour as docs/aws-semantics.md records it (section "API Gateway:
the REST proxy path"), with the recording it comes from. One ``apicanary serve`` process
serves the module: its control port (boto3's apigateway and lambda clients) and its gateway
port (httpx, real HTTP); the function runs in a real worker process.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from apicanary.project.loader import load_project
from tests.support.lambda_api import ARN, create_function, error_of, lambda_client
from tests.support.local import ServerProcess, running_server
from tests.support.sam import write_template

# /respond answers what the request body says (AWS's LAMBDA_RESPONSE_FROM_BODY); the rest
# echo the event
HANDLER = """\
import json
if event['path'].endswith('/respond'):
    return json.loads(event['body'])
return {'statusCode': 200, 'body': json.dumps(event)}"""
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{ARN}:echo/invocations"
PNG = base64.b64encode(b"\x89PNG\r\n").decode()


@dataclass
class World:
    server: ServerProcess
    apigw: Any
    gateway_url: str
    api_id: str


def _apigw(url: str) -> Any:
    return boto3.client(
        "apigateway",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def _serve_api(state_dir: Path, *extra_args: str) -> Iterator[World]:
    """A ``serve`` process with the echo function behind ``/{proxy+}``, ``/hardcoded`` (ANY)
    and ``/test`` (POST only), deployed to the stage ``stage``."""
    args = ("--lambda-state-delay", "0", *extra_args)
    with running_server(state_dir, extra_args=args) as server:
        create_function(lambda_client(server.control_url), "echo", HANDLER)
        apigw = _apigw(server.control_url)
        api = apigw.create_rest_api(name="proxy-fidelity")
        root = api["rootResourceId"]
        for path_part, method in (("{proxy+}", "ANY"), ("hardcoded", "ANY"), ("test", "POST")):
            resource = apigw.create_resource(restApiId=api["id"], parentId=root, pathPart=path_part)
            apigw.put_method(
                restApiId=api["id"], resourceId=resource["id"], httpMethod=method,
                authorizationType="NONE",
            )  # fmt: skip
            apigw.put_integration(
                restApiId=api["id"], resourceId=resource["id"], httpMethod=method,
                type="AWS_PROXY", integrationHttpMethod="POST", uri=URI,
            )  # fmt: skip
        apigw.create_deployment(restApiId=api["id"], stageName="stage")
        yield World(server, apigw, server.gateway_url, api["id"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from _serve_api(tmp_path_factory.mktemp("proxy") / "state")


def _event(world: World, path: str, **kwargs: Any) -> dict[str, Any]:
    response = httpx.request(kwargs.pop("method", "GET"), world.gateway_url + path, **kwargs)
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()
    return event


def _respond(
    world: World, stage: str, answer: dict[str, Any], accept: str | None
) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.post(f"{world.gateway_url}/{stage}/respond", json=answer, headers=headers)


# --- paths ----------------------------------------------------------------------------------


def test_slashes_around_the_stage(world: World) -> None:
    """[Rec test_lambda_aws_proxy_integration / invocation-payload-with-prepended-slash-to-stage,
    -with-prepended-slash, invocation-hardcoded]"""
    before = _event(world, "//stage/proxy-value")
    assert (before["path"], before["requestContext"]["path"]) == (
        "/proxy-value",
        "/stage/proxy-value",
    )
    after = _event(world, "/stage//proxy-value")
    assert (after["path"], after["requestContext"]["path"]) == (
        "/proxy-value",
        "/stage//proxy-value",
    )
    assert after["pathParameters"] == {"proxy": "proxy-value"}
    hardcoded = _event(world, "/stage//hardcoded")
    assert (hardcoded["resource"], hardcoded["path"]) == ("/hardcoded", "/hardcoded")
    inner = _event(world, "/stage/proxy-value//double-slash")
    assert inner["path"] == "/proxy-value//double-slash"


# --- the proxy response ----------------------------------------------------------------------


def test_multi_value_and_single_value_headers_are_joined(world: World) -> None:
    """[Rec test_aws_proxy_response_payload_format_validation / invoke-api-multi-headers-
    overwrite, -overwrite-casing]"""
    answer = {
        "statusCode": 200,
        "multiValueHeaders": {"tesT-Multi": ["value-multi"]},
        "headers": {"test-multi": "value-solo"},
    }
    response = _respond(world, "stage", answer, None)
    assert response.headers.get_list("test-multi") == ["value-multi, value-solo"]


def test_binary_media_types_via_update_rest_api_and_bad_base64(world: World) -> None:
    """[Rec test_aws_proxy_binary_response]: ``*/test`` is no wildcard; only the first Accept
    type counts; an undecodable base64 body is a 500; a change reaches callers with the next
    deployment."""
    world.apigw.update_rest_api(
        restApiId=world.api_id,
        patchOperations=[
            {"op": "add", "path": "/binaryMediaTypes/image~1png"},
            {"op": "add", "path": "/binaryMediaTypes/*~1test"},
        ],
    )
    world.apigw.create_deployment(restApiId=world.api_id, stageName="binary")
    answer = {"statusCode": 200, "body": PNG, "isBase64Encoded": True}
    assert _respond(world, "binary", answer, "image/png").content == b"\x89PNG\r\n"
    for accept in ("*/test", "random/test", "*/*", "image/*", "image/webp,image/png"):
        assert _respond(world, "binary", answer, accept).text == PNG, accept
    # the types reach callers with a deployment: the stage deployed before the patch has none
    assert _respond(world, "stage", answer, "image/png").text == PNG
    bad = _respond(world, "binary", {**answer, "body": "èé+à)("}, "image/png")
    assert (bad.status_code, bad.json()) == (500, {"message": "Internal server error"})


# --- routing ---------------------------------------------------------------------------------


def test_options_falls_back_to_the_proxy_sibling(world: World) -> None:
    """[Rec TestApigatewayRouting::test_proxy_routing_with_hardcoded_resource_sibling]: /test
    has only POST; OPTIONS /test reaches the {proxy+} resource's ANY."""
    event = _event(world, "/stage/test", method="OPTIONS")
    assert (event["resource"], event["pathParameters"]) == ("/{proxy+}", {"proxy": "test"})
    assert _event(world, "/stage/test", method="POST")["resource"] == "/test"
    missing = httpx.get(f"{world.gateway_url}/stage/test")
    assert (missing.status_code, missing.json()) == (
        403,
        {"message": "Missing Authentication Token"},
    )


# --- headers API Gateway adds ----------------------------------------------------------------


def test_forwarding_headers_reach_the_function(world: World) -> None:
    """[Doc set-up-lambda-proxy-integrations; Rec test_lambda_aws_proxy_integration (names)]"""
    event = _event(world, "/stage/anything", headers={"X-Forwarded-For": "198.51.100.4"})
    port = world.gateway_url.rpartition(":")[2]
    headers = event["headers"]
    assert headers["X-Forwarded-For"] == "198.51.100.4, 127.0.0.1"
    assert (headers["X-Forwarded-Port"], headers["X-Forwarded-Proto"]) == (port, "http")
    assert headers["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert event["multiValueHeaders"]["X-Forwarded-Proto"] == ["http"]
    assert "Via" not in headers


def test_serve_edge_headers_adds_the_cloudfront_ones(tmp_path: Path) -> None:
    """[Rec test_lambda_aws_proxy_integration]: an edge-optimized API's events also carry
    Via, X-Amz-Cf-Id and CloudFront-* (``serve --edge-headers``)."""
    for world in _serve_api(tmp_path / "state", "--edge-headers"):
        headers = _event(world, "/stage/anything")["headers"]
        assert headers["Via"].endswith(".cloudfront.net (CloudFront)")
        assert headers["X-Amz-Cf-Id"] and headers["CloudFront-Viewer-Country"] == "US"
        assert headers["X-Forwarded-Proto"] == "http"


# --- the control plane -----------------------------------------------------------------------


def _error(call: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return error_of(info.value)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (f"{ARN}:echo", "AWS ARN for integration must contain path or action"),
        (f"bad-arn:lambda:path/2015-03-31/functions/{ARN}:echo/invocations",
         "Invalid ARN specified in the request"),
        (f"arn:aws:apigateway:us-east-1:lambda:test/2015-03-31/functions/{ARN}:echo/invocations",
         "AWS ARN for integration must contain path or action"),
        (f"arn:aws:apigateway:us-east-1:firehose:path/2015-03-31/functions/{ARN}:echo/invocations",
         "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose "
         "stream invocations."),
        (f"arn:aws:apigateway:us-east-1:lambda:path/random/value/{ARN}:echo/invocations",
         "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose "
         "stream invocations."),
    ],
)  # fmt: skip
def test_put_integration_uri_validation(world: World, uri: str, message: str) -> None:
    """[Rec test_put_integration_aws_proxy_uri]"""
    api = world.apigw.create_rest_api(name="uris")
    root = api["rootResourceId"]
    world.apigw.put_method(
        restApiId=api["id"], resourceId=root, httpMethod="ANY", authorizationType="NONE"
    )
    assert _error(
        world.apigw.put_integration, restApiId=api["id"], resourceId=root,
        httpMethod="ANY", type="AWS_PROXY", integrationHttpMethod="POST", uri=uri,
    ) == (400, "BadRequestException", message)  # fmt: skip


def test_update_rest_api(world: World) -> None:
    """[Rec TestApiGatewayApiRestApi::test_update_rest_api_operation_add_remove, _behaviour,
    _compression, _invalid_api_id, _concatenation_of_errors]"""
    api = world.apigw.create_rest_api(name="patched", description="this is my api")
    update = world.apigw.update_rest_api
    answer = update(restApiId=api["id"], patchOperations=[
        {"op": "add", "path": "/binaryMediaTypes/image~1png"},
        {"op": "add", "path": "/binaryMediaTypes/image~1jpeg"},
        {"op": "replace", "path": "/binaryMediaTypes/image~1png", "value": "image/gif"},
        {"op": "replace", "path": "/minimumCompressionSize", "value": "10"},
        {"op": "remove", "path": "/description"},
    ])  # fmt: skip
    assert answer["binaryMediaTypes"] == ["image/jpeg", "image/gif"]
    assert answer["minimumCompressionSize"] == 10 and "description" not in answer
    assert (
        world.apigw.get_rest_api(restApiId=api["id"])["binaryMediaTypes"]
        == answer["binaryMediaTypes"]
    )
    bad_path = [{"op": "add", "path": "/binaryMediaTypes", "value": "image/gif"}]
    assert _error(update, restApiId=api["id"], patchOperations=bad_path) == (
        400, "BadRequestException", "Invalid patch path /binaryMediaTypes",
    )  # fmt: skip
    add_size = [{"op": "add", "path": "/minimumCompressionSize", "value": "10"}]
    assert _error(update, restApiId=api["id"], patchOperations=add_size)[2] == (
        "Invalid patch operation specified. Must be one of: [replace]"
    )
    negative = [{"op": "replace", "path": "/minimumCompressionSize", "value": "-1"}]
    assert _error(update, restApiId=api["id"], patchOperations=negative)[2] == (
        "Invalid minimum compression size, must be between 0 and 10485760"
    )
    wrong = [{"op": "wrong", "path": "/binaryMediaTypes", "value": "image/gif"}] * 2
    status, code, message = _error(update, restApiId=api["id"], patchOperations=wrong)
    assert (status, code) == (400, "ValidationException")
    assert message.startswith(
        "2 validation errors detected: Value 'wrong' at 'updateRestApiInput.patchOperations.1."
        "member.op' failed to satisfy constraint: Member must satisfy enum value set: "
        "[add, remove, move, test, replace, copy]; Value 'wrong' at "
    )
    assert _error(update, restApiId="nope", patchOperations=[]) == (
        404, "NotFoundException", "Invalid API identifier specified 123456789012:nope",
    )  # fmt: skip


def test_gateway_responses(world: World) -> None:
    """[Rec TestApiGatewayGatewayResponse::test_gateway_response_crud, _validation, _put]"""
    api_id = world.apigw.create_rest_api(name="responses")["id"]
    get = world.apigw.get_gateway_response
    default = get(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN")
    assert {k: v for k, v in default.items() if k != "ResponseMetadata"} == {
        "defaultResponse": True,
        "responseParameters": {},
        "responseTemplates": {"application/json": '{"message":$context.error.messageString}'},
        "responseType": "MISSING_AUTHENTICATION_TOKEN",
        "statusCode": "403",
    }
    put = world.apigw.put_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="404",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'a.b.c'"},
    )  # fmt: skip
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (put["defaultResponse"], put["statusCode"]) == (False, "404")
    assert put["responseTemplates"] == default["responseTemplates"]
    items = world.apigw.get_gateway_responses(restApiId=api_id)["items"]
    assert len(items) == 21
    assert [i for i in items if not i["defaultResponse"]] == [
        {k: v for k, v in put.items() if k != "ResponseMetadata"}
    ]
    deleted = world.apigw.delete_gateway_response(
        restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN"
    )
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert get(restApiId=api_id, responseType="MISSING_AUTHENTICATION_TOKEN")["statusCode"] == "403"
    delete = world.apigw.delete_gateway_response
    assert _error(delete, restApiId=api_id, responseType="DEFAULT_4XX") == (
        404, "NotFoundException", "Gateway response type not defined on api",
    )  # fmt: skip
    status, code, message = _error(get, restApiId=api_id, responseType="FAKE_RESPONSE_TYPE")
    assert (status, code) == (400, "ValidationException")
    assert message.startswith(
        "1 validation error detected: Value 'FAKE_RESPONSE_TYPE' at 'responseType' failed to "
        "satisfy constraint: Member must satisfy enum value set: [REQUEST_TOO_LARGE, "
    )
    assert _error(get, restApiId="nope", responseType="DEFAULT_4XX")[:2] == (
        404,
        "NotFoundException",
    )


# --- SAM -------------------------------------------------------------------------------------


def test_sam_api_event_timeout_in_millis(tmp_path: Path) -> None:
    """[Doc SAM Api event source: TimeoutInMillis, 50..29000] is the integration's timeout."""
    template = write_template(tmp_path, """\
        Resources:
          Slow:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.handler
              Runtime: python3.12
              Events:
                Get:
                  Type: Api
                  Properties:
                    Path: /slow
                    Method: get
                    TimeoutInMillis: 300
        """)  # fmt: skip
    (tmp_path / "src" / "app.py").write_text(
        "import time\ndef handler(event, context):\n    time.sleep(1)\n    return {}\n"
    )
    with running_server(tmp_path / "state", template) as server:
        response = httpx.get(f"{server.gateway_url}/Prod/slow", timeout=10)
    assert (response.status_code, response.json()) == (
        504,
        {"message": "Endpoint request timed out"},
    )
    out_of_range = template.read_text().replace("TimeoutInMillis: 300", "TimeoutInMillis: 30")
    template.write_text(out_of_range)
    with pytest.raises(Exception, match=r"TimeoutInMillis: 30 is out of range"):
        load_project(template)


def test_the_gateway_answers_with_customized_responses(world: World) -> None:
    """[Doc supported-gateway-response-types] a customized MISSING_AUTHENTICATION_TOKEN is what
    an unmatched path gets; DEFAULT_5XX covers the untyped 502 of a malformed response."""
    put = world.apigw.put_gateway_response
    put(
        restApiId=world.api_id, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="404",
        responseParameters={
            "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
            "gatewayresponse.header.x-echo": "method.request.header.Accept",
        },
        responseTemplates={
            "application/json": '{"error": $context.error.messageString, '
            '"type": "$context.error.responseType"}'
        },
    )  # fmt: skip
    put(
        restApiId=world.api_id, responseType="DEFAULT_5XX",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
    )  # fmt: skip
    host = {"Host": f"{world.api_id}.execute-api.localhost"}  # other tests made more APIs
    try:
        missing = httpx.get(f"{world.gateway_url}/stage/test", headers=host)
        assert missing.status_code == 404
        assert missing.headers["access-control-allow-origin"] == "*"
        assert "x-echo" not in missing.headers  # request mappings are not supported
        assert missing.json() == {
            "error": "Missing Authentication Token",
            "type": "MISSING_AUTHENTICATION_TOKEN",
        }
        malformed = httpx.post(
            f"{world.gateway_url}/stage/respond", json={"statusCode": "x"}, headers=host
        )
        assert malformed.status_code == 502
        assert malformed.headers["access-control-allow-origin"] == "*"
        assert malformed.json() == {"message": "Internal server error"}
    finally:
        for kind in ("MISSING_AUTHENTICATION_TOKEN", "DEFAULT_5XX"):
            world.apigw.delete_gateway_response(restApiId=world.api_id, responseType=kind)
    restored = httpx.get(f"{world.gateway_url}/stage/test", headers=host)
    assert restored.status_code == 403 and "access-control-allow-origin" not in restored.headers


def test_update_gateway_response(world: World) -> None:
    """[Rec TestApiGatewayGatewayResponse::test_update_gateway_response]"""
    api_id = world.apigw.create_rest_api(name="updated-responses")["id"]
    update = world.apigw.update_gateway_response
    unset = update(
        restApiId=api_id, responseType="DEFAULT_4XX",
        patchOperations=[{"op": "replace", "path": "/statusCode", "value": "444"}],
    )  # fmt: skip
    assert (unset["statusCode"], unset["defaultResponse"]) == ("444", False)
    assert unset["responseTemplates"] == {
        "application/json": '{"message":$context.error.messageString}'
    }
    world.apigw.put_gateway_response(
        restApiId=api_id, responseType="DEFAULT_4XX", statusCode="404",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'a.b.c'"},
    )  # fmt: skip
    xml = "<gatewayResponse>$context.error.messageString</gatewayResponse>"
    answer = update(restApiId=api_id, responseType="DEFAULT_4XX", patchOperations=[
        {"op": "replace", "path": "/statusCode", "value": "444"},
        {"op": "replace",
         "path": "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin",
         "value": "'example.com'"},
        {"op": "add", "path": "/responseTemplates/application~1xml", "value": xml},
    ])  # fmt: skip
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["statusCode"] == "444"
    assert answer["responseParameters"] == {
        "gatewayresponse.header.Access-Control-Allow-Origin": "'example.com'"
    }
    assert answer["responseTemplates"]["application/xml"] == xml
    got = world.apigw.get_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")
    assert got["responseTemplates"] == answer["responseTemplates"]
    origin = "/responseParameters/gatewayresponse.header.Access-Control-Allow-Origin"
    for kind, operation, expected in [
        ("DEFAULT_4XX", {"op": "add", "path": "/statusCode", "value": "444"},
         (400, "BadRequestException", "Invalid patch path /statusCode")),
        ("DEFAULT_5XX", {"op": "replace", "path": origin, "value": "'example.com'"},
         (404, "NotFoundException", "Invalid parameter name specified")),
        ("DEFAULT_4XX", {"op": "add", "value": "'example.com'"},
         (400, "BadRequestException", "Invalid patch path null")),
        ("DEFAULT_4XX", {"op": "add", "path": "/wrongPath", "value": "x"},
         (400, "BadRequestException", "Invalid patch path /wrongPath")),
        ("DEFAULT_4XX", {"op": "replace", "path": "/responseTemplates/application~1xml",
                         "value": None},
         (400, "BadRequestException", "Invalid null or empty value in responseTemplates")),
    ]:  # fmt: skip
        assert _error(update, restApiId=api_id, responseType=kind, patchOperations=[operation]) == (
            expected
        )
    wrong_op = [{"op": "wrong-op", "path": "/statusCode", "value": "x"}]
    assert _error(update, restApiId=api_id, responseType="DEFAULT_4XX", patchOperations=wrong_op)[
        2
    ].startswith(
        "1 validation error detected: Value 'wrong-op' at "
        "'updateGatewayResponseInput.patchOperations.1.member.op'"
    )
