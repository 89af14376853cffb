"""Handlers of the reliability fault project: the request path picks the way to fail.

Everything not listed answers 200 with the version that ran, so the same function serves
the healthy route next to the faulty ones.
"""

import ctypes
import json
import os
import sys
import time


def _ok(context, body=""):
    return {
        "statusCode": 200,
        "headers": {"x-app-version": context.function_version},
        "body": body or json.dumps({"version": context.function_version}),
    }


def handler(event, context):
    path = event["path"]
    if path == "/raise":
        raise RuntimeError("boom")
    if path == "/hang":
        time.sleep(30)  # far past Timeout: 1
    if path == "/exit":
        os._exit(3)
    if path == "/segfault":
        ctypes.string_at(0)
    if path == "/oom":
        hog = [b"x" * (16 << 20) for _ in range(64)]  # 1 GiB, touched, vs MemorySize 128
        return _ok(context, str(len(hog)))
    if path == "/garbage-shape":
        return {"statusCode": 200, "body": "x", "unexpected": True}
    if path == "/garbage-string":
        return "not a proxy response"
    if path == "/garbage-list":
        return [1, 2, 3]
    if path == "/garbage-status":
        return {"statusCode": "teapot", "body": "x"}
    if path == "/garbage-unserializable":
        return {"statusCode": 200, "body": object()}
    if path == "/huge":
        return _ok(context, "h" * (5 << 20))
    if path == "/too-huge":
        return _ok(context, "h" * (7 << 20))
    if path == "/chatty":
        chunk = "log line " * 1000 + "\n"
        for _ in range(400):  # about 3.6 MB of output, both streams
            sys.stdout.write(chunk)
            sys.stderr.write(chunk)
        return _ok(context, "chatty")
    return _ok(context)


def slow(event, context):
    time.sleep(0.8)  # past the route's 300 ms integration timeout, within Timeout: 3
    return _ok(context, "slow")
