"""The HTTP API (apigatewayv2 2018-11-29) rest-json endpoints of the control plane.

Paths, query parameters and status codes follow botocore's ``apigatewayv2`` model (``/v2/apis``
...), so boto3's ``apigatewayv2`` client and ``aws apigatewayv2`` work with
``--endpoint-url``. Handlers only translate HTTP to :class:`HttpApiService` calls (in the
thread pool: the service does SQLite I/O); errors are :class:`AwsApiError`, rendered by the
app's ``aws_error_handler`` (``message`` in the body, ``x-amzn-ErrorType``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from apicanary.engine.apigatewayv2.service import HttpApiService
from apicanary.errors import AwsApiError
from apicanary.server.awshttp import json_response, read_json

_T = TypeVar("_T")

_APIS = "/v2/apis"
_API = _APIS + "/{api_id}"


def routes(service: HttpApiService) -> list[BaseRoute]:
    """The Starlette routes serving ``service``."""
    h = _Handlers(service)
    return [
        Route(_APIS, h.apis, methods=["GET", "POST", "PUT"]),
        Route(_API, h.api, methods=["GET", "PATCH", "DELETE", "PUT"]),
        Route(_API + "/routes", h.routes, methods=["GET", "POST"]),
        Route(_API + "/routes/{item_id}", h.route, methods=["GET", "PATCH", "DELETE"]),
        Route(_API + "/integrations", h.integrations, methods=["GET", "POST"]),
        Route(_API + "/integrations/{item_id}", h.integration, methods=["GET", "PATCH", "DELETE"]),
        Route(_API + "/stages", h.stages, methods=["GET", "POST"]),
        Route(_API + "/stages/{item_id}", h.stage, methods=["GET", "PATCH", "DELETE"]),
        Route(_API + "/deployments", h.deployments, methods=["GET", "POST"]),
        Route(_API + "/deployments/{item_id}", h.deployment, methods=["GET"]),
    ]


async def _call(function: Callable[..., _T], *args: Any) -> _T:
    return await run_in_threadpool(function, *args)


def _paging(request: Request) -> tuple[str | None, int | None]:
    raw = request.query_params.get("maxResults")
    limit = None
    if raw is not None:
        if not raw.isdigit():
            raise AwsApiError("BadRequestException", f"Invalid maxResults {raw!r}", 400)
        limit = int(raw)
    return request.query_params.get("nextToken"), limit


async def _definition(request: Request) -> str:
    fields = await read_json(request)
    body = fields.get("body")
    if not isinstance(body, str) or not body:
        raise AwsApiError("BadRequestException", "Invalid input: 'body' is required", 400)
    return body


class _Handlers:
    def __init__(self, service: HttpApiService) -> None:
        self.svc = service

    async def apis(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response(await _call(self.svc.get_apis, *_paging(request)))
        if request.method == "PUT":
            body = await _definition(request)
            return json_response(await _call(self.svc.import_api, body), 201)
        fields = await read_json(request)
        return json_response(await _call(self.svc.create_api, fields), 201)

    async def api(self, request: Request) -> Response:
        api_id = request.path_params["api_id"]
        if request.method == "GET":
            return json_response(await _call(self.svc.get_api, api_id))
        if request.method == "PATCH":
            fields = await read_json(request)
            return json_response(await _call(self.svc.update_api, api_id, fields))
        if request.method == "PUT":
            body = await _definition(request)
            return json_response(await _call(self.svc.reimport_api, api_id, body), 201)
        await _call(self.svc.delete_api, api_id)
        return json_response(None, 204)

    async def routes(self, request: Request) -> Response:
        return await self._collection(request, self.svc.get_routes, self.svc.create_route)

    async def route(self, request: Request) -> Response:
        return await self._item(
            request, self.svc.get_route, self.svc.update_route, self.svc.delete_route
        )

    async def integrations(self, request: Request) -> Response:
        return await self._collection(
            request, self.svc.get_integrations, self.svc.create_integration
        )

    async def integration(self, request: Request) -> Response:
        return await self._item(
            request,
            self.svc.get_integration,
            self.svc.update_integration,
            self.svc.delete_integration,
        )

    async def stages(self, request: Request) -> Response:
        return await self._collection(request, self.svc.get_stages, self.svc.create_stage)

    async def stage(self, request: Request) -> Response:
        return await self._item(
            request, self.svc.get_stage, self.svc.update_stage, self.svc.delete_stage
        )

    async def deployments(self, request: Request) -> Response:
        return await self._collection(request, self.svc.get_deployments, self.svc.create_deployment)

    async def deployment(self, request: Request) -> Response:
        api_id = request.path_params["api_id"]
        item = request.path_params["item_id"]
        return json_response(await _call(self.svc.get_deployment, api_id, item))

    async def _collection(
        self, request: Request, get: Callable[..., Any], create: Callable[..., Any]
    ) -> Response:
        api_id = request.path_params["api_id"]
        if request.method == "GET":
            return json_response(await _call(get, api_id, *_paging(request)))
        fields = await read_json(request)
        return json_response(await _call(create, api_id, fields), 201)

    async def _item(
        self,
        request: Request,
        get: Callable[..., Any],
        update: Callable[..., Any],
        delete: Callable[..., Any],
    ) -> Response:
        api_id = request.path_params["api_id"]
        item = request.path_params["item_id"]
        if request.method == "GET":
            return json_response(await _call(get, api_id, item))
        if request.method == "PATCH":
            fields = await read_json(request)
            return json_response(await _call(update, api_id, item, fields))
        await _call(delete, api_id, item)
        return json_response(None, 204)
