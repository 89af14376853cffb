"""The two value types of the runtime: what to run (:class:`ExecutionSpec`) and what happened
(:class:`InvocationOutcome`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION


@dataclass(frozen=True)
class ExecutionSpec:
    """Everything a worker needs to run one published version; immutable per version.

    Workers are pooled by ``pool_key``: two specs with the same key must describe the same
    code and configuration (e.g. ``f"{fn}:{version}:{code_sha}:{config_revision}"``).
    ``runtime`` is recorded only: workers always run the engine's own interpreter.
    """

    function_name: str
    version: str
    code_dir: Path
    handler: str
    runtime: str
    timeout_s: float
    memory_mb: int
    environment: Mapping[str, str]
    pool_key: str
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class InvocationOutcome:
    """The result of one invocation, as Lambda's Invoke reports it.

    ``payload`` is the handler's JSON result or AWS's error object; ``function_error`` is
    ``"Unhandled"`` whenever the function or its runtime failed (exception, crash, timeout,
    out of memory, init error), like ``X-Amz-Function-Error``. ``duration_ms`` is handler time
    only; ``init_duration_ms`` is set on cold starts (spawn to ready). ``log_tail`` is at most
    the last 4 KB of this invocation's log, START to REPORT.
    """

    payload: bytes
    function_error: str | None
    error_type: str | None
    duration_ms: float
    init_duration_ms: float | None
    cold_start: bool
    request_id: str
    log_tail: str
