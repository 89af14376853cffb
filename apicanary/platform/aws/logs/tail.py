"""A Live Tail session kept alive in a background thread (I/O).

``StartLiveTail`` answers with an event stream: ``sessionStart``, then one ``sessionUpdate``
per second with up to 500 events (``sessionMetadata.sampled`` when there were more). The
session manager:

* reconnects before AWS's 3-hour session limit (:data:`MAX_SESSION_S`) and after any error or
  end of stream, with a growing pause (1 s doubling to 30 s) while errors repeat;
* tells the reader about every break (:class:`Break`: from when events may have been missed)
  and every sampled update (:class:`Update` with ``sampled``), so it can fill the gap with
  FilterLogEvents;
* hands updates over through a queue; the reader drains it on its own thread, and an update
  with events sets ``arrived`` so a controller waiting for its next tick acts at once.

Access denied (``AccessDeniedException``) or an endpoint without the operation stops the
thread for good (:attr:`TailSession.unavailable` says why): the reader then polls.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apicanary.errors import ApicanaryError, AwsApiError
from apicanary.platform.aws.errors import translate
from apicanary.platform.aws.logs.events import LogEvent, from_live_tail

MAX_SESSION_S = 3 * 3600 - 600  # reconnect 10 minutes before AWS ends the session
MAX_BACKOFF_S = 30.0
_FATAL = {"AccessDeniedException", "UnrecognizedClientException", "UnknownOperationException",
          "InvalidAction", "UnknownOperation"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Update:
    """One ``sessionUpdate``: received at ``received_at`` (wall seconds)."""

    received_at: float
    events: tuple[LogEvent, ...]
    sampled: bool


@dataclass(frozen=True, slots=True)
class Break:
    """The session stopped delivering at ``since`` (wall seconds); ``reason`` says why."""

    since: float
    reason: str


@dataclass(frozen=True, slots=True)
class Connected:
    """A session started at ``at`` (wall seconds) on these groups."""

    at: float
    groups: tuple[str, ...]


Message = Update | Break | Connected


class TailSession:
    """Live Tail on ``identifiers`` (log group ARNs or names) until :meth:`stop`."""

    def __init__(
        self,
        logs: Any,
        identifiers: list[str],
        *,
        wall: Callable[[], float] = time.time,
        max_session_s: float = MAX_SESSION_S,
        arrived: threading.Event | None = None,
    ) -> None:
        self.logs = logs
        self.identifiers = list(identifiers)
        self.wall = wall
        self.max_session_s = max_session_s
        self.messages: queue.Queue[Message] = queue.Queue()
        self.arrived = arrived  # set on every update: whoever waits for evidence wakes up
        self.unavailable: str | None = None
        self.sessions = 0
        self._stop = threading.Event()
        self._stream: Any = None
        self._connected = False
        self._thread = threading.Thread(target=self._run, name="apicanary-live-tail", daemon=True)

    def start(self) -> TailSession:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            with contextlib.suppress(Exception):  # closing a dead stream is not news
                stream.close()
        self._thread.join(timeout=5)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            started = self.wall()
            renewed = False
            self._connected = False
            try:
                renewed = self._session(started)
                reason = "session renewed before the 3-hour limit" if renewed else "stream ended"
            except ApicanaryError as error:
                if isinstance(error, AwsApiError) and error.code in _FATAL:
                    self.unavailable = f"{error.code}: {error.message}"
                    self.messages.put(Break(started, self.unavailable))
                    return
                reason = str(error)
            except Exception as exc:  # the thread must survive any SDK failure
                reason = str(translate(exc, "StartLiveTail"))
            self._stream = None
            if self._stop.is_set():
                return
            self.messages.put(Break(self.wall(), reason))
            if renewed:
                continue  # the age limit: a new session at once
            if self._connected:  # it worked for a while: errors start over at 1 s
                backoff = 1.0
            if self._stop.wait(backoff):
                return
            backoff = min(MAX_BACKOFF_S, backoff * 2)

    def _session(self, started: float) -> bool:
        """One session; True when it was ended on purpose (age limit)."""
        try:
            response = self.logs.start_live_tail(logGroupIdentifiers=self.identifiers)
        except Exception as exc:
            raise translate(exc, "StartLiveTail") from exc
        stream = response["responseStream"]
        self._stream = stream
        self.sessions += 1
        try:
            for item in stream:
                if self._stop.is_set():
                    return True
                if "sessionStart" in item:
                    self._connected = True
                    self.messages.put(Connected(self.wall(), tuple(self.identifiers)))
                elif "sessionUpdate" in item:
                    update = item["sessionUpdate"]
                    metadata = update.get("sessionMetadata") or {}
                    events = tuple(from_live_tail(r) for r in update.get("sessionResults") or [])
                    self.messages.put(Update(self.wall(), events, bool(metadata.get("sampled"))))
                    if self.arrived is not None and events:
                        self.arrived.set()
                else:  # SessionTimeoutException / SessionStreamingException as members
                    name, body = next(iter(item.items()))
                    message = body.get("message", "") if isinstance(body, dict) else ""
                    raise AwsApiError(str(name), str(message or name), 400)
                if self.wall() - started >= self.max_session_s:
                    return True
        except ApicanaryError:
            raise
        except Exception as exc:
            raise translate(exc, "StartLiveTail") from exc
        finally:
            with contextlib.suppress(Exception):
                stream.close()
        return False


__all__ = ["MAX_SESSION_S", "Break", "Connected", "Message", "TailSession", "Update"]
