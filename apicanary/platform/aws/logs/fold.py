"""Parsed log records into the analysis' :class:`~apicanary.model.Invocation`, once each (pure).

The same request can be read twice (Live Tail and the gap filler overlap; a restarted reader
re-reads from its cursor): an invocation is delivered once per request id. Ids delivered with
a timestamp at or after the watermark are kept (:meth:`Fold.recent_ids`) so that a reader
restarted from a cursor skips them; ids older than the watermark need no memory, since a
restart reads only from the watermark on.

Which arm:

* alias mode — Lambda logs: the executed version from the stream name; versions other than
  the rollout's two are ignored (CloudWatch Logs does not say through which alias a version
  was invoked, so a direct invocation of the stable version counts as stable traffic).
* stage mode — access logs: the group says the arm (``<group>/Canary`` is the canary); failed
  is a 5xx status; latency is the response latency; a cold start is known only when the format
  carries ``$context.integration.requestId`` and the Lambda report of that id was read first.
"""

from __future__ import annotations

from collections import OrderedDict

from apicanary.model import Invocation
from apicanary.platform.aws.logs.access_lines import AccessRecord
from apicanary.platform.aws.logs.lambda_lines import LambdaOutcome

_COLD_LIMIT = 50_000


class Fold:
    """Exactly-once delivery by request id, for one rollout's two versions."""

    def __init__(
        self, stable_version: str, canary_version: str, seen: dict[str, int] | None = None
    ):
        self.stable_version = stable_version
        self.canary_version = canary_version
        self._delivered: dict[str, int] = dict(seen or {})  # request id -> event timestamp ms
        self._cold: OrderedDict[str, bool] = OrderedDict()
        self.duplicates = 0

    def _first(self, request_id: str, timestamp_ms: int) -> bool:
        if request_id in self._delivered:
            self.duplicates += 1
            return False
        self._delivered[request_id] = timestamp_ms
        return True

    def lambda_outcome(self, outcome: LambdaOutcome) -> Invocation | None:
        """The invocation of a Lambda report (alias mode)."""
        if outcome.version not in (self.stable_version, self.canary_version):
            return None
        if not self._first(outcome.request_id, outcome.timestamp_ms):
            return None
        return Invocation(
            canary=outcome.version == self.canary_version,
            failed=outcome.failed,
            duration_ms=outcome.duration_ms,
            cold_start=outcome.cold_start,
            request_id=outcome.request_id,
        )

    def remember_cold(self, outcome: LambdaOutcome) -> None:
        """Stage mode: keep whether a Lambda request was a cold start, for its access line."""
        self._cold[outcome.request_id] = outcome.cold_start
        if len(self._cold) > _COLD_LIMIT:
            self._cold.popitem(last=False)

    def access_record(self, record: AccessRecord) -> Invocation | None:
        """The invocation of an access-log line (stage mode)."""
        if not self._first(record.request_id, record.timestamp_ms):
            return None
        cold = (
            self._cold.pop(record.integration_request_id, False)
            if record.integration_request_id
            else False
        )
        return Invocation(
            canary=record.canary,
            failed=record.failed,
            duration_ms=record.latency_ms or 0.0,
            cold_start=cold,
            request_id=record.request_id,
        )

    def forget_before(self, watermark_ms: int) -> None:
        """Drop delivered ids older than the watermark (a restart starts there)."""
        if len(self._delivered) < 1024:
            return
        self._delivered = {k: t for k, t in self._delivered.items() if t >= watermark_ms}

    def recent_ids(self, watermark_ms: int) -> dict[str, int]:
        """Delivered ids at or after the watermark: what a restarted reader must skip."""
        return {k: t for k, t in self._delivered.items() if t >= watermark_ms}


__all__ = ["Fold"]
