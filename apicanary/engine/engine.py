"""The embedded local engine: one object that owns the state directory and every service.

``Engine`` is the composition root of the local AWS: the SQLite store, the code store, the
worker runtime, the Lambda and API Gateway services and the gateway's request path (which
follows every committed API Gateway change by swapping its compiled view). Servers and the
local platform receive an ``Engine``; nothing else constructs services.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from apicanary.clock import Clock, SystemClock
from apicanary.engine.apigateway import ApiGatewayService
from apicanary.engine.codestore import CodeStore
from apicanary.engine.gateway import Gateway
from apicanary.engine.lambdas import LambdaService
from apicanary.engine.runtime import Runtime
from apicanary.engine.store import Store

DEFAULT_STATE_DIR = Path(".apicanary")


def default_workers_per_version() -> int:
    """Worker processes per version: ``APICANARY_WORKERS_PER_VERSION``, else the core count
    (at least 2). Beyond it, invocations of one version queue for a free worker."""
    configured = os.environ.get("APICANARY_WORKERS_PER_VERSION")
    if configured and configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(2, os.cpu_count() or 2)


class Engine:
    """Every local service over one state directory.

    ``rng`` drives alias-weight and canary draws (seed it for reproducible splits); ``clock``
    is the time source of every service.
    """

    def __init__(
        self,
        state_dir: Path = DEFAULT_STATE_DIR,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        max_workers_per_version: int | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.region = region
        self.account_id = account_id
        self.store = Store(state_dir)
        self.codes = CodeStore(state_dir / "code")
        self.runtime = Runtime(
            state_dir / "logs",
            max_workers_per_pool=max_workers_per_version or default_workers_per_version(),
        )
        self.lambdas = LambdaService(
            self.store,
            self.codes,
            self.runtime,
            self.clock,
            rng=self.rng,
            region=region,
            account_id=account_id,
        )
        self.apigateway = ApiGatewayService(
            self.store, self.clock, region=region, account_id=account_id
        )
        self.gateway = Gateway(self.lambdas, self.clock, rng=self.rng, account_id=account_id)
        self.gateway.swap(self.apigateway.snapshot())
        self.apigateway.on_change(self.gateway.swap)

    async def aclose(self) -> None:
        """Stop every worker process and close the database."""
        await self.runtime.close()
        self.store.close()
