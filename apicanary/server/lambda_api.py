"""The AWS Lambda rest-json API (2015-03-31) on the control port, over :class:`LambdaService`.

Paths, methods and status codes are the botocore model's, so ``boto3.client("lambda",
endpoint_url=...)`` and ``aws lambda ... --endpoint-url`` work unchanged. This module only
translates HTTP to service calls; every rule lives in ``engine/functions/`` (``rules.py``,
``service.py``).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from apicanary.engine.functions.service import LambdaService
from apicanary.errors import AwsApiError
from apicanary.server.awshttp import json_response, read_json

Handler = Callable[[Request], Awaitable[Response]]
_FN = "/2015-03-31/functions/{FunctionName}"


def routes(service: LambdaService) -> list[BaseRoute]:
    """The Lambda API routes bound to ``service``."""

    def qualifier(request: Request) -> str | None:
        return request.query_params.get("Qualifier") or None

    def name(request: Request) -> str:
        return str(request.path_params["FunctionName"])

    async def create_function(request: Request) -> Response:
        params = await read_json(request)
        raw_code = params.get("Code") or {}
        if not isinstance(raw_code, dict):
            from apicanary.errors import invalid_parameter

            raise invalid_parameter("Code must be an object (FunctionCode)")
        code = dict(raw_code)
        if isinstance(code.get("ZipFile"), str):
            code["ZipFile"] = _b64(code["ZipFile"], "Code.ZipFile")
        params["Code"] = code
        return json_response(service.create_function(params), 201)

    async def list_functions(request: Request) -> Response:
        return json_response(service.list_functions())

    async def get_function(request: Request) -> Response:
        return json_response(service.get_function(name(request), qualifier(request)))

    async def delete_function(request: Request) -> Response:
        service.delete_function(name(request), qualifier(request))
        return Response(status_code=204)

    async def get_configuration(request: Request) -> Response:
        return json_response(service.get_function_configuration(name(request), qualifier(request)))

    async def update_configuration(request: Request) -> Response:
        return json_response(
            service.update_function_configuration(name(request), await read_json(request))
        )

    async def update_code(request: Request) -> Response:
        params = await read_json(request)
        if isinstance(params.get("ZipFile"), str):
            params["ZipFile"] = _b64(params["ZipFile"], "ZipFile")
        return json_response(service.update_function_code(name(request), params))

    async def publish_version(request: Request) -> Response:
        return json_response(service.publish_version(name(request), await read_json(request)), 201)

    async def list_versions(request: Request) -> Response:
        return json_response(
            service.list_versions_by_function(
                name(request), request.query_params.get("Marker"), _int(request, "MaxItems")
            )
        )

    async def create_alias(request: Request) -> Response:
        return json_response(service.create_alias(name(request), await read_json(request)), 201)

    async def list_aliases(request: Request) -> Response:
        return json_response(
            service.list_aliases(
                name(request),
                request.query_params.get("FunctionVersion"),
                request.query_params.get("Marker"),
                _int(request, "MaxItems"),
            )
        )

    async def get_alias(request: Request) -> Response:
        return json_response(service.get_alias(name(request), request.path_params["Name"]))

    async def update_alias(request: Request) -> Response:
        return json_response(
            service.update_alias(
                name(request), request.path_params["Name"], await read_json(request)
            )
        )

    async def delete_alias(request: Request) -> Response:
        service.delete_alias(name(request), request.path_params["Name"])
        return Response(status_code=204)

    async def invoke(request: Request) -> Response:
        service.check_invocable(name(request), qualifier(request))
        result = await service.invoker.invoke(
            name(request),
            qualifier(request),
            await request.body(),
            invocation_type=request.headers.get("X-Amz-Invocation-Type", "RequestResponse"),
        )
        headers = {"X-Amz-Executed-Version": result.executed_version}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if request.headers.get("X-Amz-Log-Type") == "Tail":
            tail = result.log_tail.encode()[-4096:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return Response(
            result.payload,
            status_code=result.status,
            media_type="application/json",
            headers=headers,
        )

    async def put_concurrency(request: Request) -> Response:
        return json_response(
            service.put_function_concurrency(name(request), await read_json(request))
        )

    async def get_concurrency(request: Request) -> Response:
        return json_response(service.get_function_concurrency(name(request)))

    async def delete_concurrency(request: Request) -> Response:
        service.delete_function_concurrency(name(request))
        return Response(status_code=204)

    async def add_permission(request: Request) -> Response:
        result = service.add_permission(name(request), qualifier(request), await read_json(request))
        return json_response(result, 201)

    async def get_policy(request: Request) -> Response:
        return json_response(service.get_policy(name(request), qualifier(request)))

    async def get_provisioned_concurrency(request: Request) -> Response:
        # the engine does not emulate provisioned concurrency: the function (or alias) must
        # exist, and none is ever configured (doctor --backend aws asks)
        service.get_function_configuration(name(request), qualifier(request))
        raise AwsApiError(
            "ProvisionedConcurrencyConfigNotFoundException",
            "No Provisioned Concurrency Config found for this function",
            404,
            {"Type": "User"},
        )

    return [
        Route("/2015-03-31/functions", create_function, methods=["POST"]),
        Route("/2015-03-31/functions/", list_functions, methods=["GET"]),
        Route("/2015-03-31/functions", list_functions, methods=["GET"]),
        Route(_FN, get_function, methods=["GET"]),
        Route(_FN, delete_function, methods=["DELETE"]),
        Route(f"{_FN}/configuration", get_configuration, methods=["GET"]),
        Route(f"{_FN}/configuration", update_configuration, methods=["PUT"]),
        Route(f"{_FN}/code", update_code, methods=["PUT"]),
        Route(f"{_FN}/versions", publish_version, methods=["POST"]),
        Route(f"{_FN}/versions", list_versions, methods=["GET"]),
        Route(f"{_FN}/aliases", create_alias, methods=["POST"]),
        Route(f"{_FN}/aliases", list_aliases, methods=["GET"]),
        Route(f"{_FN}/aliases/{{Name}}", get_alias, methods=["GET"]),
        Route(f"{_FN}/aliases/{{Name}}", update_alias, methods=["PUT"]),
        Route(f"{_FN}/aliases/{{Name}}", delete_alias, methods=["DELETE"]),
        Route(f"{_FN}/invocations", invoke, methods=["POST"]),
        Route(f"{_FN}/policy", add_permission, methods=["POST"]),
        Route(f"{_FN}/policy", get_policy, methods=["GET"]),
        Route("/2017-10-31/functions/{FunctionName}/concurrency", put_concurrency, methods=["PUT"]),
        Route(
            "/2017-10-31/functions/{FunctionName}/concurrency",
            delete_concurrency,
            methods=["DELETE"],
        ),
        Route("/2019-09-30/functions/{FunctionName}/concurrency", get_concurrency, methods=["GET"]),
        Route(
            "/2019-09-30/functions/{FunctionName}/provisioned-concurrency",
            get_provisioned_concurrency,
            methods=["GET"],
        ),
    ]


def _b64(value: str, field: str) -> bytes:
    from apicanary.errors import invalid_parameter

    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise invalid_parameter(f"{field} is not valid base64") from exc


def _int(request: Request, key: str) -> int | None:
    raw = request.query_params.get(key)
    return int(raw) if raw and raw.isdigit() else None


__all__ = ["routes"]
