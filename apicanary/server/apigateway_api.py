"""The API Gateway (apigateway 2015-07-09) rest-json endpoints of the control plane.

Paths, query parameters and status codes follow botocore's ``apigateway`` model, so boto3
and the AWS CLI work against them with ``--endpoint-url``. Handlers only translate HTTP to
:class:`ApiGatewayService` calls (run in the thread pool: the service does SQLite I/O);
errors are :class:`AwsApiError` and rendered by :func:`aws_error_handler`, which the app
must register (``exception_handlers={AwsApiError: aws_error_handler}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from apicanary.engine.apigateway.service import ApiGatewayService
from apicanary.errors import AwsApiError
from apicanary.server.awshttp import json_response, read_json

_T = TypeVar("_T")

_RESTAPIS = "/restapis"
_API = "/restapis/{restapi_id}"
_RESOURCES = _API + "/resources"
_RESOURCE = _RESOURCES + "/{resource_id}"
_METHOD = _RESOURCE + "/methods/{http_method}"
_INTEGRATION = _METHOD + "/integration"
_DEPLOYMENTS = _API + "/deployments"
_DEPLOYMENT = _DEPLOYMENTS + "/{deployment_id}"
_STAGES = _API + "/stages"
_STAGE = _STAGES + "/{stage_name}"
_GATEWAY_RESPONSES = _API + "/gatewayresponses"
_GATEWAY_RESPONSE = _GATEWAY_RESPONSES + "/{response_type}"


def routes(service: ApiGatewayService) -> list[BaseRoute]:
    """The Starlette routes serving ``service``."""
    handlers = _Handlers(service)
    return [
        Route(_RESTAPIS, handlers.restapis, methods=["GET", "POST"]),
        Route(_API, handlers.restapi, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route(_GATEWAY_RESPONSES, handlers.gateway_responses, methods=["GET"]),
        Route(
            _GATEWAY_RESPONSE, handlers.gateway_response, methods=["GET", "PUT", "PATCH", "DELETE"]
        ),
        Route(_RESOURCES, handlers.resources, methods=["GET"]),
        Route(_RESOURCE, handlers.resource, methods=["GET", "POST", "DELETE"]),
        Route(_METHOD, handlers.method, methods=["GET", "PUT", "DELETE"]),
        Route(_INTEGRATION, handlers.integration, methods=["GET", "PUT"]),
        Route(_DEPLOYMENTS, handlers.deployments, methods=["GET", "POST"]),
        Route(_DEPLOYMENT, handlers.deployment, methods=["GET", "DELETE"]),
        Route(_STAGES, handlers.stages, methods=["GET", "POST"]),
        Route(_STAGE, handlers.stage, methods=["GET", "PATCH", "DELETE"]),
    ]


async def _call(function: Callable[..., _T], *args: Any) -> _T:
    return await run_in_threadpool(function, *args)


def _limit(request: Request) -> int | None:
    raw = request.query_params.get("limit")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise AwsApiError("BadRequestException", f"Invalid limit {raw!r}", 400) from None


def _patch_operations(fields: dict[str, Any]) -> list[dict[str, Any]]:
    operations = fields.get("patchOperations") or []
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
        raise AwsApiError("BadRequestException", "patchOperations must be a list of objects", 400)
    return operations


def _embeds(request: Request, what: str) -> bool:
    values = request.query_params.getlist("embed")
    return any(what in (v.strip().lower() for v in value.split(",")) for value in values)


class _Handlers:
    def __init__(self, service: ApiGatewayService) -> None:
        self.svc = service

    async def restapis(self, request: Request) -> Response:
        if request.method == "GET":
            page = await _call(
                self.svc.get_rest_apis, request.query_params.get("position"), _limit(request)
            )
            return json_response(page)
        if request.query_params.get("mode") == "import":
            body = await request.body()
            return json_response(await _call(self.svc.import_rest_api, body), 201)
        fields = await read_json(request)
        return json_response(await _call(self.svc.create_rest_api, fields), 201)

    async def restapi(self, request: Request) -> Response:
        api_id = request.path_params["restapi_id"]
        if request.method == "GET":
            return json_response(await _call(self.svc.get_rest_api, api_id))
        if request.method == "PUT":
            body = await request.body()
            mode = request.query_params.get("mode")
            return json_response(await _call(self.svc.put_rest_api, api_id, body, mode))
        if request.method == "PATCH":
            operations = _patch_operations(await read_json(request))
            return json_response(await _call(self.svc.update_rest_api, api_id, operations))
        await _call(self.svc.delete_rest_api, api_id)
        return json_response(None, 202)

    async def gateway_responses(self, request: Request) -> Response:
        api_id = request.path_params["restapi_id"]
        return json_response(await _call(self.svc.get_gateway_responses, api_id))

    async def gateway_response(self, request: Request) -> Response:
        key = (request.path_params["restapi_id"], request.path_params["response_type"])
        if request.method == "GET":
            return json_response(await _call(self.svc.get_gateway_response, *key))
        if request.method == "PUT":
            fields = await read_json(request)
            return json_response(await _call(self.svc.put_gateway_response, *key, fields), 201)
        if request.method == "PATCH":
            operations = _patch_operations(await read_json(request))
            return json_response(await _call(self.svc.update_gateway_response, *key, operations))
        await _call(self.svc.delete_gateway_response, *key)
        return json_response(None, 202)

    async def resources(self, request: Request) -> Response:
        page = await _call(
            self.svc.get_resources,
            request.path_params["restapi_id"],
            _embeds(request, "methods"),
            request.query_params.get("position"),
            _limit(request),
        )
        return json_response(page)

    async def resource(self, request: Request) -> Response:
        api_id = request.path_params["restapi_id"]
        resource_id = request.path_params["resource_id"]
        if request.method == "GET":
            embed = _embeds(request, "methods")
            return json_response(await _call(self.svc.get_resource, api_id, resource_id, embed))
        if request.method == "POST":
            fields = await read_json(request)
            created = await _call(
                self.svc.create_resource, api_id, resource_id, fields.get("pathPart")
            )
            return json_response(created, 201)
        await _call(self.svc.delete_resource, api_id, resource_id)
        return json_response(None, 202)

    async def method(self, request: Request) -> Response:
        key = (
            request.path_params["restapi_id"],
            request.path_params["resource_id"],
            request.path_params["http_method"],
        )
        if request.method == "GET":
            return json_response(await _call(self.svc.get_method, *key))
        if request.method == "PUT":
            fields = await read_json(request)
            return json_response(await _call(self.svc.put_method, *key, fields), 201)
        await _call(self.svc.delete_method, *key)
        return json_response(None, 204)

    async def integration(self, request: Request) -> Response:
        key = (
            request.path_params["restapi_id"],
            request.path_params["resource_id"],
            request.path_params["http_method"],
        )
        if request.method == "GET":
            return json_response(await _call(self.svc.get_integration, *key))
        fields = await read_json(request)
        return json_response(await _call(self.svc.put_integration, *key, fields), 201)

    async def deployments(self, request: Request) -> Response:
        api_id = request.path_params["restapi_id"]
        if request.method == "GET":
            page = await _call(
                self.svc.get_deployments,
                api_id,
                request.query_params.get("position"),
                _limit(request),
            )
            return json_response(page)
        fields = await read_json(request)
        return json_response(await _call(self.svc.create_deployment, api_id, fields), 201)

    async def deployment(self, request: Request) -> Response:
        api_id = request.path_params["restapi_id"]
        deployment_id = request.path_params["deployment_id"]
        if request.method == "GET":
            embed = _embeds(request, "apisummary")
            found = await _call(self.svc.get_deployment, api_id, deployment_id, embed)
            return json_response(found)
        await _call(self.svc.delete_deployment, api_id, deployment_id)
        return json_response(None, 202)

    async def stages(self, request: Request) -> Response:
        api_id = request.path_params["restapi_id"]
        if request.method == "GET":
            deployment_id = request.query_params.get("deploymentId")
            return json_response(await _call(self.svc.get_stages, api_id, deployment_id))
        fields = await read_json(request)
        return json_response(await _call(self.svc.create_stage, api_id, fields), 201)

    async def stage(self, request: Request) -> Response:
        api_id = request.path_params["restapi_id"]
        name = request.path_params["stage_name"]
        if request.method == "GET":
            return json_response(await _call(self.svc.get_stage, api_id, name))
        if request.method == "PATCH":
            operations = _patch_operations(await read_json(request))
            return json_response(await _call(self.svc.update_stage, api_id, name, operations))
        await _call(self.svc.delete_stage, api_id, name)
        return json_response(None, 202)
