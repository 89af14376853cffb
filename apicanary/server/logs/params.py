"""Reading a CloudWatch Logs request's members, checked: a wrong type or range is AWS's
``InvalidParameterException`` naming the member, the value and the constraint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apicanary.engine.logs.model import group_name_of, invalid
from apicanary.errors import AwsApiError


def _bad(name: str, value: Any, constraint: str) -> AwsApiError:
    shown = str(value)[:200]
    return invalid(
        f"1 validation error detected: Value '{shown}' at '{name}' failed to satisfy "
        f"constraint: {constraint}"
    )


def string(params: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise _bad(name, None, "Member must not be null")
        return None
    if not isinstance(value, str):
        raise _bad(name, value, "Member must be a string")
    if not value and required:
        raise _bad(name, value, "Member must have length greater than or equal to 1")
    return value


def integer(
    params: Mapping[str, Any], name: str, *, low: int | None = None, high: int | None = None
) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(name, value, "Member must be an integer")
    if low is not None and value < low:
        raise _bad(name, value, f"Member must have value greater than or equal to {low}")
    if high is not None and value > high:
        raise _bad(name, value, f"Member must have value less than or equal to {high}")
    return value


def boolean(params: Mapping[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _bad(name, value, "Member must be a boolean")
    return value


def strings(params: Mapping[str, Any], name: str, *, most: int) -> list[str] | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(name, value, "Member must be a list of non-empty strings")
    if not 1 <= len(value) <= most:
        raise _bad(name, value, f"Member must have length between 1 and {most}")
    return value


def group_of(params: Mapping[str, Any], *, required: bool = True) -> str | None:
    """The group a request names by ``logGroupName`` or ``logGroupIdentifier`` (not both)."""
    name = string(params, "logGroupName")
    identifier = string(params, "logGroupIdentifier")
    if name is not None and identifier is not None:
        raise invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if name is None and identifier is None:
        if required:
            raise invalid("Either logGroupName or logGroupIdentifier must be specified.")
        return None
    return name if name is not None else group_name_of(str(identifier))
