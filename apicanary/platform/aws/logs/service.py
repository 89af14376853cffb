"""``LogsTelemetry``: per-request evidence for every target a controller watches, with the
CloudWatch metrics reader as the backstop (I/O).

One :class:`~apicanary.platform.aws.logs.reader.LogsReader` per target, built on first use
from the function's configuration (its log group and format) and, in stage mode, the stage's
access-log settings. When logs cannot serve a target — a stage without an access log or whose
format lacks what the reader needs, or no permission to read the logs — the target is read
from CloudWatch metrics instead (one-minute windows, minutes late, no latency), and
:attr:`LogsTelemetry.notes` says why. GetMetricData is never mixed into a log-fed target: the
two would count the same requests twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from apicanary.clock import Clock
from apicanary.errors import AwsApiError
from apicanary.platform.aws.errors import aws_call
from apicanary.platform.aws.logs.reader import LogsReader, plan_sources
from apicanary.platform.base import Mode, TelemetryBatch, TelemetryTarget

_DENIED = {"AccessDeniedException", "AccessDenied", "UnrecognizedClientException"}

MetricsRead = Callable[[TelemetryTarget, Any], TelemetryBatch]


class LogsTelemetry:
    """``read(target, cursor)`` from logs, else from ``metrics`` (see the module docstring)."""

    def __init__(
        self,
        logs: Any,
        lambda_: Any,
        apigateway: Any,
        clock: Clock,
        metrics: MetricsRead,
        *,
        live_tail: bool = True,
    ) -> None:
        self.logs = logs
        self.lambda_ = lambda_
        self.apigateway = apigateway
        self.clock = clock
        self.metrics = metrics
        self.live_tail = live_tail
        self.readers: dict[TelemetryTarget, LogsReader] = {}
        self.arrived = threading.Event()
        self.notes: dict[TelemetryTarget, str] = {}

    def read(self, target: TelemetryTarget, cursor: Any) -> TelemetryBatch:
        if target in self.notes:
            return self.metrics(target, _metrics_cursor(cursor))
        reader = self.readers.get(target)
        if reader is None:
            planned = self._plan(target)
            if isinstance(planned, str):
                self.notes[target] = planned
                return self.metrics(target, _metrics_cursor(cursor))
            reader = planned
            self.readers[target] = reader
        try:
            return reader.read(cursor)
        except AwsApiError as error:
            if error.code not in _DENIED:
                raise
            reader.close()
            del self.readers[target]
            self.notes[target] = f"CloudWatch Logs refused ({error.code}: {error.message})"
            return self.metrics(target, None)

    def _plan(self, target: TelemetryTarget) -> LogsReader | str:
        config = aws_call(self.lambda_, "get_function_configuration", FunctionName=target.function)
        stage = None
        if target.mode is not Mode.ALIAS and target.api_id and target.stage:
            stage = aws_call(
                self.apigateway, "get_stage", restApiId=target.api_id, stageName=target.stage
            )
        sources = plan_sources(target, config, stage)
        if isinstance(sources, str):
            return sources
        return LogsReader(
            self.logs, target, sources, self.clock, live_tail=self.live_tail, arrived=self.arrived
        )

    def wait(self, timeout_s: float) -> bool:
        """Sleep until Live Tail brings events or ``timeout_s`` passes; True if it did."""
        arrived = self.arrived.wait(timeout_s)
        self.arrived.clear()
        return arrived

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()
        self.readers.clear()


def _metrics_cursor(cursor: Any) -> Any:
    return cursor if cursor is None or isinstance(cursor, int | float) else None


__all__ = ["LogsTelemetry"]
