"""Execution environments: per-version worker processes, warm pools, concurrency, failures.

Public interface: :class:`ExecutionSpec` (what to run), :class:`InvocationOutcome` (what
happened) and :class:`Runtime` (runs them). Workers run :mod:`.bootstrap`.

Exports are resolved lazily: a worker starts with ``python -m
apicanary.engine.functions.runtime.bootstrap``, which imports this package first, and must
not pay for asyncio and subprocess on every cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apicanary.engine.functions.runtime.runtime import Runtime
    from apicanary.engine.functions.runtime.spec import ExecutionSpec, InvocationOutcome

__all__ = ["ExecutionSpec", "InvocationOutcome", "Runtime"]

_EXPORTS = {
    "ExecutionSpec": "apicanary.engine.functions.runtime.spec",
    "InvocationOutcome": "apicanary.engine.functions.runtime.spec",
    "Runtime": "apicanary.engine.functions.runtime.runtime",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
