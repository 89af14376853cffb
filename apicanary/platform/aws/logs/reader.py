"""``LogsReader``: one rollout target's per-request evidence from CloudWatch Logs.

What is read (:func:`plan_sources`):

* alias mode — the function's log group (``LoggingConfig.LogGroup``, by default
  ``/aws/lambda/<function>``), Lambda lines in Text or JSON (``lambda_lines.py``);
* stage mode (and both) — the stage's access-log group and ``<group>/Canary`` in the stage's
  own format (``access_lines.py``); with ``$context.integration.requestId`` in the format the
  function's group too, to tell cold starts.

How: Live Tail (``tail.py``) pushes events; FilterLogEvents (``poll.py``) fills every gap —
from the cursor when the reader starts (a restarted controller; a rollout resumed on another
machine reads from its start), after a Live Tail break, for the span of a sampled update,
when a log group appears, and every :data:`SAFETY_POLL_S` as a safety net. Without Live Tail
(permission denied, an endpoint without it) the reader polls on every read. Events are
de-duplicated by content key, requests by id (``fold.py``).

The batch's ``fresh_until`` is the watermark from the measured ingestion delay
(``watermark.py``); the cursor ``{"since": ms, "seen": {id: ms}}`` is the watermark in
milliseconds and the ids already delivered at or after it, so a reader restarted from it
reads from the watermark and counts each request once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apicanary.clock import Clock
from apicanary.model import Invocation
from apicanary.platform.aws.logs import poll
from apicanary.platform.aws.logs.access_lines import (
    AccessFormat,
    canary_group,
    compile_format,
    parse_access_line,
)
from apicanary.platform.aws.logs.events import LogEvent, SeenSet
from apicanary.platform.aws.logs.fold import Fold
from apicanary.platform.aws.logs.lambda_lines import LambdaLineParser
from apicanary.platform.aws.logs.tail import Break, Connected, TailSession, Update
from apicanary.platform.aws.logs.watermark import UPDATE_PERIOD_S, DelayTracker, watermark
from apicanary.platform.base import Mode, TelemetryBatch, TelemetryTarget

SAFETY_POLL_S = 30.0
QUIET_S = 2.0  # no Live Tail update for this long: read with FilterLogEvents instead
GROUP_CHECK_S = 5.0
OVERLAP_S = 2.0


@dataclass(frozen=True, slots=True)
class Sources:
    """The log groups to read for one target and how to read them."""

    lambda_group: str | None  # Lambda lines (alias mode; stage mode for cold starts)
    stage_group: str | None = None  # the stage's access log
    access_format: AccessFormat | None = None

    @property
    def groups(self) -> list[str]:
        out = [g for g in (self.lambda_group, self.stage_group) if g]
        if self.stage_group:
            out.append(canary_group(self.stage_group))
        return out


def cursor_at(start: float) -> dict[str, Any]:
    """A cursor that reads the evidence from ``start`` (epoch seconds) on."""
    return {"since": int(start * 1000), "seen": {}}


def function_log_group(configuration: Mapping[str, Any], function: str) -> str:
    """The function's log group: ``LoggingConfig.LogGroup`` or ``/aws/lambda/<function>``."""
    logging_config = configuration.get("LoggingConfig") or {}
    return str(logging_config.get("LogGroup") or f"/aws/lambda/{function}")


def function_log_format(configuration: Mapping[str, Any]) -> str:
    """``"Text"`` or ``"JSON"``: the function's ``LoggingConfig.LogFormat`` (Text if unset)."""
    return str((configuration.get("LoggingConfig") or {}).get("LogFormat") or "Text")


def plan_sources(
    target: TelemetryTarget,
    function_config: Mapping[str, Any],
    stage: Mapping[str, Any] | None,
) -> Sources | str:
    """The sources for ``target``, or a sentence saying why logs cannot serve it."""
    lambda_group = function_log_group(function_config, target.function)
    if target.mode is Mode.ALIAS:
        return Sources(lambda_group=lambda_group)
    settings = (stage or {}).get("accessLogSettings") or {}
    destination, template = settings.get("destinationArn"), settings.get("format")
    if not destination or not template:
        return f"stage {target.stage} has no access log (accessLogSettings)"
    fmt = compile_format(str(template))
    missing = fmt.missing()
    if missing:
        return f"the access-log format of stage {target.stage} lacks {', '.join(missing)}"
    from apicanary.platform.aws.logs.events import group_name

    join = fmt.has("integration.requestId")
    return Sources(
        lambda_group=lambda_group if join else None,
        stage_group=group_name(str(destination)),
        access_format=fmt,
    )


@dataclass
class _Gap:
    """A span to read with FilterLogEvents: ``[start_ms, end_ms)``; ``start_ms=None`` means
    "from where each group was last read through" and ``end_ms=None`` "up to now"."""

    start_ms: int | None = None
    end_ms: int | None = None


@dataclass
class ReaderStats:
    """What the reader has done, for docs, benchmarks and ``doctor``."""

    live_events: int = 0
    filled_events: int = 0
    duplicate_events: int = 0
    sampled_updates: int = 0
    breaks: int = 0
    polls: int = 0
    log_formats: set[str] = field(default_factory=set)


class LogsReader:
    """Reads one target's evidence. Not thread-safe: one controller thread calls :meth:`read`.

    ``logs`` is a boto3 ``logs`` client (or anything with its methods); ``live_tail=False``
    polls only (FilterLogEvents on every read).
    """

    def __init__(
        self,
        logs: Any,
        target: TelemetryTarget,
        sources: Sources,
        clock: Clock,
        *,
        live_tail: bool = True,
        arrived: threading.Event | None = None,
    ) -> None:
        self.logs = logs
        self.arrived = arrived
        self.target = target
        self.sources = sources
        self.clock = clock
        self.live_tail = live_tail
        self.delays = DelayTracker()
        self.stats = ReaderStats()
        self.fold = Fold(target.stable_version, target.canary_version)
        self._lambda = LambdaLineParser()
        self._seen = SeenSet()
        self._tail: TailSession | None = None
        self._tailed: set[str] = set()
        self._gaps: list[_Gap] = []
        # per group: wall ms up to which everything ingested has been read (Live Tail or a
        # FilterLogEvents read up to now); a new event there has a timestamp after this
        # minus the ingestion delay
        self._read_through: dict[str, int] = {}
        self._started = False
        self._last_group_check = float("-inf")
        self._last_poll = float("-inf")
        self._read_at: float | None = None  # when everything ingested by then was read
        self._since_ms = 0

    # -- the one entry point -------------------------------------------------------------------

    def read(self, cursor: Any) -> TelemetryBatch:
        """Invocations read since the last call (or since ``cursor`` on the first)."""
        now = self.clock.now()
        if not self._started:
            self._begin(cursor, now)
        invocations: list[Invocation] = []
        self._check_groups(now)
        self._drain(invocations)
        tail = self._tail
        polling = tail is None or not tail.alive
        quiet = self._read_at is None or now - self._read_at > QUIET_S
        if polling or quiet or now - self._last_poll >= SAFETY_POLL_S:
            self._gaps.append(_Gap())
        self._fill(invocations, now)
        fresh = self._fresh_until(now, polling)
        since_ms = int(fresh * 1000)
        self.fold.forget_before(since_ms)
        cursor_out = {
            "since": max(self._since_ms, since_ms),
            "seen": self.fold.recent_ids(since_ms),
        }
        return TelemetryBatch(cursor=cursor_out, fresh_until=fresh, invocations=invocations)

    def close(self) -> None:
        if self._tail is not None:
            self._tail.stop()
            self._tail = None

    # -- plumbing ------------------------------------------------------------------------------

    def _begin(self, cursor: Any, now: float) -> None:
        self._started = True
        if isinstance(cursor, Mapping) and "since" in cursor:
            self._since_ms = int(cursor["since"])
            self.fold = Fold(
                self.target.stable_version,
                self.target.canary_version,
                {str(k): int(v) for k, v in (cursor.get("seen") or {}).items()},
            )
        else:
            self._since_ms = int(now * 1000)
        self._gaps.append(_Gap())  # from the cursor: nothing has been read through yet

    def _check_groups(self, now: float) -> None:
        """(Re)start Live Tail when a group it does not cover has appeared."""
        if not self.live_tail or now - self._last_group_check < GROUP_CHECK_S:
            return
        if self._tail is not None and (
            self._tail.unavailable or self._tailed == set(self.sources.groups)
        ):
            return
        self._last_group_check = now
        arns = poll.group_arns(self.logs, self.sources.groups)
        if not arns or set(arns) == self._tailed:
            return
        if self._tail is not None:
            self._tail.stop()
        self._tailed = set(arns)
        self._tail = TailSession(
            self.logs, list(arns.values()), wall=self.clock.now, arrived=self.arrived
        ).start()
        # whatever was logged before this session started is read by FilterLogEvents
        self._gaps.append(_Gap())

    def _fill_from(self, group: str, now: float) -> int:
        """Where an open read of ``group`` starts: where it was read through, minus the
        measured delay (late events land behind it) and a margin, never before the cursor."""
        through = self._read_through.get(group, self._since_ms)
        back_ms = int((self.delays.bound(now) + OVERLAP_S) * 1000)
        return max(self._since_ms, through - back_ms)

    def _drain(self, out: list[Invocation]) -> None:
        tail = self._tail
        if tail is None:
            return
        while True:
            try:
                message = tail.messages.get_nowait()
            except Exception:  # queue.Empty
                return
            if isinstance(message, Update):
                self._events(message.events, message.received_at, out, live=True)
                self._read_at = max(self._read_at or 0.0, message.received_at)
                through = int((message.received_at - UPDATE_PERIOD_S) * 1000)
                for group in self._tailed:
                    self._read_through[group] = max(self._read_through.get(group, 0), through)
                if message.sampled and message.events:
                    self.stats.sampled_updates += 1
                    first = min(e.timestamp for e in message.events)
                    last = max(e.timestamp for e in message.events)
                    self._gaps.append(_Gap(first - 1000, last + 1))
            elif isinstance(message, Break):
                self.stats.breaks += 1
                self._gaps.append(_Gap())
            elif isinstance(message, Connected) and self._read_at is None:
                self._read_at = message.at - UPDATE_PERIOD_S

    def _fill(self, out: list[Invocation], now: float) -> None:
        """Read the pending gaps with FilterLogEvents: one read per group, from the oldest
        start any gap asks for (an open gap: where that group was read through)."""
        if not self._gaps:
            return
        gaps, self._gaps = self._gaps, []
        open_ended = any(g.end_ms is None for g in gaps)
        end = None if open_ended else max(g.end_ms or 0 for g in gaps)
        self.stats.polls += 1
        self._last_poll = now
        now_ms = int(now * 1000)
        for group in self.sources.groups:
            start = min(
                self._fill_from(group, now)
                if g.start_ms is None
                else max(self._since_ms, g.start_ms)
                for g in gaps
            )
            # stable sort: events of one stream with the same millisecond keep their order
            events = sorted(
                poll.filter_events(self.logs, group, start, end), key=lambda e: e.timestamp
            )
            self._events(events, now, out, live=False)
            if open_ended:
                self._read_through[group] = max(self._read_through.get(group, 0), now_ms)
        if open_ended:  # everything ingested by now has been read
            self._read_at = max(self._read_at or now, now)

    def _events(
        self, events: Iterable[LogEvent], seen_at: float, out: list[Invocation], *, live: bool
    ) -> None:
        for event in events:
            if not self._seen.add(event.key):
                self.stats.duplicate_events += 1
                continue
            if live:
                self.stats.live_events += 1
            else:
                self.stats.filled_events += 1
            self.delays.add(seen_at, event.delay_ms / 1000.0)
            invocation = self._invocation(event)
            if invocation is not None:
                out.append(invocation)

    def _invocation(self, event: LogEvent) -> Invocation | None:
        sources = self.sources
        if event.group == sources.lambda_group:
            outcome = self._lambda.feed(event)
            if outcome is None:
                return None
            self.stats.log_formats.add(outcome.log_format)
            if sources.stage_group:
                self.fold.remember_cold(outcome)
                return None
            return self.fold.lambda_outcome(outcome)
        if sources.stage_group and sources.access_format is not None:
            canary = event.group == canary_group(sources.stage_group)
            record = parse_access_line(sources.access_format, event, canary)
            return None if record is None else self.fold.access_record(record)
        return None

    def _fresh_until(self, now: float, polling: bool) -> float:
        read_at = self._read_at
        if read_at is None:
            return self._since_ms / 1000.0
        granularity = 0.0 if polling else UPDATE_PERIOD_S
        return max(self._since_ms / 1000.0, watermark(read_at, self.delays.bound(now), granularity))


__all__ = [
    "GROUP_CHECK_S",
    "SAFETY_POLL_S",
    "LogsReader",
    "ReaderStats",
    "Sources",
    "cursor_at",
    "function_log_format",
    "function_log_group",
    "plan_sources",
]
