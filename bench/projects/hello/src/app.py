"""Hello world, as a Lambda proxy handler (API Gateway REST, payload v1.0).

The same file is the handler for every peer in bench/gateway.py. ``x-app-version`` carries
the executed Lambda version so bench/propagation.py can see which weights served a request.
"""

import json

BODY = json.dumps({"message": "hello world"})


def handler(event, context):
    version = getattr(context, "function_version", "$LATEST")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-app-version": str(version)},
        "body": BODY,
    }
