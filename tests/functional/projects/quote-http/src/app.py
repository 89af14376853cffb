"""quote-http, the released version: the quote-api of ../quote behind an HTTP API (payload 2.0).

Routes by ``routeKey``: ``GET /quote/{sku}``, ``GET /catalogue``, and ``$default`` (a health
check at ``/health``, 404 elsewhere). Every answer carries the time it was made and an id.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

CATALOGUE = {
    "coffee": ["beans", "filters", "grinder"],
    "tea": ["green", "black"],
    "tools": ["kettle", "scale"],
}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = event.get("routeKey")
    query = event.get("queryStringParameters") or {}
    if route == "GET /quote/{sku}":
        sku = event["pathParameters"]["sku"]
        return respond(200, quote(sku, int(query.get("quantity") or 1)))
    if route == "GET /catalogue":
        category = query.get("category")
        everything = sorted(item for items in CATALOGUE.values() for item in items)
        items = CATALOGUE.get(category, []) if category else everything
        return respond(200, {"category": category, "items": items})
    if event.get("rawPath") == "/health":
        return respond(200, {"status": "ok"})
    return respond(404, {"message": f"no route {event.get('rawPath')}"})


def quote(sku: str, quantity: int) -> dict[str, Any]:
    unit = sum(map(ord, sku)) % 97 + 1
    return {"sku": sku, "quantity": quantity, "unitPrice": unit, "total": unit * quantity}


def respond(status: int, body: dict[str, Any]) -> dict[str, Any]:
    stamped = {
        **body,
        "answeredAt": datetime.datetime.now(datetime.UTC).isoformat(),
        "answerId": str(uuid.uuid4()),
    }
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(stamped),
    }
