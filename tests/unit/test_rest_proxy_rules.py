"""The REST proxy path's rules where AWS's recorded answers differ from the obvious (issue 18).

Each test names the recording it comes from; docs/aws-semantics.md ("API Gateway: the REST
proxy path") lists them. The end-to-end counterparts are in
tests/functional/test_rest_proxy_fidelity.py.
"""

from __future__ import annotations

import base64

import pytest

from apicanary.engine.apigateway.gateway_responses import customized, render, render_all
from apicanary.engine.apigateway.restapi_patch import apply_rest_api_patch
from apicanary.engine.gateway import responses
from apicanary.engine.gateway.custom_responses import customized_answers
from apicanary.engine.gateway.events import build_http_v2_event, build_rest_v1_event
from apicanary.engine.gateway.forwarded import forwarded_port
from apicanary.engine.gateway.media_types import BinaryMediaTypes
from apicanary.engine.gateway.proxy_response import MalformedResponse
from apicanary.engine.gateway.routes import Route, RouteTable, compile_routes
from apicanary.errors import AwsApiError
from tests.unit.test_events import EPOCH_MS, REQUEST_ID, parse, request_and_route, v1


def _paths(raw_path: str, resource: str = "/{proxy+}") -> tuple[str, str]:
    e = v1(raw_path=raw_path, stage="stage", resource=resource, path_parameters=None)
    return e["path"], e["requestContext"]["path"]


@pytest.mark.parametrize(
    ("raw_path", "path", "context_path"),
    [
        # [Rec test_lambda_aws_proxy_integration / invocation-payload-with-prepended-slash-to-stage]
        ("//stage/proxy-value", "/proxy-value", "/stage/proxy-value"),
        # [Rec ... / invocation-payload-with-prepended-slash]
        ("/stage//proxy-value", "/proxy-value", "/stage//proxy-value"),
        # [Rec ... / invocation-hardcoded]
        ("/stage//hardcoded", "/hardcoded", "/stage//hardcoded"),
        # [Rec ... / invocation-payload-with-double-slash, -with-trailing-slash]: kept
        ("/stage/proxy-value//double-slash", "/proxy-value//double-slash",
         "/stage/proxy-value//double-slash"),
        ("/stage/proxy-value/", "/proxy-value/", "/stage/proxy-value/"),
        ("/stage", "/", "/stage"),
    ],
)  # fmt: skip
def test_slashes_next_to_the_stage(raw_path: str, path: str, context_path: str) -> None:
    assert _paths(raw_path) == (path, context_path)


# --- headers API Gateway adds -------------------------------------------------------------


def test_regional_headers_are_added_in_both_maps() -> None:
    e = v1(source_ip="203.0.113.7")
    for name, value in {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Port": "3000",  # the Host the client connected to
        "X-Forwarded-Proto": "http",
    }.items():
        assert e["headers"][name] == value
        assert e["multiValueHeaders"][name] == [value]
    trace = e["headers"]["X-Amzn-Trace-Id"]
    root, stamp, unique = trace.split("-")
    assert root == "Root=1" and int(stamp, 16) == EPOCH_MS // 1000 and len(unique) == 24
    assert not any(k.startswith(("CloudFront-", "Via", "X-Amz-Cf")) for k in e["headers"])


def test_client_sent_forwarding_headers() -> None:
    """A proxy in front appends to X-Forwarded-For; the gateway's Port/Proto replace the
    client's; the client's trace id is propagated (X-Ray)."""
    e = v1(
        headers=[
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-proto", "gopher"),
            ("X-Amzn-Trace-Id", "Root=1-5f2330a4-6a0de1cd0e17c0508d386a64"),
            ("Host", "localhost"),
        ],
        source_ip="10.1.2.3",
    )
    assert e["headers"]["X-Forwarded-For"] == "198.51.100.1, 10.1.2.3"
    assert e["multiValueHeaders"]["X-Forwarded-Proto"] == ["http"]
    assert "x-forwarded-proto" not in e["headers"]
    assert e["headers"]["X-Forwarded-Port"] == "80"
    assert e["headers"]["X-Amzn-Trace-Id"] == "Root=1-5f2330a4-6a0de1cd0e17c0508d386a64"


def test_edge_headers_only_behind_the_option() -> None:
    """[Rec test_lambda_aws_proxy_integration] an edge-optimized API's events carry Via,
    X-Amz-Cf-Id and the CloudFront-* viewer headers."""
    request, route = request_and_route(
        method="GET", raw_path="/prod/x", stage="prod", resource="/x", path_parameters=None,
        headers=[("Host", "h:3000")], query_string="", body=b"", source_ip="127.0.0.1",
        api_id="a1", stage_variables=None,
    )  # fmt: skip
    e = build_rest_v1_event(
        request, route, request_id=REQUEST_ID, request_time_ms=EPOCH_MS, edge=True
    )
    assert e["headers"]["Via"].endswith(".cloudfront.net (CloudFront)")
    assert e["headers"]["X-Amz-Cf-Id"]
    assert e["multiValueHeaders"]["CloudFront-Is-Desktop-Viewer"] == ["true"]
    assert e["headers"]["CloudFront-Forwarded-Proto"] == "http"
    assert e["headers"]["X-Forwarded-For"] == "127.0.0.1"


def test_v2_event_carries_them_lower_cased() -> None:
    request, route = request_and_route(
        method="GET", raw_path="/x", stage="$default", resource="/x", path_parameters=None,
        headers=[("host", "h:8080"), ("x-forwarded-for", "1.1.1.1")], query_string="",
        body=b"", source_ip="10.0.0.9", api_id="a1", stage_variables=None,
    )  # fmt: skip
    e = build_http_v2_event(request, route, request_id=REQUEST_ID, request_time_ms=EPOCH_MS)
    assert e["headers"]["x-forwarded-for"] == "1.1.1.1, 10.0.0.9"
    assert e["headers"]["x-forwarded-port"] == "8080"
    assert e["headers"]["x-forwarded-proto"] == "http"
    assert e["headers"]["x-amzn-trace-id"].startswith("Root=1-")


@pytest.mark.parametrize(
    ("host", "port"),
    [("localhost:3000", "3000"), ("localhost", "80"), ("[::1]:8080", "8080"), ("[::1]", "80"),
     (None, "80")],
)  # fmt: skip
def test_forwarded_port_is_the_hosts(host: str | None, port: str) -> None:
    assert forwarded_port(host) == port


# --- binaryMediaTypes and base64 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "binary"),
    # [Rec test_aws_proxy_binary_response]: binaryMediaTypes [image/png, */test]
    [("image/png", True), ("*/test", False), ("random/test", False), ("*/*", False),
     ("image/*", False), ("image/jpg", False)],
)  # fmt: skip
def test_left_wildcard_is_not_a_wildcard(accept: str, binary: bool) -> None:
    types = BinaryMediaTypes.of(["image/png", "*/test"])
    assert types.matches_header(accept) is binary


def test_invalid_base64_is_500_other_malformed_502() -> None:
    """[Rec test_aws_proxy_binary_response] body "èé+à)(" with isBase64Encoded and a matching
    Accept: 500."""
    bad = parse(
        {"body": "èé+à)(", "isBase64Encoded": True}, binary=["image/png"], accept="image/png"
    )
    assert isinstance(bad, MalformedResponse) and bad.status == 500
    wrong_key = parse({"statusCode": 200, "wrongValue": "value"})
    assert isinstance(wrong_key, MalformedResponse) and wrong_key.status == 502
    good = base64.b64encode(b"\x89PNG").decode()
    fine = parse({"body": good, "isBase64Encoded": True}, binary=["image/png"], accept="image/png")
    assert not isinstance(fine, MalformedResponse) and fine.body == b"\x89PNG"


# --- OPTIONS falls back to a greedy sibling ------------------------------------------------------


def _table(*specs: tuple[str, str]) -> RouteTable[str]:
    return compile_routes(Route(res, m, f"{m} {res}") for res, m in specs)


def test_options_falls_back_to_the_greedy_sibling() -> None:
    """[Rec TestApigatewayRouting::test_proxy_routing_with_hardcoded_resource_sibling]"""
    t = _table(("/test", "POST"), ("/test/any", "ANY"), ("/{proxy+}", "OPTIONS"))
    m = t.match("OPTIONS", "/test")
    assert m is not None and m.integration == "OPTIONS /{proxy+}"
    assert dict(m.path_parameters) == {"proxy": "test"}
    assert t.match("POST", "/test").integration == "POST /test"  # type: ignore[union-attr]
    own = t.match("OPTIONS", "/test/any")
    assert own is not None and own.integration == "ANY /test/any"
    assert t.match("GET", "/test") is None  # only OPTIONS falls back


def test_options_fallback_takes_the_deepest_greedy_and_needs_options_or_any() -> None:
    t = _table(
        ("/a/b", "GET"), ("/a/{proxy+}", "ANY"), ("/{proxy+}", "OPTIONS"), ("/c/{id}", "GET")
    )
    m = t.match("OPTIONS", "/a/b")
    assert m is not None and (m.integration, dict(m.path_parameters)) == (
        "ANY /a/{proxy+}",
        {"proxy": "b"},
    )
    m = t.match("OPTIONS", "/c/7")
    assert m is not None and (m.integration, dict(m.path_parameters)) == (
        "OPTIONS /{proxy+}",
        {"proxy": "c/7"},
    )
    assert _table(("/a", "GET"), ("/{proxy+}", "GET")).match("OPTIONS", "/a") is None


# --- UpdateRestApi and gateway responses (pure parts) ---------------------------------------


def test_binary_media_types_patch_like_an_object() -> None:
    """[Rec TestApiGatewayApiRestApi::test_update_rest_api_operation_add_remove, _behaviour]"""
    api = {"id": "a", "name": "n", "description": "d"}
    api = apply_rest_api_patch(api, [
        {"op": "add", "path": "/binaryMediaTypes/image~1png"},
        {"op": "add", "path": "/binaryMediaTypes/image~1jpeg"},
    ])  # fmt: skip
    assert api["binaryMediaTypes"] == ["image/png", "image/jpeg"]
    api = apply_rest_api_patch(
        api, [{"op": "replace", "path": "/binaryMediaTypes/image~1png", "value": "image/gif"}]
    )
    assert api["binaryMediaTypes"] == ["image/jpeg", "image/gif"]
    api = apply_rest_api_patch(api, [
        {"op": "remove", "path": "/binaryMediaTypes/image~1gif"},
        {"op": "remove", "path": "/description"},
    ])  # fmt: skip
    assert api["binaryMediaTypes"] == ["image/jpeg"] and "description" not in api
    dash = apply_rest_api_patch(api, [{"op": "add", "path": "/binaryMediaTypes/-", "value": "x/y"}])
    assert dash["binaryMediaTypes"] == ["image/jpeg", "-"]


def test_a_bad_operation_changes_nothing() -> None:
    api = {"id": "a", "name": "n"}
    with pytest.raises(AwsApiError) as info:
        apply_rest_api_patch(api, [
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "add", "path": "/binaryMediaTypes", "value": "image/gif"},
        ])  # fmt: skip
    assert (info.value.code, info.value.message) == (
        "BadRequestException",
        "Invalid patch path /binaryMediaTypes",
    )
    assert api == {"id": "a", "name": "n"}


def test_default_5xx_shows_through_default_responses_only() -> None:
    """[Rec TestApiGatewayGatewayResponse::test_gateway_response_put / get-gateway-responses]"""
    custom = {
        "DEFAULT_5XX": customized("DEFAULT_5XX", {"statusCode": "599"}),
        "AUTHORIZER_FAILURE": customized("AUTHORIZER_FAILURE", {}),
    }
    by_type = {r["responseType"]: r for r in render_all(custom)}
    assert len(by_type) == 21
    assert (
        by_type["INTEGRATION_TIMEOUT"]["statusCode"],
        by_type["INTEGRATION_TIMEOUT"]["defaultResponse"],
    ) == ("599", True)
    assert (
        by_type["AUTHORIZER_FAILURE"]["statusCode"],
        by_type["AUTHORIZER_FAILURE"]["defaultResponse"],
    ) == ("500", False)
    assert by_type["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "403"  # a 4xx
    assert "statusCode" not in by_type["DEFAULT_4XX"]
    assert render("DEFAULT_5XX", custom)["statusCode"] == "599"


def test_gateway_answers_follow_the_customized_family() -> None:
    """A customized DEFAULT_5XX gives the 504 timeout its status and headers; the 403 (a 4xx)
    is untouched; no customization, no change."""
    assert customized_answers({}) == {}
    custom = {
        "DEFAULT_5XX": customized(
            "DEFAULT_5XX",
            {"statusCode": "599", "responseParameters": {"gatewayresponse.header.x-a": "'b'"}},
        )
    }
    answers = customized_answers(custom)
    timeout = answers[responses.INTEGRATION_TIMEOUT]
    assert (timeout.status, timeout.body) == (599, b'{"message":"Endpoint request timed out"}')
    assert (b"x-a", b"b") in timeout.headers
    assert responses.MISSING_AUTHENTICATION_TOKEN not in answers
    assert answers[responses.FUNCTION_ERROR].status == 599
