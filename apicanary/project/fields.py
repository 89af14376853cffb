"""Typed readers for resolved template values, with the property path in every error.

Each reader takes an already-resolved value and the dotted path it came from
(``Resources.HelloFunction.Properties.Timeout``) and either returns the value as the
requested Python type or raises :class:`~apicanary.errors.TemplateError` worded as
``<path>: <value> <problem>: <what is allowed>``.

CloudFormation is lenient about scalar types (a ``Ref`` to a ``Number`` parameter yields a
string; ``"30"`` is a fine Timeout), so the readers accept the string forms CloudFormation
accepts and nothing looser: integers must be integral, booleans are ``true``/``false``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from apicanary.errors import TemplateError


def child(path: str, key: str | int) -> str:
    """``child("A.B", "C") == "A.B.C"``; ``child("A", 0) == "A[0]"``; ``child("", "C") == "C"``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def show(value: Any) -> str:
    """A short, unambiguous rendering of a template value for error messages."""
    try:
        text = json.dumps(value, default=str, sort_keys=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def fail(path: str, problem: str) -> TemplateError:
    """The one error shape of the loader: ``<path>: <problem>``."""
    return TemplateError(f"{path}: {problem}")


def as_str(value: Any, path: str, *, pattern: str | None = None, allowed: str = "") -> str:
    """A string (numbers are accepted and formatted as CloudFormation does)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise fail(path, f"{show(value)} is not a string")
    text = value if isinstance(value, str) else _number_text(value)
    if pattern is not None and not re.fullmatch(pattern, text):
        raise fail(path, f"{show(text)} is not valid: {allowed or 'must match ' + pattern}")
    return text


def as_text_value(value: Any, path: str) -> str:
    """A scalar stringified the CloudFormation way (``true``/``false`` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return as_str(value, path)


def as_int(value: Any, path: str, *, low: int, high: int | None = None, unit: str = "") -> int:
    """An integer within ``low..high`` (``high=None``: no upper bound)."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        number = int(value.strip())
    if number is None:
        raise fail(path, f"{show(value)} is not an integer")
    if number < low or (high is not None and number > high):
        limit = f"{low}..{high}" if high is not None else f">= {low}"
        suffix = f" {unit}" if unit else ""
        raise fail(path, f"{number} is out of range: must be {limit}{suffix}")
    return number


def as_float(
    value: Any, path: str, *, low: float | None = None, high: float | None = None
) -> float:
    """A number (int, float or numeric string) within the optional bounds."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or number != number:  # NaN is not a template number
        raise fail(path, f"{show(value)} is not a number")
    if (low is not None and number < low) or (high is not None and number > high):
        raise fail(path, f"{_number_text(number)} is out of range: must be {low}..{high}")
    return number


def as_bool(value: Any, path: str) -> bool:
    """``true``/``false`` (YAML booleans or the strings CloudFormation accepts)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise fail(path, f"{show(value)} is not a boolean: must be true or false")


def as_mapping(value: Any, path: str) -> Mapping[str, Any]:
    """A mapping with string keys."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise fail(path, f"{show(value)} is not a mapping")
    return value


def as_list(value: Any, path: str) -> list[Any]:
    """A list."""
    if not isinstance(value, list):
        raise fail(path, f"{show(value)} is not a list")
    return value


def as_str_map(
    value: Any,
    path: str,
    *,
    key_pattern: str | None = None,
    key_allowed: str = "",
    value_pattern: str | None = None,
    value_allowed: str = "",
) -> dict[str, str]:
    """A ``{str: scalar}`` mapping with every value stringified, keys/values validated."""
    result: dict[str, str] = {}
    for key, item in as_mapping(value, path).items():
        item_path = child(path, key)
        if key_pattern is not None and not re.fullmatch(key_pattern, key):
            raise fail(item_path, f"name {show(key)} is not valid: {key_allowed}")
        text = as_text_value(item, item_path)
        if value_pattern is not None and not re.fullmatch(value_pattern, text):
            raise fail(item_path, f"{show(text)} is not valid: {value_allowed}")
        result[key] = text
    return result


def as_str_list(value: Any, path: str) -> list[str]:
    """A list of strings."""
    return [as_str(item, child(path, i)) for i, item in enumerate(as_list(value, path))]


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
