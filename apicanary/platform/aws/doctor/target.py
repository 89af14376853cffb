"""What the AWS doctor checks, and how its checks turn a failed call into a finding."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apicanary.errors import ApicanaryError
from apicanary.project.findings import Finding

#: ``session.client`` with the endpoint and retry config bound (or a dict lookup in tests)
ClientFactory = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class DoctorTarget:
    """What the rollout will touch."""

    function: str
    alias: str
    api_id: str | None = None
    stage: str | None = None
    alarms: tuple[str, ...] = ()


def failed(check: str, error: ApicanaryError) -> Finding:
    """The ``error`` finding of a ``check`` whose call failed with ``error``."""
    return Finding("error", check, str(error), error.hint or "")


def region_of(client: Any) -> str:
    """The region a boto3 client is bound to (``*`` when it cannot tell)."""
    return str(getattr(getattr(client, "meta", None), "region_name", None) or "*")
