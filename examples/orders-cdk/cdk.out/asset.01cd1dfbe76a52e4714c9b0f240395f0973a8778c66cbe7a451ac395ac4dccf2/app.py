"""orders-cdk: a tiny orders service behind API Gateway (REST, Lambda proxy integration).

Standard library only. Routes, on the event's ``httpMethod`` and ``resource``::

    GET /health        {"status": "ok"}
    GET /orders        {"orders": [...]}
    GET /orders/{id}   the order, or 404

Every response carries ``x-app-version``: the Lambda version that served it.
"""

import json
import os

SERVICE_NAME = os.environ.get("SERVICE_NAME", "orders-cdk")
ORDERS = {
    "1001": {"id": "1001", "item": "coffee beans", "quantity": 2},
    "1002": {"id": "1002", "item": "paper filters", "quantity": 1},
}


def handler(event, context):
    version = getattr(context, "function_version", None) or "$LATEST"
    route = (event.get("httpMethod"), event.get("resource"))
    if route == ("GET", "/health"):
        return respond(200, {"status": "ok", "service": SERVICE_NAME}, version)
    if route == ("GET", "/orders"):
        return respond(200, {"orders": list(ORDERS.values())}, version)
    if route == ("GET", "/orders/{id}"):
        order_id = (event.get("pathParameters") or {}).get("id", "")
        order = ORDERS.get(order_id)
        if order is None:
            return respond(404, {"message": f"order {order_id!r} not found"}, version)
        return respond(200, order, version)
    return respond(404, {"message": f"no route for {route[0]} {route[1]}"}, version)


def respond(status, body, version):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "x-app-version": version},
        "body": json.dumps(body),
    }
