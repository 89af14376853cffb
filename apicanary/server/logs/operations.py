"""The CloudWatch Logs operations over the engine's :class:`LogStore` (request dict in,
response dict out; errors are :class:`AwsApiError` with CloudWatch Logs' codes).

Served: CreateLogGroup, DeleteLogGroup, DescribeLogGroups, PutRetentionPolicy,
DeleteRetentionPolicy, CreateLogStream, DescribeLogStreams, PutLogEvents, GetLogEvents,
FilterLogEvents; StartLiveTail is checked here (:meth:`LogsOperations.live_tail_scope`) and
streamed by :mod:`apicanary.server.logs.api`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

from apicanary.engine.logs import model, reads
from apicanary.engine.logs.filter import FilterPatternError, Predicate, compile_pattern
from apicanary.engine.logs.model import group_arn, invalid
from apicanary.engine.logs.store import Group, LogStore, Stream
from apicanary.engine.logs.tail import MAX_GROUPS, MAX_STREAMS, TailScope
from apicanary.server.logs import params as p

Operation = Callable[[dict[str, Any]], dict[str, Any] | None]


def compile_filter(pattern: str | None) -> Predicate:
    try:
        return compile_pattern(pattern)
    except FilterPatternError as exc:
        raise invalid(str(exc)) from None


class LogsOperations:
    """One method per operation; see the module docstring."""

    def __init__(self, store: LogStore, *, region: str, account_id: str) -> None:
        self.store = store
        self.region = region
        self.account_id = account_id
        self.operations: dict[str, Operation] = {
            "CreateLogGroup": self.create_log_group,
            "DeleteLogGroup": self.delete_log_group,
            "DescribeLogGroups": self.describe_log_groups,
            "PutRetentionPolicy": self.put_retention_policy,
            "DeleteRetentionPolicy": self.delete_retention_policy,
            "CreateLogStream": self.create_log_stream,
            "DescribeLogStreams": self.describe_log_streams,
            "PutLogEvents": self.put_log_events,
            "GetLogEvents": self.get_log_events,
            "FilterLogEvents": self.filter_log_events,
        }

    # --- groups ----------------------------------------------------------------------------

    def create_log_group(self, params: dict[str, Any]) -> None:
        name = p.string(params, "logGroupName", required=True)
        assert name is not None
        _check_group_name(name)
        self.store.create_group(name)

    def delete_log_group(self, params: dict[str, Any]) -> None:
        name = p.string(params, "logGroupName", required=True)
        assert name is not None
        self.store.delete_group(name)

    def put_retention_policy(self, params: dict[str, Any]) -> None:
        name = p.string(params, "logGroupName", required=True)
        days = p.integer(params, "retentionInDays")
        if days is None:
            raise invalid("retentionInDays is required")
        self.store.set_retention(str(name), days)

    def delete_retention_policy(self, params: dict[str, Any]) -> None:
        name = p.string(params, "logGroupName", required=True)
        self.store.set_retention(str(name), None)

    def describe_log_groups(self, params: dict[str, Any]) -> dict[str, Any]:
        prefix = p.string(params, "logGroupNamePrefix")
        pattern = p.string(params, "logGroupNamePattern")
        if prefix is not None and pattern is not None:
            raise invalid(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
            )
        limit = p.integer(params, "limit", low=1, high=50) or 50
        groups = [
            g
            for g in self.store.groups()
            if (prefix is None or g.name.startswith(prefix))
            and (pattern is None or pattern in g.name)
        ]
        first, stop, token = reads.offset_page(len(groups), p.string(params, "nextToken"), limit)
        result: dict[str, Any] = {"logGroups": [self._group(g) for g in groups[first:stop]]}
        if token is not None:
            result["nextToken"] = token
        return result

    def _group(self, group: Group) -> dict[str, Any]:
        rendered: dict[str, Any] = {
            "logGroupName": group.name,
            "creationTime": group.creation_time,
            "metricFilterCount": 0,
            "arn": group_arn(group.name, self.region, self.account_id, star=True),
            "storedBytes": group.stored_bytes,
            "logGroupClass": "STANDARD",
            "logGroupArn": group_arn(group.name, self.region, self.account_id),
        }
        if group.retention_days is not None:
            rendered["retentionInDays"] = group.retention_days
        return rendered

    # --- streams ---------------------------------------------------------------------------

    def create_log_stream(self, params: dict[str, Any]) -> None:
        group = p.string(params, "logGroupName", required=True)
        stream = p.string(params, "logStreamName", required=True)
        assert group is not None and stream is not None
        if ":" in stream or "*" in stream or len(stream) > 512:
            raise invalid(f"Invalid log stream name {stream!r}: ':' and '*' are not allowed")
        self.store.create_stream(group, stream)

    def describe_log_streams(self, params: dict[str, Any]) -> dict[str, Any]:
        group_name = p.group_of(params)
        prefix = p.string(params, "logStreamNamePrefix")
        order = p.string(params, "orderBy") or "LogStreamName"
        if order not in ("LogStreamName", "LastEventTime"):
            raise invalid(f"orderBy {order!r} must be LogStreamName or LastEventTime")
        if order == "LastEventTime" and prefix is not None:
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        descending = bool(p.boolean(params, "descending"))
        limit = p.integer(params, "limit", low=1, high=50) or 50
        with self.store.lock:
            group = self.store.group(str(group_name))
            streams = [
                s for s in group.streams.values() if prefix is None or s.name.startswith(prefix)
            ]
            if order == "LogStreamName":
                streams.sort(key=lambda s: s.name, reverse=descending)
            else:
                streams.sort(key=lambda s: (s.last_timestamp or 0, s.name), reverse=descending)
            token_in = p.string(params, "nextToken")
            first, stop, token = reads.offset_page(len(streams), token_in, limit)
            shown = [self._stream(group.name, s) for s in streams[first:stop]]
        result: dict[str, Any] = {"logStreams": shown}
        if token is not None:
            result["nextToken"] = token
        return result

    def _stream(self, group: str, stream: Stream) -> dict[str, Any]:
        rendered: dict[str, Any] = {
            "logStreamName": stream.name,
            "creationTime": stream.creation_time,
            "arn": f"{group_arn(group, self.region, self.account_id)}:log-stream:{stream.name}",
            "storedBytes": stream.stored_bytes,
        }
        if stream.first_timestamp is not None:
            rendered["firstEventTimestamp"] = stream.first_timestamp
            rendered["lastEventTimestamp"] = stream.last_timestamp
            rendered["lastIngestionTime"] = stream.last_ingestion
        return rendered

    # --- events ----------------------------------------------------------------------------

    def put_log_events(self, params: dict[str, Any]) -> dict[str, Any]:
        group = p.string(params, "logGroupName", required=True)
        stream = p.string(params, "logStreamName", required=True)
        raw = params.get("logEvents")
        if not isinstance(raw, list) or not raw:
            raise invalid("logEvents must hold between 1 and 10000 events")
        if len(raw) > model.MAX_BATCH_EVENTS:
            raise invalid(
                f"logEvents holds {len(raw)} events; the limit is {model.MAX_BATCH_EVENTS}"
            )
        events: list[tuple[int, str]] = []
        size = 0
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                raise invalid(f"logEvents[{index}] must be an object")
            timestamp = p.integer(item, "timestamp")
            message = p.string(item, "message", required=True)
            if timestamp is None or message is None:
                raise invalid(f"logEvents[{index}] needs timestamp and message")
            if len(message.encode()) > model.MAX_EVENT_BYTES:
                raise invalid(
                    f"logEvents[{index}].message is {len(message.encode())} bytes; "
                    f"the limit is {model.MAX_EVENT_BYTES}"
                )
            size += len(message.encode()) + model.EVENT_OVERHEAD
            events.append((timestamp, message))
        if size > model.MAX_BATCH_BYTES:
            raise invalid(f"the batch is {size} bytes; the limit is {model.MAX_BATCH_BYTES}")
        if any(b[0] < a[0] for a, b in itertools.pairwise(events)):
            raise invalid(
                "Log events in a single PutLogEvents request must be in chronological order."
            )
        if events[-1][0] - events[0][0] > 24 * 3_600_000:
            raise invalid(
                "The batch of log events in a single PutLogEvents request cannot span more "
                "than 24 hours."
            )
        now = self.store.now_ms()
        too_old = sum(1 for t, _ in events if t < now - model.TOO_OLD_MS)
        too_new = next((i for i, (t, _) in enumerate(events) if t > now + model.TOO_NEW_MS), None)
        accepted = events[too_old : too_new if too_new is not None else len(events)]
        self.store.append(str(group), str(stream), accepted, create=False)
        result: dict[str, Any] = {"nextSequenceToken": f"{self.store.last_seq:056d}"}
        rejected: dict[str, int] = {}
        if too_old:
            rejected["tooOldLogEventEndIndex"] = too_old
        if too_new is not None:
            rejected["tooNewLogEventStartIndex"] = too_new
        if rejected:
            result["rejectedLogEventsInfo"] = rejected
        return result

    def get_log_events(self, params: dict[str, Any]) -> dict[str, Any]:
        group = p.group_of(params)
        stream_name = p.string(params, "logStreamName", required=True)
        with self.store.lock:
            events = list(self.store.stream(str(group), str(stream_name)).events)
        page = reads.stream_page(
            events,
            now_ms=self.store.now_ms(),
            start=p.integer(params, "startTime", low=0),
            end=p.integer(params, "endTime", low=0),
            token=p.string(params, "nextToken"),
            limit=p.integer(params, "limit"),
            start_from_head=bool(p.boolean(params, "startFromHead")),
        )
        return {
            "events": [
                {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}
                for e in page.events
            ],
            "nextForwardToken": page.forward_token,
            "nextBackwardToken": page.backward_token,
        }

    def filter_log_events(self, params: dict[str, Any]) -> dict[str, Any]:
        group = str(p.group_of(params))
        names = p.strings(params, "logStreamNames", most=100)
        prefix = p.string(params, "logStreamNamePrefix")
        if names is not None and prefix is not None:
            raise invalid(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters."
            )
        matches = compile_filter(p.string(params, "filterPattern"))
        p.boolean(params, "interleaved")  # deprecated: results are always interleaved
        p.boolean(params, "unmask")
        with self.store.lock:
            chosen = names
            if prefix is not None:
                chosen = [s for s in self.store.group(group).streams if s.startswith(prefix)]
            events = self.store.snapshot(group, chosen)
        page = reads.filter_page(
            events,
            now_ms=self.store.now_ms(),
            start=p.integer(params, "startTime", low=0),
            end=p.integer(params, "endTime", low=0),
            matches=matches,
            token=p.string(params, "nextToken"),
            limit=p.integer(params, "limit"),
        )
        result: dict[str, Any] = {
            "events": [
                {
                    "logStreamName": e.stream,
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.ingestion_time,
                    "eventId": e.event_id,
                }
                for e in page.events
            ],
            "searchedLogStreams": [],
        }
        if page.next_token is not None:
            result["nextToken"] = page.next_token
        return result

    # --- Live Tail -------------------------------------------------------------------------

    def live_tail_scope(self, params: dict[str, Any]) -> TailScope:
        """A StartLiveTail request, checked; the groups must exist."""
        identifiers = p.strings(params, "logGroupIdentifiers", most=MAX_GROUPS)
        if identifiers is None:
            raise invalid("logGroupIdentifiers is required (1 to 10 log group ARNs or names)")
        for identifier in identifiers:
            if identifier.endswith("*"):
                raise invalid(
                    f"logGroupIdentifier {identifier} ends with '*': use the ARN without ':*' "
                    "(DescribeLogGroups' logGroupArn) or the name"
                )
        groups = tuple(model.group_name_of(i) for i in identifiers)
        names = p.strings(params, "logStreamNames", most=MAX_STREAMS)
        prefixes = p.strings(params, "logStreamNamePrefixes", most=MAX_STREAMS)
        if names is not None and prefixes is not None:
            raise invalid(
                "logStreamNames and logStreamNamePrefixes are mutually exclusive parameters."
            )
        if (names or prefixes) and len(groups) != 1:
            raise invalid("logStreamNames and logStreamNamePrefixes need exactly one log group.")
        pattern = p.string(params, "logEventFilterPattern")
        for name in groups:
            self.store.group(name)  # ResourceNotFoundException
        return TailScope(
            groups=groups,
            identifiers=tuple(identifiers),
            stream_names=tuple(names or ()),
            stream_prefixes=tuple(prefixes or ()),
            matches=compile_filter(pattern) if pattern else None,
            pattern=pattern or "",
        )


def _check_group_name(name: str) -> None:
    if len(name) > 512 or not re.fullmatch(r"[\.\-_/#A-Za-z0-9]+", name):
        raise invalid(
            f"1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy "
            r"constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+"
        )
