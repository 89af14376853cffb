"""What the two API Gateway control planes share: REST APIs (:mod:`.apigateway.service`) and
HTTP APIs (:mod:`.apigatewayv2.service`).

Both keep their state in the engine's SQLite store (each its own tables, migrated here), make
ids of AWS's shape from an injectable RNG, and after every committed write hand a fresh
immutable snapshot to their ``on_change`` listeners (the gateway swaps its compiled view). A
listener that raises is logged: the write it was told about stays committed.
"""

from __future__ import annotations

import logging
import random
import string
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from apicanary.clock import Clock
from apicanary.store import Store

__all__ = ["ApiService"]

log = logging.getLogger(__name__)

SnapshotT = TypeVar("SnapshotT")
_ID_ALPHABET = string.ascii_lowercase + string.digits


class ApiService(Generic[SnapshotT]):
    """A control plane on the engine's store whose committed changes are announced."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        region: str,
        account_id: str,
        rng: random.Random | None,
        *,
        component: str,
        migrations: Sequence[str],
    ) -> None:
        self._store = store
        self._clock = clock
        self.region = region
        self.account_id = account_id
        self._rng = rng or random.SystemRandom()
        self._listeners: list[Callable[[SnapshotT], None]] = []
        store.migrate(component, migrations)

    def on_change(self, listener: Callable[[SnapshotT], None]) -> None:
        """Call ``listener(snapshot)`` after every committed write (in the writer's thread)."""
        self._listeners.append(listener)

    def _announce(self, snapshot: SnapshotT) -> None:
        """Hand ``snapshot`` to every listener; one that raises is logged, the rest still run."""
        for listener in list(self._listeners):
            try:
                listener(snapshot)
            except Exception:
                log.exception("%s change listener %r failed", type(self).__name__, listener)

    def _new_id(self, length: int) -> str:
        """A new id of ``length`` lowercase letters and digits, as API Gateway's ids are."""
        return "".join(self._rng.choice(_ID_ALPHABET) for _ in range(length))
