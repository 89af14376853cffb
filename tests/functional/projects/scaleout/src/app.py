import json
import os
import time


def handler(event, context):
    if event["path"] == "/wait":
        time.sleep(int((event.get("queryStringParameters") or {}).get("ms", "100")) / 1000)
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid()})}
