"""A rollout's durable record on AWS itself: log group ``/apicanary/rollouts`` (I/O).

The alias marker (``platform/marker.py``) says who shifts an alias and until when, in 256
characters; it cannot hold a strategy, and stage mode writes none. So every state change of a
rollout driven by ``--backend aws`` is also written, as one JSON event, to a log stream of its
own in :data:`GROUP`; any machine with ``logs:GetLogEvents`` reads the newest one back and
can drive the rollout on (``apicanary rollout resume --backend aws``).

* stream: ``alias/<function>/<alias>/<created ms>-<rollout id>`` or
  ``stage/<api id>/<stage>/<created ms>-<rollout id>`` (a prefix per target; the creation
  time makes the newest rollout of a target the largest name);
* event: ``{"v": 1, "document": <the rollout document>}`` without the parts a resumed
  controller rebuilds from the logs themselves (``analysis``, ``progress``, ``cursor``), so an
  event stays a few KB (CloudWatch Logs takes up to 256 KB).

Writes create the group and the stream when missing (``ResourceAlreadyExistsException`` is
success) and are absolute: the newest event is the state. Reads return ``None`` when there is
no record (no group, no stream).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apicanary.errors import AwsApiError
from apicanary.platform.aws.errors import aws_call

GROUP = "/apicanary/rollouts"
FORMAT_VERSION = 1
REBUILT = ("analysis", "progress", "cursor")


@dataclass(frozen=True, slots=True)
class RecordedRollout:
    """The newest recorded state of one rollout."""

    stream: str
    document: dict[str, Any]
    recorded_at_ms: int


def target_prefix(target: Mapping[str, Any]) -> str:
    """The stream-name prefix of a rollout target (its ``target`` document)."""
    if target.get("mode", "alias") == "alias":
        return f"alias/{target['function']}/{target['alias']}/"
    return f"stage/{target['apiId']}/{target['stage']}/"


def stream_name(document: Mapping[str, Any]) -> str:
    created_ms = int(float(document.get("createdAt") or 0.0) * 1000)
    return f"{target_prefix(document['target'])}{created_ms:013d}-{document['id']}"


def recorded_part(document: Mapping[str, Any]) -> dict[str, Any]:
    """What is written: the document without what the logs rebuild."""
    return {k: v for k, v in document.items() if k not in REBUILT and k != "view"}


class RolloutLog:
    """Write and read rollout records with a boto3 ``logs`` client."""

    def __init__(self, logs: Any, group: str = GROUP) -> None:
        self.logs = logs
        self.group = group
        self._streams: set[str] = set()

    def write(self, document: Mapping[str, Any], at_ms: int) -> None:
        """Append the rollout's state (creating its group and stream when needed)."""
        stream = stream_name(document)
        message = json.dumps({"v": FORMAT_VERSION, "document": recorded_part(document)})
        event = {"timestamp": int(at_ms), "message": message}
        try:
            if stream not in self._streams:
                self._ensure(stream)
            aws_call(
                self.logs, "put_log_events", logGroupName=self.group, logStreamName=stream,
                logEvents=[event],
            )  # fmt: skip
        except AwsApiError as error:
            if error.code != "ResourceNotFoundException":
                raise
            self._streams.discard(stream)  # deleted behind our back: create and write again
            self._ensure(stream)
            aws_call(
                self.logs, "put_log_events", logGroupName=self.group, logStreamName=stream,
                logEvents=[event],
            )  # fmt: skip

    def _ensure(self, stream: str) -> None:
        for operation, params in (
            ("create_log_group", {"logGroupName": self.group}),
            ("create_log_stream", {"logGroupName": self.group, "logStreamName": stream}),
        ):
            try:
                aws_call(self.logs, operation, **params)
            except AwsApiError as error:
                if error.code != "ResourceAlreadyExistsException":
                    raise
        self._streams.add(stream)

    def streams(self, prefix: str) -> list[str]:
        """The record streams under ``prefix``, oldest first; [] without the group."""
        names: list[str] = []
        token: str | None = None
        while True:
            try:
                page = aws_call(
                    self.logs, "describe_log_streams", logGroupName=self.group,
                    logStreamNamePrefix=prefix, nextToken=token,
                )  # fmt: skip
            except AwsApiError as error:
                if error.code == "ResourceNotFoundException":
                    return []
                raise
            names.extend(str(s["logStreamName"]) for s in page.get("logStreams") or [])
            token = page.get("nextToken")
            if not token:
                return sorted(names)

    def read(self, stream: str) -> RecordedRollout | None:
        """The newest state recorded in ``stream``."""
        newest: tuple[int, dict[str, Any]] | None = None
        token: str | None = None
        while True:
            try:
                page = aws_call(
                    self.logs, "get_log_events", logGroupName=self.group, logStreamName=stream,
                    startFromHead=True, nextToken=token,
                )  # fmt: skip
            except AwsApiError as error:
                if error.code == "ResourceNotFoundException":
                    return None
                raise
            for event in page.get("events") or []:
                try:
                    body = json.loads(event.get("message") or "")
                except ValueError:
                    continue
                if isinstance(body, dict) and isinstance(body.get("document"), dict):
                    at = int(event.get("timestamp") or 0)
                    if newest is None or at >= newest[0]:
                        newest = (at, body["document"])
            forward = page.get("nextForwardToken")
            if not page.get("events") or not forward or forward == token:
                break
            token = forward
        return None if newest is None else RecordedRollout(stream, newest[1], newest[0])

    def latest(self, prefix: str, rollout_id: str | None = None) -> RecordedRollout | None:
        """The newest rollout recorded under ``prefix`` (or the one with ``rollout_id``)."""
        names = self.streams(prefix)
        if rollout_id is not None:
            names = [n for n in names if n.endswith(f"-{rollout_id}")]
        for name in reversed(names):
            found = self.read(name)
            if found is not None:
                return found
        return None


__all__ = [
    "GROUP",
    "RecordedRollout",
    "RolloutLog",
    "recorded_part",
    "stream_name",
    "target_prefix",
]
