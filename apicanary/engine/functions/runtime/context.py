"""The Lambda context object handed to a handler, shaped like the AWS Python runtime's.

As on AWS, ``memory_limit_in_mb`` is a string (it is read from the environment) and
``get_remaining_time_in_millis`` counts down to the invocation's epoch-millisecond deadline.
"""

from __future__ import annotations

import os
import sys
import time


class LambdaContext:
    """Per-invocation context: identity of the function and of this request, and its deadline."""

    __slots__ = (
        "_deadline_ms",
        "aws_request_id",
        "client_context",
        "function_name",
        "function_version",
        "identity",
        "invoked_function_arn",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
    )

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context: object | None = None
        self.identity: object | None = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function times out (never negative)."""
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, msg: object) -> None:
        """Write ``msg`` to the function's log, like ``context.log`` on AWS."""
        sys.stdout.write(str(msg))
        sys.stdout.flush()

    def __repr__(self) -> str:
        return (
            f"LambdaContext(aws_request_id={self.aws_request_id!r}, "
            f"function_name={self.function_name!r}, function_version={self.function_version!r}, "
            f"invoked_function_arn={self.invoked_function_arn!r})"
        )
