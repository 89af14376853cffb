"""``POST /_apicanary/deploy``: the server re-reads its template and starts the rollouts.

Body: ``{"template": "<absolute path>", "timeScale": X}``, both optional; a template other
than the one served is refused (400, naming both paths).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from apicanary.engine.engine import Engine
from apicanary.errors import ApicanaryError, BadInputError
from apicanary.local.deploy import deploy
from apicanary.platform.base import Platform
from apicanary.rollout.controller import Controller
from apicanary.server.awshttp import json_response, read_json
from apicanary.server.rollouts_api import error_body


def routes(
    engine: Engine,
    controller: Controller,
    platform: Platform,
    template: Path | None,
    poke: Callable[[], None] = lambda: None,
) -> list[BaseRoute]:
    async def run_deploy(request: Request) -> Response:
        try:
            body = await read_json(request)
            if template is None:
                raise BadInputError(
                    "this server was started without a template",
                    hint="restart it with 'apicanary serve --template template.yaml'",
                )
            scale = body.get("timeScale")
            if scale is not None and (
                not isinstance(scale, int | float) or isinstance(scale, bool) or scale <= 0
            ):
                raise BadInputError(f"timeScale: {scale!r} must be a number > 0")
            result = await asyncio.to_thread(
                deploy,
                engine,
                controller,
                platform,
                template,
                time_scale=scale,
                requested_template=body.get("template"),
            )
        except ApicanaryError as error:
            return error_body(error)
        poke()
        return json_response(result, 201 if result["rollouts"] else 200)

    return [Route("/_apicanary/deploy", run_deploy, methods=["POST"])]
