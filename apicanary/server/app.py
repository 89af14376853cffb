"""The running local engine: an :class:`Engine`, the project provisioned into it, two servers.

``LocalServer`` is what ``apicanary serve`` runs and what tests start in-process: it opens the
state directory, loads and provisions the project's template (if any; SAM, CloudFormation or
a CDK stack; what it skipped is in ``warnings``), and serves the gateway and
the control plane on their ports until stopped.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apicanary import __version__
from apicanary.engine.engine import Engine
from apicanary.engine.functions.model import LambdaInvocation
from apicanary.engine.functions.states import DEFAULT_DELAY_S
from apicanary.engine.gateway.messages import RequestRecord
from apicanary.engine.gateway.recording import RecordingSettings
from apicanary.engine.provision import ProvisionReport, provision
from apicanary.engine.telemetry import DEFAULT_TELEMETRY_CAPACITY, is_failure
from apicanary.platform.local import LocalPlatform
from apicanary.project.loader import load_project
from apicanary.rollout.controller import Controller
from apicanary.rollout.journal import Journal
from apicanary.rollout.scheduler import Scheduler
from apicanary.server import dashboard, deploy_api, rollouts_api
from apicanary.server.auth import TOKEN_ENV, ControlAuth
from apicanary.server.control import build_control_app
from apicanary.server.data import GatewayApp
from apicanary.server.runner import Listener, serve_all

LIVE_TAIL_LIMIT_ENV = "APICANARY_LIVE_TAIL_LIMIT_S"
"""Seconds a Live Tail session lasts (default: CloudWatch's 3 hours)."""


class LocalServer:
    """The engine plus its gateway and control servers, bound to ``host``."""

    def __init__(
        self,
        *,
        state_dir: Path,
        template: Path | None = None,
        host: str = "127.0.0.1",
        gateway_port: int = 3000,
        control_port: int = 3001,
        seed: int | None = None,
        lambda_state_delay: float = DEFAULT_DELAY_S,
        recording: RecordingSettings | None = None,
        logs_delay: float = 0.0,
        telemetry_capacity: int = DEFAULT_TELEMETRY_CAPACITY,
    ) -> None:
        self.telemetry_capacity = telemetry_capacity
        self.state_dir = state_dir
        self.logs_delay = logs_delay
        self.lambda_state_delay = lambda_state_delay
        self.recording = recording
        self.template = template
        self.host = host
        self.gateway_port = gateway_port
        self.control_port = control_port
        self.seed = seed
        self.engine: Engine | None = None
        self.report = ProvisionReport()
        self.warnings: tuple[str, ...] = ()

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self.control_port}"

    def open(self) -> Engine:
        """Open the state directory and provision the template (idempotent)."""
        rng = random.Random(self.seed) if self.seed is not None else random.Random()
        engine = Engine(
            self.state_dir,
            rng=rng,
            lambda_state_delay=self.lambda_state_delay,
            logs_delay=self.logs_delay,
            telemetry_capacity=self.telemetry_capacity,
        )
        limit = os.environ.get(LIVE_TAIL_LIMIT_ENV)
        if limit:  # tests shorten Live Tail sessions to see them time out
            engine.live_tail_limit_s = float(limit)
        self.engine = engine
        if self.recording is not None:
            engine.record_requests(self.recording)
        if self.template is not None:
            project = load_project(self.template)
            self.report = provision(engine, project)
            self.warnings = (*project.warnings, *self.report.warnings)
        return engine

    def describe(self) -> dict[str, Any]:
        """What is being served, for the ready message and ``--output json``."""
        routes: list[str] = []
        for api in self.report.apis:
            for route in api.routes:
                routes.append(f"{route}  (api {api.api_id})")
        for http_api in self.report.http_apis:
            for key in http_api["routes"]:
                routes.append(f"{key}  (HTTP API {http_api['api_id']})")
        return {
            "version": __version__,
            "gatewayUrl": self.gateway_url,
            "controlUrl": self.control_url,
            "stateDir": str(self.state_dir),
            "recording": str(self.recording.file) if self.recording else None,
            "routes": routes,
            "provisioned": self.report.to_dict(),
            "warnings": list(self.warnings),
        }

    async def run(
        self,
        *,
        on_ready: Callable[[], None] | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Serve until a signal arrives or ``stop`` is set; stop every worker on the way out."""
        engine = self.engine or self.open()
        journal = Journal(engine.store)
        platform = LocalPlatform(engine, asyncio.get_running_loop())
        controller = Controller(journal, platform, engine.clock)
        scheduler = Scheduler(controller, journal)
        push_failures_to(engine, scheduler.poke)
        control = build_control_app(
            engine,
            [
                *rollouts_api.routes(controller, journal, platform, scheduler.poke),
                *dashboard.routes(engine, journal),
                *deploy_api.routes(engine, controller, platform, self.template, scheduler.poke),
            ],
        )
        listeners = [
            Listener("gateway", GatewayApp(engine.gateway), self.host, self.gateway_port),
            Listener(
                "control",
                ControlAuth(control, token=os.environ.get(TOKEN_ENV)),
                self.host,
                self.control_port,
            ),
        ]
        background = [
            asyncio.create_task(engine.run_background()),
            asyncio.create_task(scheduler.run()),
        ]
        try:
            await serve_all(listeners, on_ready=on_ready, stop=stop, on_stopping=engine.logs.close)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await engine.aclose()


def push_failures_to(engine: Engine, poke: Callable[[], None]) -> None:
    """Evidence is pushed: every failed request or invocation wakes the controller, which
    reads it and acts within one tick's work instead of at the next round."""

    def on_record(record: RequestRecord | LambdaInvocation) -> None:
        if is_failure(record):
            poke()

    engine.gateway.add_listener(on_record)
    engine.lambdas.invoker.add_listener(on_record)
