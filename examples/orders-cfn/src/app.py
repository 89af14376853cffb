"""orders-cfn: the orders service of the CloudFormation example (Lambda proxy integration).

Standard library only. ``GET /health``, ``GET /orders``, ``GET /orders/{id}`` (404 when the
order does not exist); every response names the Lambda version that served it in
``x-app-version`` and the stage's ``lambdaAlias`` variable in ``x-alias``.
"""

import json
import os

SERVICE = os.environ.get("SERVICE_NAME", "orders-cfn")
ORDERS = {"1001": {"id": "1001", "item": "coffee beans"}, "1002": {"id": "1002", "item": "filters"}}


def handler(event, context):
    resource = event.get("resource")
    if resource == "/health":
        status, body = 200, {"status": "ok", "service": SERVICE}
    elif resource == "/orders":
        status, body = 200, {"orders": list(ORDERS.values())}
    elif resource == "/orders/{id}":
        order = ORDERS.get((event.get("pathParameters") or {}).get("id", ""))
        status, body = (200, order) if order else (404, {"message": "order not found"})
    else:
        status, body = 404, {"message": f"no route for {resource}"}
    headers = {
        "content-type": "application/json",
        "x-app-version": getattr(context, "function_version", "$LATEST"),
        "x-alias": (event.get("stageVariables") or {}).get("lambdaAlias", ""),
    }
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}
