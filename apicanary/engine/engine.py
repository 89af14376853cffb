"""The embedded local engine: one object that owns the state directory and every service.

``Engine`` is the composition root of the local AWS: the SQLite store, the code store, the
worker runtime, the Lambda and API Gateway services (REST and HTTP APIs), the gateway's
request path (which follows every committed API Gateway change by swapping its compiled view),
the CloudWatch metric store and alarm engine, the CloudWatch Logs store with its feeds (worker
output and stage access logs, drained in the housekeeping), and the telemetry log the rollout
controller reads (on file under ``telemetry/``, so a restarted engine resumes it). Servers and
the local platform receive an ``Engine``; nothing else constructs services.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from apicanary.clock import Clock, SystemClock
from apicanary.engine.apigateway.service import ApiGatewayService
from apicanary.engine.apigatewayv2.service import HttpApiService
from apicanary.engine.cloudwatch.alarms.service import AlarmEngine
from apicanary.engine.cloudwatch.concurrency import concurrency_points
from apicanary.engine.cloudwatch.feed import MetricFeed
from apicanary.engine.cloudwatch.metrics.store import MetricStore
from apicanary.engine.functions.codestore import CodeStore
from apicanary.engine.functions.runtime import Runtime
from apicanary.engine.functions.runtime.host import physical_memory_mb
from apicanary.engine.functions.runtime.policy import (
    AWS_ACCOUNT_CONCURRENCY,
    DEFAULT_ADMISSION,
    DEFAULT_IDLE_TIMEOUT_S,
    Capacity,
    default_limit,
    explicit_limit,
)
from apicanary.engine.functions.service import LambdaService
from apicanary.engine.gateway.access_log import AccessLog
from apicanary.engine.gateway.gateway import Gateway
from apicanary.engine.gateway.http_api import HttpApiGateway
from apicanary.engine.gateway.recording import Recorder, RecordingSettings
from apicanary.engine.logs.feed import (
    AccessLogFeed,
    AccessLogSettings,
    LambdaLogFeed,
    LogSettings,
)
from apicanary.engine.logs.store import LogStore
from apicanary.engine.logs.tail import SESSION_LIMIT_S
from apicanary.engine.telemetry import DEFAULT_TELEMETRY_CAPACITY, TelemetryLog
from apicanary.errors import AwsApiError, BadInputError
from apicanary.store import Store

DEFAULT_STATE_DIR = Path(".apicanary")


def default_workers_per_version() -> int | None:
    """``APICANARY_WORKERS_PER_VERSION`` if set: the previous fixed policy (at most that many
    worker processes per version, further invocations queue). ``None`` by default: versions
    scale out as on Lambda (see :mod:`apicanary.engine.functions.runtime.runtime`)."""
    configured = os.environ.get("APICANARY_WORKERS_PER_VERSION")
    if configured and configured.isdigit() and int(configured) > 0:
        return int(configured)
    return None


def cpu_admission() -> float | None:
    """``APICANARY_CPU_ADMISSION``: the CPU demand admitted per core, or ``off`` (no CPU
    admission: a process per concurrent invocation). For diagnostics and benchmarks."""
    configured = os.environ.get("APICANARY_CPU_ADMISSION", "").strip().lower()
    if not configured:
        return DEFAULT_ADMISSION
    if configured == "off":
        return None
    try:
        value = float(configured)
    except ValueError:
        value = float("nan")
    if not 1.0 <= value <= 64.0:
        raise BadInputError(
            f"APICANARY_CPU_ADMISSION {configured!r} must be 'off' or CPUs admitted per core, "
            "from 1 to 64"
        )
    return value


def environment_limits(max_environments: int | None) -> tuple[Capacity, int]:
    """The environment limit and the account's concurrency for ``serve --max-environments``:
    N environments and N concurrent invocations; by default AWS's 1,000 within a MemorySize
    budget of half the machine's RAM."""
    if max_environments is None:
        return default_limit(physical_memory_mb()), AWS_ACCOUNT_CONCURRENCY
    return explicit_limit(max_environments), max_environments


class Engine:
    """Every local service over one state directory.

    ``rng`` drives alias-weight and canary draws (seed it for reproducible splits); ``clock``
    is the time source of every service. ``lambda_state_delay``: seconds Lambda creates and
    updates stay ``Pending`` / ``InProgress`` (0, the default here: settled at once; ``serve``
    uses a short non-zero delay, see :mod:`apicanary.engine.functions.states`).
    ``logs_delay``: seconds between a log event's capture and its ``ingestionTime``, before
    which CloudWatch Logs readers do not see it (``serve --logs-delay``).
    ``max_environments`` / ``idle_timeout_s``: ``serve --max-environments`` / ``--idle-timeout``
    (see :func:`environment_limits`).
    """

    def __init__(
        self,
        state_dir: Path = DEFAULT_STATE_DIR,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT,
        max_workers_per_version: int | None = None,
        lambda_state_delay: float = 0.0,
        logs_delay: float = 0.0,
        max_environments: int | None = None,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        telemetry_capacity: int = DEFAULT_TELEMETRY_CAPACITY,
    ) -> None:
        # absolute: workers run with their code directory as cwd, so a relative path to a
        # code snapshot (the default state dir is ".apicanary") would point nowhere for them
        state_dir = Path(state_dir).resolve()
        self.state_dir = state_dir
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.region = region
        self.account_id = account_id
        self.store = Store(state_dir)
        self.codes = CodeStore(state_dir / "code")
        limit, account_concurrency = environment_limits(max_environments)
        self.runtime = Runtime(
            state_dir / "logs",
            max_workers_per_pool=max_workers_per_version or default_workers_per_version(),
            limit=limit,
            account_concurrency=account_concurrency,
            idle_ttl_s=idle_timeout_s,
            cpu_admission=cpu_admission(),
        )
        self.lambdas = LambdaService(
            self.store,
            self.codes,
            self.runtime,
            self.clock,
            rng=self.rng,
            region=region,
            account_id=account_id,
            state_delay=lambda_state_delay,
        )
        self.apigateway = ApiGatewayService(
            self.store, self.clock, region=region, account_id=account_id
        )
        self.gateway = Gateway(
            self.lambdas.invoker, self.clock, rng=self.rng, account_id=account_id
        )
        self.gateway.swap(self.apigateway.snapshot())
        self.apigateway.on_change(self.gateway.swap)
        self.http_apis = HttpApiService(
            self.store, self.clock, region=region, account_id=account_id
        )
        self.http_gateway = HttpApiGateway(self.lambdas.invoker, account_id=account_id)
        self.http_gateway.swap(self.http_apis.snapshot())
        self.http_apis.on_change(self.http_gateway.swap)
        self.gateway.serve_http_apis(self.http_gateway)
        self.metrics = MetricStore(self.clock, self.store)
        self.alarms = AlarmEngine(
            self.metrics, self.clock, self.store, region=region, account_id=account_id
        )
        self.feed = MetricFeed(self.metrics)
        # on file: a rollout's evidence and its journalled cursor survive a crash of serve
        self.telemetry = TelemetryLog(telemetry_capacity, state_dir / "telemetry")
        for listener in (self.feed.add, self.telemetry.add):
            self.gateway.add_listener(listener)
            self.lambdas.invoker.add_listener(listener)
        self.access_log = AccessLog(state_dir / "logs" / "access.log")
        self.gateway.add_listener(self.access_log.add)
        self.recorder: Recorder | None = None
        self.logs = LogStore(self.clock, delay_s=logs_delay)
        self.lambda_logs = LambdaLogFeed(self.logs, self._log_settings)
        self.runtime.set_log_tap(self.lambda_logs.tap)
        self.access_logs = AccessLogFeed(self.logs, self._access_log_settings)
        self.gateway.add_listener(self.access_logs.add)
        self.apigateway.on_change(self.access_logs.invalidate)
        self._last_expiry = 0.0
        self.live_tail_limit_s = SESSION_LIMIT_S

    def _log_settings(self, function: str, version: str) -> LogSettings | None:
        state = self.lambdas.view.functions.get(function)
        if state is None:
            return None
        try:
            config = state.version_of(version).config
        except KeyError:
            return None
        return LogSettings(config.log_group(function), config.log_format)

    def _access_log_settings(self, api_id: str, stage: str) -> AccessLogSettings | None:
        try:
            settings = self.apigateway.get_stage(api_id, stage).get("accessLogSettings") or {}
        except AwsApiError:  # the stage or API is gone: nothing to log to
            return None
        arn, fmt = settings.get("destinationArn"), settings.get("format")
        if not (arn and fmt and ":log-group:" in arn):  # e.g. a Firehose ARN: not emulated
            return None
        return AccessLogSettings(arn, fmt)

    def record_requests(self, settings: RecordingSettings) -> Recorder:
        """Capture every request the gateway routes, for ``rehearse --replay``."""
        self.recorder = Recorder(settings)
        self.gateway.tap_requests(self.recorder.add)
        return self.recorder

    def housekeeping(self) -> None:
        """Periodic work off the hot path: ingest metrics, evaluate alarms, persist."""
        self.feed.drain()
        total, peaks = self.runtime.take_concurrency_peaks()
        if total:
            self.metrics.put_many(concurrency_points(self.clock.now(), total, peaks))
        self.alarms.evaluate()
        self._flush_logs()

    def persist(self) -> None:
        """Write buffered metric data to SQLite (a restart keeps history) and the logs."""
        self.feed.drain()
        self.metrics.flush()
        self._flush_logs()

    def _flush_logs(self) -> None:
        self.lambda_logs.drain()
        self.access_logs.drain()
        if time.monotonic() - self._last_expiry >= 60.0:
            self._last_expiry = time.monotonic()
            self.logs.expire()
        self.access_log.flush()
        if self.recorder is not None:
            self.recorder.flush()

    async def run_background(self, *, housekeeping_s: float = 0.25, persist_s: float = 5.0) -> None:
        """Housekeeping and persistence forever (cancel to stop; persists once more)."""
        import asyncio

        last_persist = time.monotonic()
        try:
            while True:
                await asyncio.sleep(housekeeping_s)
                self.housekeeping()
                if time.monotonic() - last_persist >= persist_s:
                    self.persist()
                    last_persist = time.monotonic()
        finally:
            self.persist()

    async def aclose(self) -> None:
        """Stop every worker process and close the database."""
        await self.runtime.close()
        self.telemetry.close()
        self.store.close()
