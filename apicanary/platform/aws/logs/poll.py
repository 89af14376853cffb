"""FilterLogEvents: the gap filler and the reader of a rollout's past (I/O).

A fixed time-window cursor loses events ingested late (they land behind it). So every read
restarts from a time at or before the newest event already seen, minus the measured delay,
and duplicates are dropped by the caller (by event key, then by request id). Pages may be
empty while ``nextToken`` continues; they are followed to the end. A log group that does not
exist (yet: Lambda creates it on the first invocation, API Gateway on the first canary
request) reads as empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from apicanary.errors import AwsApiError
from apicanary.platform.aws.errors import aws_call
from apicanary.platform.aws.logs.events import LogEvent, from_filter

MAX_PAGES = 1000  # 10,000 events a page: far more than one read should ever need


def filter_events(
    logs: Any, group: str, start_ms: int, end_ms: int | None = None
) -> Iterator[LogEvent]:
    """Every event of ``group`` with ``start_ms <= timestamp`` (``< end_ms``), oldest first."""
    token: str | None = None
    for _ in range(MAX_PAGES):
        try:
            page = aws_call(
                logs,
                "filter_log_events",
                logGroupName=group,
                startTime=max(0, int(start_ms)),
                endTime=None if end_ms is None else int(end_ms),
                nextToken=token,
            )
        except AwsApiError as error:
            if error.code == "ResourceNotFoundException":
                return
            raise
        for event in page.get("events") or []:
            yield from_filter(group, event)
        next_token = page.get("nextToken")
        if not next_token or next_token == token:
            return
        token = next_token


def group_arns(logs: Any, groups: list[str]) -> dict[str, str]:
    """``{name: arn}`` of the groups that exist (Live Tail wants ARNs without ``:*``)."""
    found: dict[str, str] = {}
    for group in groups:
        page = aws_call(logs, "describe_log_groups", logGroupNamePrefix=group)
        for item in page.get("logGroups") or []:
            if item.get("logGroupName") != group:
                continue
            arn = str(item.get("logGroupArn") or item.get("arn") or "")
            found[group] = arn[:-2] if arn.endswith(":*") else (arn or group)
    return found


__all__ = ["MAX_PAGES", "filter_events", "group_arns"]
