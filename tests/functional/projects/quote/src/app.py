"""quote-api, the released version: price quotes per SKU, the catalogue and a health check.

Every answer carries the time it was made and an id, as real APIs do: values that differ
between two runs of the same code, which a body comparison must not call a regression.
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
    resource = event.get("resource")
    query = event.get("queryStringParameters") or {}
    if resource == "/quote/{sku}":
        sku = event["pathParameters"]["sku"]
        return respond(200, quote(sku, int(query.get("quantity") or 1)))
    if resource == "/catalogue":
        category = query.get("category")
        everything = sorted(item for items in CATALOGUE.values() for item in items)
        items = CATALOGUE.get(category, []) if category else everything
        return respond(200, {"category": category, "items": items})
    if resource == "/health":
        return respond(200, {"status": "ok"})
    return respond(404, {"message": f"no route {resource}"})


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
