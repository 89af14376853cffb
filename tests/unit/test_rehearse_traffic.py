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
