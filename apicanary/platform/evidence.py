"""Evidence counted exactly once (pure): a gateway request and its Lambda invocation are one
observation, keyed by request id, whichever record arrives first and however reads split them.

A request through the gateway leaves two records: the Lambda service's (when the invocation
ends) and the gateway's (when the client is answered). The gateway's says what the client
got (a malformed proxy response is a 502 the function never saw), so it wins. The two arrive
in either order: normally the invocation ends first, but after an integration timeout the
gateway answers first and the function keeps running, up to its own timeout.

:class:`EvidenceAccumulator` folds records read in any number of reads:

* a **gateway** record is counted at once; if it expects a Lambda record that has not arrived
  yet, its id is remembered (until ``remember_s`` after the request started, at most
  ``max_remembered`` ids) so that record is dropped when it comes;
* a **Lambda** record whose gateway record was already counted is dropped; one whose gateway
  record comes later in the same read, or whose request is still in flight (``awaiting``), is
  **held** until the gateway record arrives (then
  dropped) or ``hold_s`` after the invocation started (then counted: the gateway record is
  not coming); one that no gateway request is waiting for is a direct invoke, counted at once.
  A reader that cannot tell (``awaiting=None``, e.g. logs read from AWS) holds every
  unmatched Lambda record until its gateway record or ``hold_s``.

It reads no clock (``now`` is passed in) and does no I/O. :meth:`oldest_held` is part of the
evidence watermark: nothing is complete from the oldest held record on.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from apicanary.model import Invocation


class Source(StrEnum):
    GATEWAY = "gateway"
    LAMBDA = "lambda"


@dataclass(frozen=True, slots=True)
class Observation:
    """One record, already mapped to an arm (``invocation``).

    ``timestamp``: when the request (or invocation) started, on the engine's clock.
    ``expects_lambda``: a gateway record whose Lambda record is also evidence (it invoked the
    function, and Lambda records are read for this target).
    """

    request_id: str
    timestamp: float
    source: Source
    invocation: Invocation
    expects_lambda: bool = False


class EvidenceAccumulator:
    """Merges gateway and Lambda records by request id across reads (module docstring)."""

    def __init__(self, *, hold_s: float, remember_s: float, max_remembered: int = 100_000) -> None:
        if hold_s < 0 or remember_s < 0 or max_remembered < 1:
            raise ValueError(
                f"hold_s {hold_s} and remember_s {remember_s} must be >= 0 and "
                f"max_remembered {max_remembered} >= 1"
            )
        self.hold_s = hold_s
        self.remember_s = remember_s
        self.max_remembered = max_remembered
        # Lambda records waiting for their gateway record: id -> (deadline, observation)
        self._held: OrderedDict[str, tuple[float, Observation]] = OrderedDict()
        # gateway records counted whose Lambda record is still to come: id -> forget-at
        self._remembered: OrderedDict[str, float] = OrderedDict()
        self.forgotten = 0  # ids dropped from memory by the size bound (a duplicate is possible)

    def add(
        self,
        observations: Iterable[Observation],
        *,
        now: float,
        awaiting: Collection[str] | None,
    ) -> list[Invocation]:
        """Fold ``observations`` (in arrival order); return the invocations to count now.

        ``awaiting``: ids of gateway requests whose record is known to be still to come (in
        flight, or written after this read); ``None`` when the reader cannot know.
        """
        batch = list(observations)
        coming = {o.request_id for o in batch if o.source is Source.GATEWAY}
        out: list[Invocation] = []
        for obs in batch:
            if obs.source is Source.GATEWAY:
                if self._held.pop(obs.request_id, None) is None and obs.expects_lambda:
                    self._remember(obs.request_id, obs.timestamp + self.remember_s)
                out.append(obs.invocation)
            elif self._remembered.pop(obs.request_id, None) is not None:
                continue  # its gateway record was counted already
            elif obs.request_id in coming:
                self._held[obs.request_id] = (obs.timestamp + self.hold_s, obs)  # later here
            elif awaiting is None or obs.request_id in awaiting:
                self._held[obs.request_id] = (obs.timestamp + self.hold_s, obs)
            else:
                out.append(obs.invocation)  # a direct invoke: no gateway record will come
        out.extend(self._expire(now))
        return out

    def oldest_held(self) -> float | None:
        """Start time of the oldest Lambda record still waiting for its gateway record."""
        if not self._held:
            return None
        return min(obs.timestamp for _, obs in self._held.values())

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def remembered(self) -> int:
        return len(self._remembered)

    def _remember(self, request_id: str, until: float) -> None:
        self._remembered[request_id] = until
        while len(self._remembered) > self.max_remembered:
            self._remembered.popitem(last=False)
            self.forgotten += 1

    def _expire(self, now: float) -> list[Invocation]:
        due = [rid for rid, (deadline, _) in self._held.items() if deadline <= now]
        released = [self._held.pop(rid)[1].invocation for rid in due]
        stale = [rid for rid, until in self._remembered.items() if until <= now]
        for rid in stale:
            del self._remembered[rid]
        return released


__all__ = ["EvidenceAccumulator", "Observation", "Source"]
