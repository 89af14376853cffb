"""The process environment of a worker: the version's variables plus Lambda's reserved ones.

The engine's own environment is not inherited, as on AWS; only the few host variables a
process needs to run (``PATH``, locale, ``HOME``, ``TMPDIR``) and AWS credentials, so that
handlers calling AWS behave as they would under ``sam local``. Reserved variables win over
the function's own, as Lambda does not let a function set them.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import apicanary
from apicanary.engine.functions.runtime.spec import ExecutionSpec
from apicanary.engine.functions.runtime.wire import ENGINE_ROOT_VAR

_HOST_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "HOME", "TMPDIR", "SYSTEMROOT")
_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
ENGINE_ROOT = str(Path(apicanary.__file__).resolve().parent.parent)


def log_stream_name(version: str) -> str:
    """A new execution environment's stream name: ``2024/05/01/[$LATEST]<32 hex>``."""
    return f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{version}]{uuid.uuid4().hex}"


def worker_environment(spec: ExecutionSpec, stream_name: str) -> dict[str, str]:
    inherited = (*_HOST_VARIABLES, *_CREDENTIALS)
    env = {name: os.environ[name] for name in inherited if name in os.environ}
    env.update(spec.environment)
    user_path = env.get("PYTHONPATH")
    env.update(
        {
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream_name,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "TZ": ":UTC",
            # The bootstrap removes these two again before the handler is imported.
            ENGINE_ROOT_VAR: ENGINE_ROOT,
            "PYTHONPATH": os.pathsep.join(p for p in (ENGINE_ROOT, user_path) if p),
        }
    )
    return env
