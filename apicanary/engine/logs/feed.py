"""Into the log store, off the hot path: Lambda's worker output and API Gateway access logs.

Both feeds only append to a list where the request happens (a worker's log write, the
gateway's request record); :meth:`drain`, called from the engine's housekeeping, formats the
batch and stores it. An event's timestamp is when it was captured, not when it was drained.

* :class:`LambdaLogFeed`: one log stream per worker process, named as the worker's
  ``AWS_LAMBDA_LOG_STREAM_NAME`` (``YYYY/MM/DD/[<version>]<32 hex>``), in the group and
  format of the version's ``LoggingConfig`` (:mod:`.lambda_lines`).
* :class:`AccessLogFeed`: one line per REST request into the stage's
  ``accessLogSettings.destinationArn`` group (``<group>/Canary`` for canary requests), in its
  ``format`` (:func:`apicanary.engine.gateway.access_log.render_access_log`). Stages without
  both settings write nothing. Each (API, stage, canary) writes one stream named by 32 hex
  characters, fixed for the engine's life (AWS does not document its access-log stream names).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat

from apicanary.engine.functions.runtime.logsink import LogTap
from apicanary.engine.gateway.access_log import context_variables, render_access_log
from apicanary.engine.gateway.messages import RequestRecord
from apicanary.engine.logs.lambda_lines import StreamState, events
from apicanary.engine.logs.model import group_name_of
from apicanary.engine.logs.store import LogStore

_MAX_STATES = 10_000
MAX_PENDING = 20_000
"""Writes buffered before a feed drains itself: an engine nobody runs the housekeeping of (a
rehearsal) keeps bounded memory."""


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Where and how a function version logs."""

    group: str
    log_format: str  # "Text" or "JSON"


class LambdaLogFeed:
    """Worker output → ``/aws/lambda/<function>`` streams; see the module docstring.

    ``settings_of(function, version)`` gives the version's :class:`LogSettings` (read at
    drain time; a function deleted meanwhile logs Text into ``/aws/lambda/<function>``).
    """

    def __init__(
        self, store: LogStore, settings_of: Callable[[str, str], LogSettings | None]
    ) -> None:
        self._store = store
        self._settings_of = settings_of
        self._pending: list[tuple[str, str, str, int, bytes]] = []
        self._states: dict[tuple[str, str], StreamState] = {}

    def tap(self, function: str, version: str, stream: str) -> LogTap:
        """The writer of one worker (give it to the runtime)."""
        pending = self._pending
        clock = self._store.clock

        def write(data: bytes) -> None:
            pending.append((function, version, stream, int(clock.now() * 1000), data))
            if len(pending) >= MAX_PENDING:
                self.drain()

        return write

    def drain(self) -> int:
        """Format and store what the workers wrote; returns how many events were stored."""
        if not self._pending:
            return 0
        batch = self._pending[:]
        del self._pending[: len(batch)]  # the list object is shared with the taps
        settings: dict[tuple[str, str], LogSettings] = {}
        lines: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for function, version, stream, captured, data in batch:
            key = (function, version)
            if key not in settings:
                found = self._settings_of(function, version)
                settings[key] = found or LogSettings(f"/aws/lambda/{function}", "Text")
            chosen = settings[key]
            state = self._state(chosen.group, stream)
            text = data.decode("utf-8", "replace")
            messages = events(text, chosen.log_format, state, captured)
            # zip: no Python step per line (this runs for every line the workers print)
            stamped = zip(repeat(captured, len(messages)), messages, strict=True)
            lines.setdefault((chosen.group, stream), []).extend(stamped)
        return self._store_all(lines)

    def _store_all(self, lines: dict[tuple[str, str], list[tuple[int, str]]]) -> int:
        return sum(
            self._store.append(group, stream, items, arrived_at_timestamp=True)
            for (group, stream), items in lines.items()
        )

    def _state(self, group: str, stream: str) -> StreamState:
        key = (group, stream)
        state = self._states.get(key)
        if state is None:
            if len(self._states) >= _MAX_STATES:  # forget the oldest streams' open requests
                for old in list(self._states)[: _MAX_STATES // 2]:
                    del self._states[old]
            state = self._states[key] = StreamState()
        return state


@dataclass(frozen=True)
class AccessLogSettings:
    destination_arn: str
    format: str

    @functools.cached_property
    def group(self) -> str:
        return group_name_of(self.destination_arn)


class AccessLogFeed:
    """Gateway request records → access-log lines; see the module docstring.

    ``settings_of(api_id, stage)`` reads a stage's ``accessLogSettings`` (``None`` when it has
    no complete settings); answers are cached until :meth:`invalidate` (call it on every
    API Gateway change).
    """

    def __init__(
        self, store: LogStore, settings_of: Callable[[str, str], AccessLogSettings | None]
    ) -> None:
        self._store = store
        self._settings_of = settings_of
        self._pending: list[RequestRecord] = []
        self._cache: dict[tuple[str, str], AccessLogSettings | None] = {}
        self._streams: dict[tuple[str, str, bool], str] = {}

    def add(self, record: RequestRecord) -> None:
        """A gateway listener: O(1) on the hot path."""
        self._pending.append(record)
        if len(self._pending) >= MAX_PENDING:
            self.drain()

    def invalidate(self, *_: object) -> None:
        self._cache.clear()

    def drain(self) -> int:
        if not self._pending:
            return 0
        batch, self._pending = self._pending, []
        lines: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for record in batch:
            key = (record.api_id, record.stage)
            if key not in self._cache:
                self._cache[key] = self._settings_of(*key)
            settings = self._cache[key]
            if settings is None:
                continue
            group = settings.group + "/Canary" if record.is_canary else settings.group
            stream = self._stream(record.api_id, record.stage, record.is_canary)
            line = render_access_log(settings.format, context_variables(record))
            lines.setdefault((group, stream), []).append((int(record.timestamp * 1000), line))
        return sum(
            self._store.append(group, stream, items, arrived_at_timestamp=True)
            for (group, stream), items in lines.items()
        )

    def _stream(self, api_id: str, stage: str, canary: bool) -> str:
        key = (api_id, stage, canary)
        name = self._streams.get(key)
        if name is None:
            name = self._streams[key] = uuid.uuid4().hex
        return name
