"""powertools-api: an items service written with AWS Lambda Powertools' REST resolver.

    GET    /items?limit=N&tag=T   list items (limit 1..MAX_PAGE_SIZE, optional tag filter)
    POST   /items                 {"name": str, "tags": [str]} -> 201 + Location header
    GET    /items/{item_id}       the item, or 404
    DELETE /items/{item_id}       204, or 404
    GET    /hello/{name}          a greeting (uses the stage variables and query string)

Every response carries ``x-app-version`` (the Lambda version that served it).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import (
    BadRequestError,
    NotFoundError,
    ServiceError,
)
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

MAX_PAGE_SIZE = int(os.environ.get("MAX_PAGE_SIZE", "50"))

app = APIGatewayRestResolver()

ITEMS: dict[str, dict[str, Any]] = {
    "a1": {"id": "a1", "name": "kettle", "tags": ["kitchen"]},
    "b2": {"id": "b2", "name": "lamp", "tags": ["living-room", "light"]},
    "c3": {"id": "c3", "name": "mug", "tags": ["kitchen"]},
}


def executed_version() -> str:
    """The Lambda version serving this request (``$LATEST`` outside Lambda)."""
    return getattr(app.lambda_context, "function_version", None) or "$LATEST"


def version_header(
    router: APIGatewayRestResolver, next_middleware: NextMiddleware
) -> Response[Any]:
    """Add ``x-app-version`` to every response a route returns."""
    response = next_middleware(router)
    response.headers["x-app-version"] = executed_version()
    return response


app.use(middlewares=[version_header])


@app.exception_handler(ServiceError)
def service_error(error: ServiceError) -> Response[dict[str, Any]]:
    """Errors raised by routes (400, 404...) as JSON, with the version header too."""
    return Response(
        status_code=int(error.status_code),
        content_type=content_types.APPLICATION_JSON,
        body={"statusCode": int(error.status_code), "message": error.msg},
        headers={"x-app-version": executed_version()},
    )


@app.get("/items")
def list_items() -> dict[str, Any]:
    raw_limit = app.current_event.get_query_string_value("limit", str(MAX_PAGE_SIZE))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE_SIZE:
        raise BadRequestError(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
    tag = app.current_event.get_query_string_value("tag")
    items = [i for i in ITEMS.values() if tag is None or tag in i["tags"]]
    return {"items": items[: int(raw_limit)], "total": len(items)}


@app.post("/items")
def create_item() -> Response[dict[str, Any]]:
    try:
        body = app.current_event.json_body
    except ValueError as exc:  # json.JSONDecodeError
        raise BadRequestError(f"invalid JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    name = body.get("name")
    tags = body.get("tags", [])
    if not isinstance(name, str) or not name.strip():
        raise BadRequestError("name must be a non-empty string")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise BadRequestError("tags must be a list of strings")
    item: dict[str, Any] = {"id": uuid.uuid4().hex[:6], "name": name.strip(), "tags": tags}
    ITEMS[item["id"]] = item
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=item,
        headers={"Location": f"/items/{item['id']}"},
    )


@app.get("/items/<item_id>")
def get_item(item_id: str) -> dict[str, Any]:
    if item_id not in ITEMS:
        raise NotFoundError(f"item {item_id!r} not found")
    return ITEMS[item_id]


@app.delete("/items/<item_id>")
def delete_item(item_id: str) -> Response[str]:
    if ITEMS.pop(item_id, None) is None:
        raise NotFoundError(f"item {item_id!r} not found")
    return Response(status_code=204, content_type=content_types.TEXT_PLAIN, body="")


@app.get("/hello/<name>")
def hello(name: str) -> dict[str, Any]:
    greeting = app.current_event.get_query_string_value("greeting", "Hello")
    stage_variables = app.current_event.stage_variables or {}
    return {
        "message": f"{greeting}, {name}!",
        "alias": stage_variables.get("lambdaAlias"),
        "stage": app.current_event.request_context.stage,
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return app.resolve(event, context)
