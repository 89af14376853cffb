"""The values of the log store: one event, the limits, AWS's errors and ARNs."""

from __future__ import annotations

from typing import NamedTuple

from apicanary.errors import AwsApiError

RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
"""The values ``PutRetentionPolicy`` accepts (botocore's ``Days`` documentation)."""

MAX_EVENT_BYTES = 1_048_550  # PutLogEvents: 1 MB minus the 26 bytes of per-event overhead
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
TOO_OLD_MS = 14 * 86_400_000  # PutLogEvents refuses events older than 14 days ...
TOO_NEW_MS = 2 * 3_600_000  # ... or more than 2 hours in the future


class LogEvent(NamedTuple):
    """One stored event (a named tuple: thousands are made per second, in the housekeeping).
    ``seq`` orders every event of the store by arrival; times in ms.

    ``ingestion_time`` is when the event becomes visible to readers (arrival + the
    configured ingestion delay), as CloudWatch reports it.
    """

    seq: int
    group: str
    stream: str
    timestamp: int
    ingestion_time: int
    message: str

    @property
    def event_id(self) -> str:
        """A unique id, 56 digits like CloudWatch's, increasing with arrival."""
        return f"{self.seq:056d}"


def group_arn(name: str, region: str, account: str, *, star: bool = False) -> str:
    """``arn:aws:logs:<region>:<account>:log-group:<name>`` (``:*`` appended when ``star``)."""
    return f"arn:aws:logs:{region}:{account}:log-group:{name}" + (":*" if star else "")


def group_name_of(identifier: str) -> str:
    """A log group name from a name or an ARN (``...:log-group:<name>[:*]``)."""
    if identifier.startswith("arn:"):
        marker = ":log-group:"
        at = identifier.find(marker)
        if at < 0:
            raise invalid(f"{identifier} is not a log group ARN")
        name = identifier[at + len(marker) :]
        return name[:-2] if name.endswith(":*") else name
    return identifier


def invalid(message: str) -> AwsApiError:
    return AwsApiError("InvalidParameterException", message, 400)


def group_not_found() -> AwsApiError:
    return AwsApiError("ResourceNotFoundException", "The specified log group does not exist.", 400)


def stream_not_found() -> AwsApiError:
    return AwsApiError("ResourceNotFoundException", "The specified log stream does not exist.", 400)


def group_exists() -> AwsApiError:
    return AwsApiError(
        "ResourceAlreadyExistsException", "The specified log group already exists", 400
    )


def stream_exists() -> AwsApiError:
    return AwsApiError(
        "ResourceAlreadyExistsException", "The specified log stream already exists", 400
    )
