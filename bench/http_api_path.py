"""Cost of one HTTP API (v2) request through ``Gateway.handle`` against a REST one, same run.

The engine of :mod:`bench.handle_path` (worker replaced by a canned answer, alias ``live`` at
90/10) gets an HTTP API beside its REST API: ``GET /items/{id}`` on the ``$default`` stage,
integration on ``fn:live``, payload 2.0, selected by ``Host: {apiId}.execute-api.localhost``.
Both kinds are timed alternately in the same process (CPU time of this process, best of five
rounds), so the ratio is what a shared machine cannot move much; the absolute µs are noisy.
Both kinds invoke through the same mechanism (``engine/gateway/invocation.py``): what the ratio
shows is the cost of their different routing, event and response rules.

Run: ``.venv/bin/python -m bench.http_api_path [N]``. For figures that load does not move,
count instructions per request of one kind, as :mod:`bench.handle_path` explains::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python -m bench.http_api_path --only http N

with ``N = 0`` and ``N = 2000`` (and ``--only rest``); the difference over 2000 is the count.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from apicanary.engine.engine import Engine
from apicanary.engine.gateway.messages import GatewayRequest
from bench.handle_path import REQUEST, build


def add_http_api(engine: Engine) -> GatewayRequest:
    """An HTTP API on ``fn:live``; returns the request that reaches it."""
    target = engine.lambdas.function_arn("fn", "live")
    api = engine.http_apis.create_api({"name": "bench-http", "protocolType": "HTTP"})
    integration = engine.http_apis.create_integration(
        api["apiId"],
        {"integrationType": "AWS_PROXY", "integrationUri": target, "payloadFormatVersion": "2.0"},
    )
    engine.http_apis.create_route(
        api["apiId"],
        {"routeKey": "GET /items/{id}", "target": f"integrations/{integration['integrationId']}"},
    )
    engine.http_apis.create_stage(api["apiId"], {"stageName": "$default", "autoDeploy": True})
    host = f"{api['apiId']}.execute-api.localhost"
    return REQUEST._replace(
        path="/items/42", host=host, headers=[("host", host), *REQUEST.headers[1:]]
    )


async def _run(engine: Engine, request: GatewayRequest, n: int) -> float:
    began = time.process_time()
    for _ in range(n):
        reply = await engine.gateway.handle(request)
        assert reply.status == 200, reply
    return time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=2000)
    parser.add_argument(
        "--only", choices=("rest", "http"), help="run n requests of one kind once, print nothing"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = build(Path(tmp))
        http_request = add_http_api(engine)
        asyncio.run(_run(engine, REQUEST, 50))
        asyncio.run(_run(engine, http_request, 50))
        if args.only:
            asyncio.run(_run(engine, REQUEST if args.only == "rest" else http_request, args.n))
            engine.store.close()
            return
        rest, http = [], []
        for _ in range(5):
            rest.append(asyncio.run(_run(engine, REQUEST, args.n)))
            http.append(asyncio.run(_run(engine, http_request, args.n)))
        best_rest, best_http = min(rest) / args.n * 1e6, min(http) / args.n * 1e6
        print(f"REST {best_rest:.1f} µs, HTTP API {best_http:.1f} µs per request "
              f"(HTTP/REST {best_http / best_rest:.2f})")  # fmt: skip
        engine.store.close()


if __name__ == "__main__":
    main()
