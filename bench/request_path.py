"""Per-request cost of the sans-I/O gateway pieces: route match, v1 event, response parse.

Run: ``.venv/bin/python -m bench.request_path``. Prints microseconds per operation (best of
several rounds, so the number is the cost, not the machine's noise).
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

import orjson

from apicanary.engine.gateway.events import build_rest_v1_event
from apicanary.engine.gateway.media_types import NO_BINARY_MEDIA_TYPES, BinaryMediaTypes
from apicanary.engine.gateway.messages import GatewayRequest, ResolvedRoute
from apicanary.engine.gateway.proxy_response import parse_proxy_response
from apicanary.engine.gateway.routes import Route, RouteMatch, compile_routes


def best_us(fn: Callable[[], object], number: int = 20_000, repeat: int = 7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    routes = [Route("/", "GET", "root"), Route("/{proxy+}", "ANY", "proxy")]
    for i in range(50):
        routes += [
            Route(f"/svc{i}/items", "GET", "list"),
            Route(f"/svc{i}/items", "POST", "create"),
            Route(f"/svc{i}/items/{{id}}", "GET", "get"),
            Route(f"/svc{i}/items/{{id}}", "DELETE", "delete"),
            Route(f"/svc{i}/items/{{id}}/lines/{{line}}", "ANY", "line"),
        ]
    table = compile_routes(routes)
    print(f"routes: {len(table)}")
    cases = {
        "literal /svc42/items": ("GET", "/svc42/items"),
        "param /svc42/items/{id}": ("GET", "/svc42/items/123"),
        "2 params .../lines/{line}": ("PUT", "/svc42/items/123/lines/7"),
        "proxy fallback": ("GET", "/nothing/here/at/all"),
        "no match (method)": ("PATCH", "/svc42/items"),
    }
    for name, (method, path) in cases.items():
        print(f"match {name:32s} {best_us(lambda m=method, p=path: table.match(m, p)):6.2f} µs")

    headers = [
        ("host", "abc123.execute-api.localhost:3000"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
        ("accept", "*/*"),
        ("accept-encoding", "gzip, deflate, br"),
        ("content-type", "application/json"),
        ("content-length", "27"),
        ("x-request-id", "5d6f1c2e"),
        ("cookie", "session=abc; theme=dark"),
    ]
    binary = BinaryMediaTypes.of(["image/*", "application/octet-stream"])

    request = GatewayRequest(
        method="POST",
        path="/prod/svc42/items/123",
        query_string="page=2&sort=desc&tag=a&tag=b",
        headers=headers,
        body=b'{"name": "widget", "qty": 3}',
        source_ip="127.0.0.1",
        host=None,
    )
    route = ResolvedRoute(
        api_id="abc123",
        api_name="bench",
        binary_media_types=binary,
        stage="prod",
        is_canary=False,
        deployment_id="d1",
        stage_variables={"lambdaAlias": "live"},
        path=request.path,
        match=RouteMatch("/svc{i}/items/{id}", "r1", "POST", {"id": "123"}, None),
    )

    def event() -> dict[str, object]:
        return build_rest_v1_event(
            request,
            route,
            request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            request_time_ms=1_720_614_516_123,
        )

    def encoded() -> bytes:
        return orjson.dumps(event())

    def parsed() -> object:
        return parse_proxy_response(
            payload, binary_media_types=NO_BINARY_MEDIA_TYPES, accept_header="*/*"
        )

    payload = orjson.dumps(
        {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json", "X-Version": "7"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": '{"id": "123", "name": "widget"}',
            "isBase64Encoded": False,
        }
    )
    print(f"build_rest_v1_event (8 headers, 4 query) {best_us(event):6.2f} µs")
    print(f"build + orjson.dumps                     {best_us(encoded):6.2f} µs")
    print(f"parse_proxy_response                     {best_us(parsed):6.2f} µs")


if __name__ == "__main__":
    main()
