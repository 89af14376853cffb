"""The ``/_apicanary`` JSON API: rollouts (start, list, read, history, intents) and views.

The CLI and the dashboard only write *intents* here; the controller consumes them on its next
tick. Every rollout document served carries its ``view`` (``rollout/views.py``: the same
view-model the CLI draws). Errors are ``{"error": {"type", "message", "hint"}}`` with 400
for bad input, 404 for an unknown rollout, 409 for a conflict, 500 otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from apicanary.errors import ApicanaryError, AwsApiError, BadInputError
from apicanary.platform.base import Platform
from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal, RolloutConflict
from apicanary.rollout.service import start_rollout
from apicanary.rollout.views import with_view
from apicanary.server.awshttp import json_response, read_json

Endpoint = Callable[[Request], Awaitable[Response]]


def error_body(error: ApicanaryError) -> Response:
    status = 500
    if isinstance(error, AwsApiError):
        status = error.status
    elif isinstance(error, BadInputError):
        status = 404 if error.message.startswith("no rollout") else 400
    elif isinstance(error, RolloutConflict):
        status = 409
    body = {"error": {"type": type(error).__name__, "message": error.message, "hint": error.hint}}
    return json_response(body, status)


def _guarded(endpoint: Endpoint) -> Endpoint:
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ApicanaryError as error:
            return error_body(error)

    return wrapper


def routes(
    controller: Controller,
    journal: Journal,
    platform: Platform,
    poke: Callable[[], None] = lambda: None,
) -> list[BaseRoute]:
    def public(document: dict[str, Any]) -> dict[str, Any]:
        return with_view(document, controller.clock.now())

    def listed(active: bool) -> list[dict[str, Any]]:
        return [public(s.document) for s in journal.rollouts(active_only=active)]

    async def list_rollouts(request: Request) -> Response:
        active = request.query_params.get("active") == "1"
        return json_response({"rollouts": await asyncio.to_thread(listed, active)})

    async def start(request: Request) -> Response:
        body = await read_json(request)
        document = await asyncio.to_thread(start_rollout, controller, platform, body)
        poke()
        return json_response(await asyncio.to_thread(public, document), 201)

    async def get_rollout(request: Request) -> Response:
        stored = await asyncio.to_thread(journal.load, request.path_params["rollout_id"])
        return json_response(await asyncio.to_thread(public, stored.document))

    async def history(request: Request) -> Response:
        rollout_id = request.path_params["rollout_id"]
        after = int(request.query_params.get("after", "0") or 0)
        stored = await asyncio.to_thread(journal.load, rollout_id)
        events = await asyncio.to_thread(journal.events, stored.id, after)
        return json_response({"id": stored.id, "events": [e.to_dict() for e in events]})

    async def intent(request: Request) -> Response:
        body = await read_json(request)
        kind = body.get("kind")
        if not isinstance(kind, str):
            raise BadInputError("kind: is required (promote, promote-full, abort, pause, resume)")
        document = await asyncio.to_thread(
            controller.request, request.path_params["rollout_id"], kind
        )
        poke()
        shown = await asyncio.to_thread(public, document)
        return json_response({"accepted": kind, "rollout": shown}, 202)

    return [
        Route("/_apicanary/rollouts", _guarded(list_rollouts), methods=["GET"]),
        Route("/_apicanary/rollouts", _guarded(start), methods=["POST"]),
        Route("/_apicanary/rollouts/{rollout_id}", _guarded(get_rollout), methods=["GET"]),
        Route("/_apicanary/rollouts/{rollout_id}/events", _guarded(history), methods=["GET"]),
        Route("/_apicanary/rollouts/{rollout_id}/intents", _guarded(intent), methods=["POST"]),
    ]


__all__ = ["routes"]
