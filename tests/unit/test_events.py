"""Proxy events (v1.0, v2.0), proxy response parsing and fixed gateway responses."""

from __future__ import annotations

import base64
import calendar
import json
import time
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apicanary.engine.gateway.access_log import context_variables
from apicanary.engine.gateway.events import (
    build_http_v2_event,
    build_rest_v1_event,
    format_request_time,
    parse_query_string,
)
from apicanary.engine.gateway.media_types import (
    NO_BINARY_MEDIA_TYPES,
    BinaryMediaTypes,
    first_media_type,
)
from apicanary.engine.gateway.messages import (
    GatewayReply,
    GatewayRequest,
    RequestRecord,
    ResolvedRoute,
)
from apicanary.engine.gateway.proxy_response import MalformedResponse, parse_proxy_response
from apicanary.engine.gateway.responses import (
    FUNCTION_ERROR,
    INTEGRATION_REJECTED,
    INTEGRATION_TIMEOUT,
    MISSING_AUTHENTICATION_TOKEN,
    THROTTLED,
)
from apicanary.engine.gateway.routes import RouteMatch

REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
# 2024-07-10 12:28:36.123 UTC
EPOCH_MS = calendar.timegm((2024, 7, 10, 12, 28, 36, 0, 0, 0)) * 1000 + 123


def request_and_route(
    *,
    method: str,
    raw_path: str,
    stage: str,
    resource: str,
    resource_id: str = "",
    path_parameters: dict[str, str] | None,
    headers: list[tuple[str, str]],
    query_string: str,
    body: bytes,
    source_ip: str,
    api_id: str,
    deployment_id: str = "",
    stage_variables: dict[str, str] | None,
    binary_media_types: BinaryMediaTypes = NO_BINARY_MEDIA_TYPES,
    domain_name: str | None = None,
    route_method: str | None = None,
) -> tuple[GatewayRequest, ResolvedRoute]:
    """The builders' inputs from the flat fields the tests vary."""
    request = GatewayRequest(method, raw_path, query_string, headers, body, source_ip, domain_name)
    match = RouteMatch(
        resource, resource_id, route_method or method, path_parameters or {}, integration=None
    )
    route = ResolvedRoute(
        api_id, "api", binary_media_types, stage, False, deployment_id, stage_variables or {},
        raw_path, match,
    )  # fmt: skip
    return request, route


#: The headers API Gateway adds before invoking (regional endpoint), see test_rest_proxy_paths.
ADDED = ("X-Amzn-Trace-Id", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto")


def client_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """An event's headers without the ones API Gateway adds."""
    return {k: v for k, v in headers.items() if k not in ADDED and k.title() not in ADDED}


def v1(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "method": "GET",
        "raw_path": "/prod/orders/42",
        "stage": "prod",
        "resource": "/orders/{id}",
        "path_parameters": {"id": "42"},
        "headers": [("Host", "abc123.execute-api.localhost:3000"), ("User-Agent", "curl/8")],
        "query_string": "",
        "body": b"",
        "source_ip": "127.0.0.1",
        "api_id": "abc123",
        "deployment_id": "dep001",
        "resource_id": "res001",
        "stage_variables": None,
        "binary_media_types": NO_BINARY_MEDIA_TYPES,
        "request_time_ms": EPOCH_MS,
        "request_id": REQUEST_ID,
    }
    kwargs.update(overrides)
    per_request = {
        key: kwargs.pop(key)
        for key in ("request_time_ms", "request_id", "extended_request_id", "account_id")
        if key in kwargs
    }
    request, route = request_and_route(**kwargs)
    return build_rest_v1_event(request, route, **per_request)


# --- v1.0 event: shape ----------------------------------------------------------------------

TOP_KEYS = {
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "body",
    "isBase64Encoded",
}
CONTEXT_KEYS = {
    "accountId",
    "apiId",
    "deploymentId",
    "domainName",
    "domainPrefix",
    "extendedRequestId",
    "httpMethod",
    "identity",
    "path",
    "protocol",
    "requestId",
    "requestTime",
    "requestTimeEpoch",
    "resourceId",
    "resourcePath",
    "stage",
}
IDENTITY_KEYS = {
    "accessKey",
    "accountId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "sourceIp",
    "user",
    "userAgent",
    "userArn",
}


def test_v1_has_exactly_the_reference_keys() -> None:
    e = v1()
    assert set(e) == TOP_KEYS
    assert set(e["requestContext"]) == CONTEXT_KEYS
    assert set(e["requestContext"]["identity"]) == IDENTITY_KEYS


def test_v1_values_key_by_key() -> None:
    e = v1()
    assert e["resource"] == "/orders/{id}"
    assert e["path"] == "/orders/42"
    assert e["httpMethod"] == "GET"
    assert client_headers(e["headers"]) == {
        "Host": "abc123.execute-api.localhost:3000",
        "User-Agent": "curl/8",
    }
    assert client_headers(e["multiValueHeaders"]) == {
        "Host": ["abc123.execute-api.localhost:3000"],
        "User-Agent": ["curl/8"],
    }
    assert e["queryStringParameters"] is None
    assert e["multiValueQueryStringParameters"] is None
    assert e["pathParameters"] == {"id": "42"}
    assert e["stageVariables"] is None
    assert e["body"] is None
    assert e["isBase64Encoded"] is False
    rc = e["requestContext"]
    assert rc["accountId"] == "123456789012"
    assert rc["apiId"] == "abc123"
    assert rc["deploymentId"] == "dep001"
    assert rc["domainName"] == "abc123.execute-api.localhost:3000"
    assert rc["domainPrefix"] == "abc123"
    assert isinstance(rc["extendedRequestId"], str) and len(rc["extendedRequestId"]) == 16
    assert rc["httpMethod"] == "GET"
    assert rc["path"] == "/prod/orders/42"
    assert rc["protocol"] == "HTTP/1.1"
    assert rc["requestId"] == REQUEST_ID
    assert rc["requestTime"] == "10/Jul/2024:12:28:36 +0000"
    assert rc["requestTimeEpoch"] == EPOCH_MS
    assert rc["resourceId"] == "res001"
    assert rc["resourcePath"] == "/orders/{id}"
    assert rc["stage"] == "prod"
    ident = rc["identity"]
    assert ident["sourceIp"] == "127.0.0.1"
    assert ident["userAgent"] == "curl/8"
    for key in IDENTITY_KEYS - {"sourceIp", "userAgent"}:
        assert ident[key] is None, key


def test_v1_is_orjson_serialisable() -> None:
    e = v1(query_string="a=1&a=2", body=b'{"x":1}', stage_variables={"alias": "live"})
    assert orjson.loads(orjson.dumps(e)) == e


def test_v1_null_when_empty() -> None:
    e = v1(path_parameters={}, stage_variables={}, headers=[], query_string="&")
    assert e["pathParameters"] is None
    assert e["stageVariables"] is None
    # API Gateway's own headers are always there, so the header maps never are null
    assert set(e["headers"]) == set(e["multiValueHeaders"]) == set(ADDED)
    assert e["queryStringParameters"] is None
    assert e["multiValueQueryStringParameters"] is None
    assert e["requestContext"]["identity"]["userAgent"] is None
    assert e["requestContext"]["domainName"] == "abc123.execute-api.localhost"
    assert e["requestContext"]["domainPrefix"] == "abc123"


def test_v1_stage_variables_are_copied() -> None:
    variables = {"alias": "canary", "marker": "1"}
    e = v1(stage_variables=variables)
    assert e["stageVariables"] == variables
    assert e["stageVariables"] is not variables


def test_v1_explicit_ids_and_domain() -> None:
    e = v1(extended_request_id="Xyz=", account_id="111111111111", domain_name="api.example.com")
    rc = e["requestContext"]
    assert (rc["extendedRequestId"], rc["accountId"]) == ("Xyz=", "111111111111")
    assert (rc["domainName"], rc["domainPrefix"]) == ("api.example.com", "api")


# --- v1.0 event: paths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_path", "path"),
    [
        ("/prod", "/"),
        ("/prod/", "/"),
        ("/prod/test-path", "/test-path"),
        ("/prod/test-path/", "/test-path/"),  # AWS keeps the trailing slash in `path`
        ("/production/x", "/production/x"),  # not the stage prefix
        (
            "/prod/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com",
            "/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com",
        ),
    ],
)
def test_v1_path_strips_stage_only(raw_path: str, path: str) -> None:
    e = v1(raw_path=raw_path)
    assert e["path"] == path
    assert e["requestContext"]["path"] == raw_path


# --- v1.0 event: headers --------------------------------------------------------------------


def test_v1_headers_last_value_and_original_case() -> None:
    e = v1(
        headers=[
            ("tEsT-HEADeR", "aValUE"),
            ("X-Multi", "one"),
            ("x-multi", "two"),
            ("authorization", "random-value"),
            ("user-agent", "python-requests/testing"),
            ("Content-Length", "12"),
            ("connection", "keep-alive"),
        ]
    )
    assert client_headers(e["headers"]) == {
        "tEsT-HEADeR": "aValUE",
        "X-Multi": "two",
        "Authorization": "random-value",
        "User-Agent": "python-requests/testing",
    }
    assert client_headers(e["multiValueHeaders"]) == {
        "tEsT-HEADeR": ["aValUE"],
        "X-Multi": ["one", "two"],
        "Authorization": ["random-value"],
        "User-Agent": ["python-requests/testing"],
    }
    assert e["requestContext"]["identity"]["userAgent"] == "python-requests/testing"


def test_v1_header_rules_hold_once_the_name_cache_is_full() -> None:
    """The per-name rules are cached for the first names seen; names beyond the cache's
    size get the same treatment, computed per request."""
    for i in range(1500):  # far more distinct names than the cache keeps
        v1(headers=[(f"X-Name-{i}", "v")])
    e = v1(
        headers=[
            ("X-Fresh-Name", "1"),
            ("x-fresh-NAME", "2"),
            ("AUTHORIZATION", "secret"),
            ("Content-LENGTH", "0"),
            ("Connection", "close"),
        ]
    )
    assert client_headers(e["headers"]) == {"X-Fresh-Name": "2", "Authorization": "secret"}
    assert client_headers(e["multiValueHeaders"]) == {
        "X-Fresh-Name": ["1", "2"],
        "Authorization": ["secret"],
    }


# --- v1.0 event: query strings --------------------------------------------------------------


def test_v1_query_decoding_matches_aws_recording() -> None:
    qs = "&".join(
        [
            "dateTimeOffset=2023-06-12T18:05:10.123456+00:00",
            "email=test%2Balias@gmail.com",
            "plus=test+alias@gmail.com",
            "url=https://www.google.com/",
            "whitespace=foo%20bar",
            "zhash=abort/",
        ]
    )
    e = v1(query_string=qs)
    assert e["queryStringParameters"] == {
        "dateTimeOffset": "2023-06-12T18:05:10.123456 00:00",
        "email": "test+alias@gmail.com",
        "plus": "test alias@gmail.com",
        "url": "https://www.google.com/",
        "whitespace": "foo bar",
        "zhash": "abort/",
    }


def test_v1_multi_value_query() -> None:
    e = v1(query_string="category=electronics&category=books&price=10&price=20&price=30&flag")
    assert e["queryStringParameters"] == {"category": "books", "price": "30", "flag": ""}
    assert e["multiValueQueryStringParameters"] == {
        "category": ["electronics", "books"],
        "price": ["10", "20", "30"],
        "flag": [""],
    }


def test_parse_query_string_edges() -> None:
    assert parse_query_string("") == (None, None)
    assert parse_query_string("&&") == (None, None)
    assert parse_query_string("=x") == (None, None)
    assert parse_query_string("a=1#frag") == ({"a": "1"}, {"a": ["1"]})
    assert parse_query_string("a=b=c") == ({"a": "b=c"}, {"a": ["b=c"]})


# --- v1.0 event: bodies ---------------------------------------------------------------------


def test_v1_text_body() -> None:
    e = v1(
        method="POST",
        body=b'{"message": "hello world"}',
        headers=[("Content-Type", "application/json")],
    )
    assert e["body"] == '{"message": "hello world"}'
    assert e["isBase64Encoded"] is False


def test_v1_invalid_utf8_text_body_is_replaced_not_raised() -> None:
    e = v1(body=b"\xff\xfeok")
    assert e["body"] == "\ufffd\ufffdok"
    assert e["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("patterns", "content_type", "binary"),
    [
        (["image/png"], "image/png", True),
        (["image/png"], "IMAGE/PNG; q=1", True),
        (["image/png"], "image/jpeg", False),
        (["image/*"], "image/jpeg", True),
        (["image/*"], "text/plain", False),
        (["*/*"], "text/plain", True),
        (["*/*"], None, True),  # missing Content-Type counts as application/json
        (["application/*"], None, True),
        (["image/*"], None, False),
        (["application~1octet-stream"], "application/octet-stream", True),
        (["*/png"], "image/png", False),  # AWS-recorded: a left-side * is no wildcard
        ([], "image/png", False),
    ],
)
def test_v1_binary_body(patterns: list[str], content_type: str | None, binary: bool) -> None:
    payload = bytes(range(256))
    headers = [("Content-Type", content_type)] if content_type else []
    e = v1(
        method="POST",
        body=payload,
        headers=headers,
        binary_media_types=BinaryMediaTypes.of(patterns),
    )
    assert e["isBase64Encoded"] is binary
    if binary:
        assert base64.b64decode(e["body"]) == payload
    else:
        assert e["body"] == payload.decode("utf-8", "replace")


def test_request_time_format() -> None:
    assert format_request_time(0) == "01/Jan/1970:00:00:00 +0000"
    assert format_request_time(calendar.timegm((2020, 12, 9, 1, 2, 3, 0, 0, 0))) == (
        "09/Dec/2020:01:02:03 +0000"
    )
    now = int(time.time())
    assert format_request_time(now) == time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))


def test_first_media_type() -> None:
    assert first_media_type("text/html, image/png;q=0.9") == "text/html"
    assert first_media_type("Image/PNG;q=0.9, text/html") == "image/png"
    assert first_media_type("") is None
    assert first_media_type(None) is None


# --- v1.0 event validated by aws_lambda_powertools -------------------------------------------


def test_v1_event_validates_with_powertools_model() -> None:
    from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

    e = v1(
        method="POST",
        query_string="a=1&a=2",
        body=b'{"x": 1}',
        headers=[("Host", "h"), ("Content-Type", "application/json"), ("X-A", "1"), ("x-a", "2")],
        stage_variables={"alias": "live"},
    )
    model = APIGatewayProxyEventModel.model_validate(orjson.loads(orjson.dumps(e)))
    assert model.path == "/orders/42"
    assert model.requestContext.path == "/prod/orders/42"
    assert model.multiValueHeaders["X-A"] == ["1", "2"]
    assert model.pathParameters == {"id": "42"}
    assert model.stageVariables == {"alias": "live"}


def test_powertools_rest_resolver_round_trip() -> None:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
    from aws_lambda_powertools.utilities.typing import LambdaContext

    app = APIGatewayRestResolver()

    @app.get("/orders/<order_id>")
    def get_order(order_id: str) -> dict[str, Any]:
        return {"id": order_id, "q": app.current_event.get_query_string_value("q")}

    @app.post("/orders")
    def create_order() -> Response[str]:
        return Response(
            status_code=201,
            content_type="text/plain",
            body="created",
            headers={"X-Multi": ["a", "b"]},
            cookies=[],
        )

    class Ctx(LambdaContext):
        pass

    event = v1(query_string="q=hello+world", path_parameters={"order_id": "42"})
    event["resource"] = event["requestContext"]["resourcePath"] = "/orders/{order_id}"
    raw = orjson.dumps(app.resolve(orjson.loads(orjson.dumps(event)), Ctx()))
    parsed = parse_proxy_response(raw, binary_media_types=NO_BINARY_MEDIA_TYPES, accept_header=None)
    assert isinstance(parsed, GatewayReply), parsed
    assert parsed.status == 200
    assert orjson.loads(parsed.body) == {"id": "42", "q": "hello world"}
    assert (b"Content-Type", b"application/json") in parsed.headers

    event = v1(
        method="POST", raw_path="/prod/orders", resource="/orders", path_parameters=None, body=b"{}"
    )
    raw = orjson.dumps(app.resolve(event, Ctx()))
    parsed = parse_proxy_response(raw, binary_media_types=NO_BINARY_MEDIA_TYPES, accept_header=None)
    assert isinstance(parsed, GatewayReply), parsed
    assert parsed.status == 201
    assert parsed.body == b"created"
    assert (b"X-Multi", b"a, b") in parsed.headers
    assert (b"Content-Type", b"text/plain") in parsed.headers


# --- v2.0 event -----------------------------------------------------------------------------


def test_v2_event_shape() -> None:
    request, route = request_and_route(
        method="POST",
        raw_path="/my/path",
        stage="$default",
        resource="/my/{p}",
        path_parameters={"p": "a%20b"},
        headers=[
            ("Host", "h.example"),
            ("X-A", "1"),
            ("x-a", "2"),
            ("Cookie", "c1=v1; c2=v2"),
            ("User-Agent", "ua"),
        ],
        query_string="p=1&p=2&q=x+y",
        body=b"hello",
        source_ip="10.0.0.1",
        api_id="api1",
        stage_variables={"s": "v"},
    )
    e = build_http_v2_event(request, route, request_time_ms=EPOCH_MS, request_id=REQUEST_ID)
    assert e["version"] == "2.0"
    assert e["routeKey"] == "POST /my/{p}"
    assert e["rawPath"] == "/my/path"
    assert e["rawQueryString"] == "p=1&p=2&q=x+y"
    assert e["cookies"] == ["c1=v1", "c2=v2"]
    assert client_headers(e["headers"]) == {"host": "h.example", "x-a": "1,2", "user-agent": "ua"}
    assert e["queryStringParameters"] == {"p": "1,2", "q": "x y"}
    assert e["pathParameters"] == {"p": "a b"}
    assert e["stageVariables"] == {"s": "v"}
    assert e["body"] == "hello"
    assert e["isBase64Encoded"] is False
    assert "multiValueHeaders" not in e
    rc = e["requestContext"]
    assert rc["http"] == {
        "method": "POST",
        "path": "/my/path",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.0.0.1",
        "userAgent": "ua",
    }
    assert (rc["time"], rc["timeEpoch"]) == ("10/Jul/2024:12:28:36 +0000", EPOCH_MS)
    assert (rc["domainName"], rc["domainPrefix"], rc["stage"]) == ("h.example", "h", "$default")

    from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

    APIGatewayProxyEventV2Model.model_validate(e)


def test_v2_binary_body_and_omitted_keys() -> None:
    request, route = request_and_route(
        method="GET",
        raw_path="/",
        stage="$default",
        resource="$default",
        path_parameters=None,
        headers=[("content-type", "image/png")],
        query_string="",
        body=b"\x89PNG",
        source_ip="1.2.3.4",
        api_id="api1",
        stage_variables=None,
    )
    e = build_http_v2_event(request, route, request_time_ms=EPOCH_MS, request_id=REQUEST_ID)
    assert e["routeKey"] == "$default"
    assert e["isBase64Encoded"] is True
    assert base64.b64decode(e["body"]) == b"\x89PNG"
    for key in ("cookies", "queryStringParameters", "pathParameters", "stageVariables"):
        assert key not in e


# --- proxy response parsing -----------------------------------------------------------------


def parse(
    obj: Any, *, binary: list[str] | None = None, accept: str | None = None
) -> GatewayReply | MalformedResponse:
    raw = obj if isinstance(obj, bytes) else orjson.dumps(obj)
    return parse_proxy_response(
        raw, binary_media_types=BinaryMediaTypes.of(binary or []), accept_header=accept
    )


def ok(obj: Any, **kw: Any) -> GatewayReply:
    r = parse(obj, **kw)
    assert isinstance(r, GatewayReply), r
    return r


def test_empty_object_is_valid() -> None:
    r = ok({})
    assert (r.status, r.body) == (200, b"")
    assert r.headers == ((b"Content-Type", b"application/json"),)


def test_only_headers_is_valid() -> None:
    r = ok({"headers": {"test-header": "value"}})
    assert r.status == 200
    assert (b"test-header", b"value") in r.headers


@pytest.mark.parametrize(("value", "status"), [(201, 201), ("201", 201), (404.0, 404), (None, 200)])
def test_status_code_forms(value: Any, status: int) -> None:
    assert ok({"statusCode": value}).status == status


@pytest.mark.parametrize(
    "value", ["test", "", "20 1", True, 99, 600, 201.5, [200], {"a": 1}, "-200"]
)
def test_bad_status_codes_are_malformed(value: Any) -> None:
    assert isinstance(parse({"statusCode": value}), MalformedResponse)


@pytest.mark.parametrize(
    "payload",
    [
        {"statusCode": 200, "wrongValue": 1},
        "justAString",
        [1, 2],
        123,
        None,
        b"not json",
        b"",
        {"multiValueHeaders": {"test-multi-invalid": "value1"}},
        {"headers": ["a"]},
        {"headers": {"a": 1}},
        {"headers": {"a": {"b": 1}}},
        {"multiValueHeaders": ["a"]},
        {"multiValueHeaders": {"a": [1]}},
        {"body": {"a": 1}},
        {"body": 12},
        {"isBase64Encoded": "true"},
        {"headers": {"bad name": "v"}},
        {"headers": {"X-Injected": "a\r\nSet-Cookie: x=1"}},
    ],
)
def test_malformed_responses(payload: Any) -> None:
    r = parse(payload)
    assert isinstance(r, MalformedResponse)
    assert r.reason


def test_header_values_bools_and_nulls() -> None:
    r = ok(
        {
            "statusCode": 200,
            "headers": {"test-header": "value", "header-bool": True, "off": False, "gone": None},
        }
    )
    assert (b"test-header", b"value") in r.headers
    assert (b"header-bool", b"true") in r.headers
    assert (b"off", b"false") in r.headers
    assert all(name != b"gone" for name, _ in r.headers)


def test_headers_null_is_fine() -> None:
    assert ok({"statusCode": 200, "headers": None}).headers == (
        (b"Content-Type", b"application/json"),
    )


def test_multi_value_headers_are_joined() -> None:
    r = ok({"statusCode": 200, "multiValueHeaders": {"test-multi": ["value1", "value2"]}})
    assert (b"test-multi", b"value1, value2") in r.headers


def test_multi_value_headers_and_headers_are_joined_case_insensitively() -> None:
    """[Rec test_aws_proxy_response_payload_format_validation /
    invoke-api-multi-headers-overwrite-casing] multi values first, spelled as in
    multiValueHeaders (the documentation says only the multi values appear; AWS joins)."""
    r = ok(
        {
            "multiValueHeaders": {"tesT-Multi": ["value-multi"]},
            "headers": {"test-multi": "value-solo"},
        }
    )
    assert (b"tesT-Multi", b"value-multi, value-solo") in r.headers
    assert [n for n, _ in r.headers if n.lower() == b"test-multi"] == [b"tesT-Multi"]


def test_set_cookie_values_stay_separate() -> None:
    r = ok({"multiValueHeaders": {"Set-Cookie": ["a=1; Path=/", "b=2"]}})
    assert [v for n, v in r.headers if n == b"Set-Cookie"] == [b"a=1; Path=/", b"b=2"]


def test_content_type_default_and_override() -> None:
    assert (b"Content-Type", b"application/json") in ok({}).headers
    r = ok({"headers": {"content-type": "text/html"}})
    assert r.headers == ((b"content-type", b"text/html"),)


def test_framing_headers_are_dropped() -> None:
    r = ok(
        {
            "headers": {"Content-Length": "999", "Transfer-Encoding": "chunked", "X-Ok": "1"},
            "body": "hi",
        }
    )
    names = {n.lower() for n, _ in r.headers}
    assert names == {b"x-ok", b"content-type"}


def test_body_text_is_utf8() -> None:
    assert ok({"body": "héllo ☃"}).body == "héllo ☃".encode()
    assert ok({"body": None}).body == b""


def test_base64_body_decoded_only_when_accept_matches() -> None:
    encoded = base64.b64encode(b"\x89PNG\x00").decode()
    payload = {"statusCode": 200, "body": encoded, "isBase64Encoded": True}
    # AWS-recorded: no binaryMediaTypes -> the base64 text is the body
    assert ok(payload).body == encoded.encode()
    assert ok(payload, binary=["image/png"], accept="image/png").body == b"\x89PNG\x00"
    assert ok(payload, binary=["image/*"], accept="image/png, text/html").body == b"\x89PNG\x00"
    # only the first Accept media type counts
    assert ok(payload, binary=["image/png"], accept="text/html, image/png").body == encoded.encode()
    assert ok(payload, binary=["image/png"], accept=None).body == encoded.encode()
    assert ok(payload, binary=["*/*"], accept=None).body == b"\x89PNG\x00"
    # isBase64Encoded false: never decoded
    assert (
        ok({**payload, "isBase64Encoded": False}, binary=["*/*"], accept="image/png").body
        == encoded.encode()
    )


def test_bad_base64_with_matching_accept_is_malformed() -> None:
    r = parse({"body": "abc", "isBase64Encoded": True}, binary=["*/*"], accept="image/png")
    assert isinstance(r, MalformedResponse)


def test_parse_accepts_str_payload() -> None:
    assert isinstance(
        parse_proxy_response(
            '{"statusCode": 204}', binary_media_types=NO_BINARY_MEDIA_TYPES, accept_header=None
        ),
        GatewayReply,
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
response_like = st.fixed_dictionaries(
    {},
    optional={
        "statusCode": json_values | st.integers(100, 599) | st.integers(100, 599).map(str),
        "headers": json_values | st.dictionaries(st.text(max_size=8), json_values, max_size=3),
        "multiValueHeaders": json_values
        | st.dictionaries(st.text(max_size=8), st.lists(json_values, max_size=3), max_size=3),
        "body": json_values,
        "isBase64Encoded": json_values,
    },
)


@settings(max_examples=300)
@given(payload=json_values | response_like, accept=st.none() | st.text(max_size=20))
def test_parser_never_raises_on_any_json(payload: Any, accept: str | None) -> None:
    result = parse_proxy_response(
        json.dumps(payload).encode(),
        binary_media_types=BinaryMediaTypes.of(["*/*"]),
        accept_header=accept,
    )
    assert isinstance(result, GatewayReply | MalformedResponse)
    if isinstance(result, GatewayReply):
        assert 100 <= result.status <= 599
        assert all(isinstance(n, bytes) and isinstance(v, bytes) for n, v in result.headers)


@given(raw=st.binary(max_size=64))
def test_parser_never_raises_on_any_bytes(raw: bytes) -> None:
    result = parse_proxy_response(raw, binary_media_types=NO_BINARY_MEDIA_TYPES, accept_header=None)
    assert isinstance(result, GatewayReply | MalformedResponse)


# --- fixed gateway responses ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("resp", "status", "body", "error_type"),
    [
        (
            MISSING_AUTHENTICATION_TOKEN,
            403,
            b'{"message":"Missing Authentication Token"}',
            "MissingAuthenticationTokenException",
        ),
        (
            FUNCTION_ERROR,
            502,
            b'{"message": "Internal server error"}',
            "InternalServerErrorException",
        ),
        (
            INTEGRATION_REJECTED,
            500,
            b'{"message": "Internal server error"}',
            "InternalServerErrorException",
        ),
        (
            INTEGRATION_TIMEOUT,
            504,
            b'{"message": "Endpoint request timed out"}',
            "InternalServerErrorException",
        ),
        (THROTTLED, 429, b'{"message":"Too Many Requests"}', "TooManyRequestsException"),
    ],
)
def test_gateway_responses(resp: Any, status: int, body: bytes, error_type: str) -> None:
    assert (resp.status, resp.body, resp.error_type) == (status, body, error_type)
    assert resp.headers == (
        (b"Content-Type", b"application/json"),
        (b"x-amzn-ErrorType", error_type.encode()),
    )
    assert resp.headers_for("rid-1")[-1] == (b"x-amzn-RequestId", b"rid-1")
    assert resp.message == orjson.loads(body)["message"]


def test_gateway_response_body_lengths_match_aws() -> None:
    assert len(FUNCTION_ERROR.body) == 36  # Content-Length seen on real 502s
    assert len(INTEGRATION_TIMEOUT.body) == 41  # Content-Length seen on real 504s


def test_the_access_log_and_the_event_give_one_request_the_same_extended_id() -> None:
    """``$context.extendedRequestId`` in the access log is the event's
    ``requestContext.extendedRequestId``: API Gateway has one per request."""
    record = RequestRecord(
        timestamp=EPOCH_MS / 1000, request_id=REQUEST_ID, api_id="abc123", api_name="api",
        stage="prod", is_canary=False, deployment_id="dep001", resource_path="/orders/{id}",
        method="GET", function_name="Fn", qualifier="live", executed_version="2", status=200,
        latency_ms=3.0, integration_latency_ms=2.0, cold_start=False, error_type=None,
        path="/prod/orders/42", source_ip="127.0.0.1",
    )  # fmt: skip
    logged = context_variables(record)["extendedRequestId"]
    assert logged == v1()["requestContext"]["extendedRequestId"]
    assert len(logged) == 16 and logged.endswith("=")
