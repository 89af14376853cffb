"""The control port: AWS-compatible endpoints, the ``/_apicanary`` JSON API, the dashboard.

Built as one Starlette app from the route lists of each AWS service module; errors carrying an
AWS code are rendered by :func:`apicanary.server.awshttp.aws_error_handler`.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from apicanary import __version__
from apicanary.engine.engine import Engine
from apicanary.errors import AwsApiError
from apicanary.server import apigateway_api, apigatewayv2_api, lambda_api, prometheus
from apicanary.server.awshttp import aws_error_handler, error_response, json_response
from apicanary.server.cloudwatch import api as cloudwatch_api
from apicanary.server.cloudwatch.backend import EngineCloudWatch
from apicanary.server.logs import api as logs_api


def build_control_app(engine: Engine, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The control-plane ASGI app bound to ``engine`` (plus e.g. the rollouts API)."""

    async def health(request: Request) -> Response:
        return json_response(
            {
                "status": "ok",
                "version": __version__,
                "stateDir": str(engine.state_dir),
                "functions": len(engine.lambdas.view.functions),
                "restApis": len(engine.gateway.view.apis),
                "httpApis": len(engine.http_gateway.view.apis),
            }
        )

    routes: list[BaseRoute] = [Route("/_apicanary/health", health, methods=["GET"])]
    routes += lambda_api.routes(engine.lambdas)
    routes += apigateway_api.routes(engine.apigateway)
    routes += apigatewayv2_api.routes(engine.http_apis)
    routes += list(extra_routes)
    routes += prometheus.routes(engine)
    # Before CloudWatch's POST /: this route matches only an X-Amz-Target of Logs_20140328.
    routes += logs_api.routes(
        engine.logs,
        region=engine.region,
        account_id=engine.account_id,
        limit_s=engine.live_tail_limit_s,
    )
    # Last: CloudWatch's routes are POST-only (``POST /`` and the rpc-v2-cbor path), so
    # they cannot shadow GET / (dashboard) or any earlier route.
    routes += cloudwatch_api.routes(EngineCloudWatch(engine))
    return Starlette(
        routes=routes,
        exception_handlers={AwsApiError: aws_error_handler, HTTPException: route_miss},
    )


async def route_miss(request: Request, exc: Exception) -> Response:
    """An unknown path or method, answered in AWS's error format (boto3 then shows a code)."""
    assert isinstance(exc, HTTPException)
    code = "UnknownOperationException" if exc.status_code in (404, 405) else "BadRequestException"
    message = f"no operation {request.method} {request.url.path} on the apicanary control plane"
    return error_response(AwsApiError(code, message, exc.status_code))
