"""The embedded local engine: one object that owns the state directory and every service.

``Engine`` is the composition root of the local AWS: the SQLite store, the code store, the
worker runtime, and the Lambda service (API Gateway, metrics and alarms join it as they are
built). Servers and the local platform receive an ``Engine``; nothing else constructs services.
"""

from __future__ import annotations

import random
from pathlib import Path

from apicanary.clock import Clock, SystemClock
from apicanary.engine.codestore import CodeStore
from apicanary.engine.lambdas import LambdaService
from apicanary.engine.runtime import Runtime
from apicanary.engine.store import Store

DEFAULT_STATE_DIR = Path(".apicanary")


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
    ) -> None:
        self.state_dir = state_dir
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.region = region
        self.account_id = account_id
        self.store = Store(state_dir)
        self.codes = CodeStore(state_dir / "code")
        self.runtime = Runtime(state_dir / "logs")
        self.lambdas = LambdaService(
            self.store,
            self.codes,
            self.runtime,
            self.clock,
            rng=self.rng,
            region=region,
            account_id=account_id,
        )

    async def aclose(self) -> None:
        """Stop every worker process and close the database."""
        await self.runtime.close()
        self.store.close()
