"""A proxy handler that spends 1 ms of its own CPU time, then answers like the hello handler.

``burn`` is shared with bench/asgi_hello.py's ``app_burn`` (the same work without a gateway).
"""

import json
import time

BODY = json.dumps({"message": "burnt 1 ms"})
CPU_S = 0.001


def burn(seconds=CPU_S):
    """Spin until this thread has used ``seconds`` of CPU (sleeping or being preempted does
    not count, so the work is the same on a busy machine)."""
    end = time.thread_time() + seconds
    n = 0
    while time.thread_time() < end:
        n += 1
    return n


def handler(event, context):
    burn()
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": BODY,
    }
