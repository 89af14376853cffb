"""Rehearsal traffic: schedules, placing recorded requests on the API, synthetic requests."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path
from random import Random
from urllib.parse import parse_qs

import orjson
import pytest

from apicanary.local.rehearse.placement import Placer, function_routes
from apicanary.local.rehearse.synthetic import SyntheticTraffic, synthetic_request
from apicanary.local.rehearse.traffic import (
    Cycler,
    TrafficRequest,
    at_rate,
    at_recorded_pace,
    recorded_offsets,
)
from apicanary.project.specs import Project
from tests.fixtures.quote_project import PROJECT
from tests.support.sam import load

URI = "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions"
EVENTS_AND_BYPASS = f"""\
Resources:
  Shop:
    Type: AWS::Serverless::Api
    Properties:
      Name: shop
      StageName: v1
      Variables: {{alias: live}}
      DefinitionBody:
        openapi: "3.0.1"
        info: {{title: shop, version: "1"}}
        paths:
          /direct:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub "{URI}/${{Fn.Arn}}/invocations"
          /staged/{{id}}:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub "{URI}/${{Fn.Arn}}:${{!stageVariables.alias}}/invocations"
          /other:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub "{URI}/${{Other.Arn}}:live/invocations"
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      AutoPublishAlias: live
      Events:
        Item:
          Type: Api
          Properties: {{Path: "/items/{{id}}/{{rest+}}", Method: any}}
  Other:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      AutoPublishAlias: live
"""


@pytest.fixture
def shop(tmp_path: Path) -> Project:
    return load(tmp_path, EVENTS_AND_BYPASS)


def quote_project() -> Project:
    from apicanary.project.loader import load_project

    return load_project(PROJECT / "template.yaml")


# --- schedules ------------------------------------------------------------------------------


def test_at_rate_spaces_requests_evenly() -> None:
    cycler = Cycler([TrafficRequest("GET", "/a"), TrafficRequest("GET", "/b")])
    times = [(t, r.path) for t, r in itertools.islice(at_rate(cycler, 4.0), 6)]
    assert times == [(0.0, "/a"), (0.25, "/b"), (0.5, "/a"), (0.75, "/b"), (1.0, "/a"),
                     (1.25, "/b")]  # fmt: skip
    assert cycler.passes == 3


def test_the_recorded_pace_keeps_gaps_shortens_idle_ones_and_repeats() -> None:
    requests = [TrafficRequest("GET", f"/{i}", at=at) for i, at in
                enumerate([100.0, 100.5, 100.4, 400.0, 401.0])]  # fmt: skip
    offsets, period = recorded_offsets(requests, max_gap_s=60.0)
    assert offsets == [0.0, 0.5, 0.5, 60.5, 61.5]  # backwards = no gap; 299.6 s idle -> 60
    assert period == 62.5  # plus the median gap (1.0)
    paced = [t for t, _ in itertools.islice(at_recorded_pace(Cycler(requests)), 7)]
    assert paced == [0.0, 0.5, 0.5, 60.5, 61.5, 62.5, 63.0]


# --- placement ------------------------------------------------------------------------------


def test_requests_are_placed_with_or_without_the_stage_prefix(shop: Project) -> None:
    placer = Placer(shop, shop.function("Fn"))
    for path in ("/v1/staged/7", "/staged/7"):
        placed = placer.place(TrafficRequest("GET", path))
        assert isinstance(placed, TrafficRequest)
        assert (placed.path, placed.api, placed.route) == (
            "/v1/staged/7",
            "shop",
            "GET /staged/{id}",
        )
    greedy = placer.place(TrafficRequest("DELETE", "/items/1/a/b"))
    assert isinstance(greedy, TrafficRequest) and greedy.route == "DELETE /items/{id}/{rest+}"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/v1/other", "a route of another function"),
        ("/v1/direct", "a route that does not invoke the function's alias"),
        ("/v1/nowhere", "no route of the template matches"),
    ],
)
def test_requests_that_are_not_rehearsed_say_why(shop: Project, path: str, reason: str) -> None:
    assert Placer(shop, shop.function("Fn")).place(TrafficRequest("GET", path)) == reason


def test_routes_that_bypass_the_alias_are_told_apart(shop: Project) -> None:
    routes = {r.label: r.via_alias for r in function_routes(shop, shop.function("Fn"))}
    assert routes == {
        "GET /direct": False,
        "GET /staged/{id}": True,
        "ANY /items/{id}/{rest+}": True,
    }


# --- synthetic ------------------------------------------------------------------------------


def test_synthetic_values_follow_the_openapi_definition_and_vary() -> None:
    project = quote_project()
    spec = project.function("QuoteFunction")
    routes = [r for r in function_routes(project, spec) if r.via_alias]
    traffic = SyntheticTraffic(routes, Random(1))
    requests = [traffic() for _ in range(600)]
    by_route = Counter(r.route for r in requests)
    assert set(by_route) == {"GET /quote/{sku}", "GET /catalogue", "GET /health"}
    skus = [r.path.rsplit("/", 1)[1] for r in requests if r.route == "GET /quote/{sku}"]
    assert all(r.path.startswith("/Prod/") for r in requests)
    generated = [s for s in skus if s != "AB-100"]
    assert 0.15 < 1 - len(generated) / len(skus) < 0.35  # the documented example, at times
    assert len(set(generated)) > len(generated) * 0.9  # and otherwise fresh values
    assert all(3 <= len(s) <= 8 for s in generated)  # minLength / maxLength
    # a third of the generated SKUs have a character sum divisible by 3: faults that depend
    # on the input are met
    thirds = sum(1 for s in generated if sum(map(ord, s)) % 3 == 0) / len(generated)
    assert 0.2 < thirds < 0.45
    quantities = [
        int(parse_qs(r.query)["quantity"][0])
        for r in requests
        if r.route == "GET /quote/{sku}" and r.query
    ]
    assert quantities and all(1 <= q <= 50 for q in quantities) and len(set(quantities)) > 5
    categories = {
        parse_qs(r.query)["category"][0]
        for r in requests
        if r.route == "GET /catalogue" and r.query
    }
    assert categories == {"coffee", "tea", "tools"}  # only the enum's values


def test_synthetic_traffic_is_reproducible_from_its_seed() -> None:
    project = quote_project()
    routes = function_routes(project, project.function("QuoteFunction"))
    first = [SyntheticTraffic(routes, Random(9))() for _ in range(50)]
    again = [SyntheticTraffic(routes, Random(9))() for _ in range(50)]
    other = [SyntheticTraffic(routes, Random(10))() for _ in range(50)]
    assert first == again and first != other


def test_without_a_definition_parameters_are_a_spread_of_integers_and_strings(
    shop: Project,
) -> None:
    route = next(r for r in function_routes(shop, shop.function("Fn")) if "items" in r.label)
    rng = Random(4)
    paths = [synthetic_request(route, rng).path for _ in range(200)]
    ids = [p.split("/")[3] for p in paths]  # /Prod/items/{id}/...
    assert sum(i.isdigit() for i in ids) > 50 and sum(not i.isdigit() for i in ids) > 50
    assert len({int(i) for i in ids if i.isdigit()}) > 20
    rests = [p.split("/", 4)[4] for p in paths]
    assert {r.count("/") for r in rests} == {0, 1, 2}  # a greedy variable spans 1-3 segments
    assert all(re.fullmatch(r"/Prod/items/[^/]+/.+", p) for p in paths)  # SAM's implicit API


def test_bodies_come_from_the_request_schema(tmp_path: Path) -> None:
    body = """\
    Resources:
      Api:
        Type: AWS::Serverless::Api
        Properties:
          StageName: prod
          DefinitionBody:
            openapi: "3.0.1"
            info: {title: t, version: "1"}
            components:
              schemas:
                Order:
                  type: object
                  required: [item, quantity]
                  properties:
                    item: {type: string, enum: [tea, coffee]}
                    quantity: {type: integer, minimum: 1, maximum: 9}
                    id: {type: string, format: uuid}
            paths:
              /orders:
                post:
                  requestBody:
                    content:
                      application/json:
                        schema: {$ref: "#/components/schemas/Order"}
                  x-amazon-apigateway-integration:
                    type: aws_proxy
                    httpMethod: POST
                    uri: !Sub "URI/${Fn.Arn}:live/invocations"
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          {CodeUri: src/, Handler: app.handler, Runtime: python3.11, AutoPublishAlias: live}
    """.replace("URI", URI)
    project = load(tmp_path, body)
    (route,) = function_routes(project, project.function("Fn"))
    rng = Random(2)
    bodies = [orjson.loads(synthetic_request(route, rng).body) for _ in range(40)]
    assert all(b["item"] in ("tea", "coffee") and 1 <= b["quantity"] <= 9 for b in bodies)
    ids = [b["id"] for b in bodies if "id" in b]
    assert 5 < len(ids) < 35 and all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in ids)
    request = synthetic_request(route, rng)
    assert ("content-type", "application/json") in request.headers and request.method == "POST"


# --- HTTP APIs (API Gateway v2) -------------------------------------------------------------

BOTH_KINDS = """\
Resources:
  Notes:
    Type: AWS::Serverless::HttpApi
    Properties:
      Name: notes
      StageName: beta
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      AutoPublishAlias: live
      Events:
        Rest:
          Type: Api
          Properties: {Path: "/orders/{id}", Method: get}
        Item:
          Type: HttpApi
          Properties: {Path: "/items/{id}", Method: get}
        Proxy:
          Type: HttpApi
          Properties: {ApiId: !Ref Notes, Path: "/{proxy+}", Method: any}
        Fallback:
          Type: HttpApi
"""


@pytest.fixture
def both(tmp_path: Path) -> Project:
    return load(tmp_path, BOTH_KINDS)


def test_routes_of_rest_and_http_apis_are_all_rehearsed(both: Project) -> None:
    routes = function_routes(both, both.function("Fn"))
    assert [(r.api.kind, r.api.name, r.label, r.via_alias) for r in routes] == [
        ("rest", "ServerlessRestApi", "GET /orders/{id}", True),
        ("http", "notes", "ANY /{proxy+}", True),
        ("http", "ServerlessHttpApi", "GET /items/{id}", True),
        ("http", "ServerlessHttpApi", "$default", True),
    ]


@pytest.mark.parametrize(
    ("request_", "placed"),
    [
        # the implicit HTTP API's $default stage: no prefix; the most specific route key wins
        (TrafficRequest("GET", "/items/7", api="ServerlessHttpApi"),
         ("/items/7", "ServerlessHttpApi", "GET /items/{id}")),
        # no GET /items/{id} for POST: HTTP APIs fall through to $default (REST would 403)
        (TrafficRequest("POST", "/items/7", api="ServerlessHttpApi"),
         ("/items/7", "ServerlessHttpApi", "$default")),
        # a named HTTP API stage is a prefix, given or not
        (TrafficRequest("PUT", "/a/b", api="notes"), ("/beta/a/b", "notes", "PUT /{proxy+}")),
        (TrafficRequest("PUT", "/beta/a/b", api="notes"), ("/beta/a/b", "notes", "PUT /{proxy+}")),
        # no API named: REST first (its stage prefix), then the HTTP APIs in template order
        (TrafficRequest("GET", "/orders/1"), ("/Prod/orders/1", "ServerlessRestApi",
                                              "GET /orders/{id}")),
        (TrafficRequest("GET", "/elsewhere"), ("/beta/elsewhere", "notes", "GET /{proxy+}")),
    ],
)  # fmt: skip
def test_requests_are_placed_on_http_api_routes(
    both: Project, request_: TrafficRequest, placed: tuple[str, str, str]
) -> None:
    outcome = Placer(both, both.function("Fn")).place(request_)
    assert isinstance(outcome, TrafficRequest), outcome
    assert (outcome.path, outcome.api, outcome.route) == placed


def test_synthetic_requests_reach_http_api_routes_without_a_default_stage_prefix(
    both: Project,
) -> None:
    routes = [r for r in function_routes(both, both.function("Fn")) if r.via_alias]
    rng = Random(4)
    placer = Placer(both, both.function("Fn"))
    for route in routes:
        for _ in range(20):
            request = synthetic_request(route, rng)
            assert request.route == route.request_label(request.method)
            if route.api.name == "ServerlessHttpApi":
                assert not request.path.startswith("/$default")
            again = placer.place(request)  # the gateway would send it to the same route
            assert isinstance(again, TrafficRequest) and again.route == request.route, request
            assert again.path == request.path
    default = next(r for r in routes if r.label == "$default")
    paths = {synthetic_request(default, rng).path for _ in range(30)}
    assert len(paths) > 20  # varied, never one constant


def test_an_http_api_definition_gives_synthetic_values(tmp_path: Path) -> None:
    uri = "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions"
    project = load(
        tmp_path,
        f"""\
Resources:
  Shelf:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefinitionBody:
        openapi: "3.0.1"
        info: {{title: shelf, version: "1"}}
        paths:
          /books/{{isbn}}:
            get:
              parameters:
                - {{name: isbn, in: path, required: true, schema: {{type: string, enum: [a1, b2]}}}}
              x-amazon-apigateway-integration:
                type: aws_proxy
                payloadFormatVersion: "2.0"
                uri: !Sub "{uri}/${{Fn.Arn}}:live/invocations"
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      AutoPublishAlias: live
""",
    )
    (route,) = function_routes(project, project.function("Fn"))
    rng = Random(2)
    paths = {synthetic_request(route, rng).path for _ in range(40)}
    assert paths == {"/books/a1", "/books/b2"}  # the $default stage: no prefix


def test_api_chooses_which_apis_are_rehearsed(both: Project) -> None:
    from apicanary.errors import BadInputError
    from apicanary.local.rehearse.plan import plan_traffic

    spec = both.function("Fn")
    plan = plan_traffic(
        both, spec, replay=None, requests_file=None, rate=None, seed=1, apis=("notes",)
    )
    sent = [request for _, request in itertools.islice(plan.schedule, 50)]
    assert {r.api for r in sent} == {"notes"} and all(r.path.startswith("/beta/") for r in sent)
    only_rest = Placer(both, spec, ("ServerlessRestApi",))
    assert only_rest.place(TrafficRequest("GET", "/items/7", api="ServerlessHttpApi")) == (
        "an API not chosen with --api"
    )
    placed = only_rest.place(TrafficRequest("GET", "/orders/7"))
    assert isinstance(placed, TrafficRequest) and placed.api == "ServerlessRestApi"
    with pytest.raises(BadInputError, match=r"--api nope: not an API .*notes \(HTTP\)"):
        plan_traffic(both, spec, replay=None, requests_file=None, rate=None, seed=1,
                     apis=("nope",))  # fmt: skip
