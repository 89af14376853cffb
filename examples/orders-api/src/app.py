"""orders-api: a tiny orders service behind API Gateway (REST, Lambda proxy integration).

Plain Python, standard library only. Routes (on the event's ``httpMethod`` and ``resource``):

    GET  /health        {"status": "ok"}
    GET  /orders        {"orders": [...]}
    GET  /orders/{id}   the order, or 404
    POST /orders        {"item": str, "quantity": int 1..100} -> 201 + the new order, or 400

Every response carries ``x-app-version``: the Lambda version that served it
(``context.function_version``), so a canary's traffic split is visible from the client.
Orders live in memory, per execution environment.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from typing import Any

SERVICE_NAME = os.environ.get("SERVICE_NAME", "orders-api")

ORDERS: dict[str, dict[str, Any]] = {
    "1001": {"id": "1001", "item": "coffee beans", "quantity": 2, "status": "shipped"},
    "1002": {"id": "1002", "item": "paper filters", "quantity": 1, "status": "pending"},
    "1003": {"id": "1003", "item": "grinder", "quantity": 1, "status": "pending"},
}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: route the proxy event and return a proxy response."""
    version = getattr(context, "function_version", None) or "$LATEST"
    method = (event.get("httpMethod") or "GET").upper()
    resource = event.get("resource") or event.get("path") or "/"
    route = ROUTES.get((method, resource))
    if route is None:
        known = sorted({r for _, r in ROUTES})
        if resource in known:
            return respond(405, {"message": f"method {method} not allowed on {resource}"}, version)
        return respond(404, {"message": f"no route for {method} {resource}"}, version)
    status, body = route(event)
    return respond(status, body, version)


def health(event: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"status": "ok", "service": SERVICE_NAME}


def list_orders(event: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"orders": list(ORDERS.values())}


def get_order(event: dict[str, Any]) -> tuple[int, Any]:
    order_id = (event.get("pathParameters") or {}).get("id", "")
    order = ORDERS.get(order_id)
    if order is None:
        return 404, {"message": f"order {order_id!r} not found"}
    return 200, order


def create_order(event: dict[str, Any]) -> tuple[int, Any]:
    try:
        payload = parse_json_body(event)
    except ValueError as exc:
        return 400, {"message": f"invalid JSON body: {exc}"}
    problems = validate_order(payload)
    if problems:
        return 400, {"message": "invalid order", "errors": problems}
    order_id = uuid.uuid4().hex[:8]
    order = {
        "id": order_id,
        "item": payload["item"].strip(),
        "quantity": payload["quantity"],
        "status": "pending",
    }
    ORDERS[order_id] = order
    return 201, order


def parse_json_body(event: dict[str, Any]) -> Any:
    """The request body as JSON; ValueError if absent or not JSON."""
    body = event.get("body")
    if body is None or body == "":
        raise ValueError("the body is empty")
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return json.loads(body)


def validate_order(payload: Any) -> list[str]:
    """Problems with a new order, empty when valid."""
    if not isinstance(payload, dict):
        return ["the body must be a JSON object"]
    problems = []
    item = payload.get("item")
    if not isinstance(item, str) or not item.strip():
        problems.append("item: must be a non-empty string")
    quantity = payload.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 100:
        problems.append("quantity: must be an integer from 1 to 100")
    unknown = sorted(set(payload) - {"item", "quantity"})
    if unknown:
        problems.append(f"unknown field(s): {', '.join(unknown)}")
    return problems


def respond(status: int, body: Any, version: str) -> dict[str, Any]:
    """An API Gateway proxy response with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "x-app-version": version},
        "body": json.dumps(body),
    }


ROUTES = {
    ("GET", "/health"): health,
    ("GET", "/orders"): list_orders,
    ("GET", "/orders/{id}"): get_order,
    ("POST", "/orders"): create_order,
}
