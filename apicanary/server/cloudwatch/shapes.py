"""Shape-driven conversion between botocore model shapes and Python values.

Two directions, both walking a botocore ``Shape``:

* :func:`params_from_document` turns a decoded JSON or CBOR request body into the params
  dict handed to the backend: member names as in the model, ``None`` members dropped,
  numbers/booleans type-checked, **timestamps as epoch-second floats**, blobs as ``bytes``,
  required members checked (recursively).
* :func:`document_from_result` turns a backend result into the JSON or CBOR document
  botocore expects: timestamps (``datetime`` or epoch seconds) become epoch numbers (JSON)
  or tag-1 items (CBOR), non-finite doubles become ``"NaN"``/``"Infinity"`` in JSON,
  blobs are base64 in JSON. A member the shape does not define is a server bug
  (:class:`ResultShapeError`).

Bad client input raises :class:`ShapeError`, whose message names the member path.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from apicanary.server.cloudwatch.cbor import Tagged, epoch_seconds

DocumentFlavour = Literal["json", "cbor"]

_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class ShapeError(ValueError):
    """A request value does not fit its shape; ``missing`` is set for absent required members."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


class ResultShapeError(ValueError):
    """A backend result does not fit the output shape (a server-side bug)."""


def wire_name(member_name: str, member_shape: Any) -> str:
    """The member's name on the wire (its ``locationName`` if the model gives one)."""
    name: str = member_shape.serialization.get("name", member_name)
    return name


def check_required(shape: Any, params: Mapping[str, Any], path: str) -> None:
    """Raise ``ShapeError(missing=True)`` naming the first required member ``params`` lacks."""
    for member in shape.required_members:
        if params.get(member) is None:
            where = f"{path}.{member}" if path else member
            raise ShapeError(f"The parameter {where} is required.", missing=True)


# --- request documents → params ------------------------------------------------------------


def params_from_document(shape: Any, value: Any, path: str = "") -> Any:
    """``value`` (a decoded JSON/CBOR item) converted per ``shape``; see the module docstring."""
    kind = shape.type_name
    if kind == "structure":
        return _structure_params(shape, value, path)
    if kind == "list":
        if not isinstance(value, list):
            raise ShapeError(f"{path or 'body'}: expected a list, got {_describe(value)}")
        return [
            params_from_document(shape.member, item, f"{path}[{i}]") for i, item in enumerate(value)
        ]
    if kind == "map":
        if not isinstance(value, dict):
            raise ShapeError(f"{path}: expected a map, got {_describe(value)}")
        return {
            params_from_document(shape.key, key, f"{path} key"): params_from_document(
                shape.value, item, f"{path}[{key!r}]"
            )
            for key, item in value.items()
        }
    return scalar_from_document(kind, value, path)


def _structure_params(shape: Any, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(f"{path or 'body'}: expected a structure, got {_describe(value)}")
    if shape.is_document_type:
        return dict(value)
    result: dict[str, Any] = {}
    for name, member_shape in shape.members.items():
        raw = value.get(wire_name(name, member_shape))
        if raw is not None:
            where = f"{path}.{name}" if path else name
            result[name] = params_from_document(member_shape, raw, where)
    check_required(shape, result, path)
    return result


def scalar_from_document(kind: str, value: Any, path: str) -> Any:
    """A JSON/CBOR scalar converted to the Python type of shape type ``kind``."""
    if kind in ("string", "character"):
        if isinstance(value, str):
            return value
    elif kind in ("integer", "long", "short", "byte"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind in ("double", "float"):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and value in _FLOAT_WORDS:
            return _FLOAT_WORDS[value]
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
    elif kind == "timestamp":
        return timestamp_from_wire(value, path)
    elif kind == "blob":
        return _blob_from_document(value, path)
    else:
        return value
    raise ShapeError(f"{path}: expected {_ARTICLE.get(kind, 'a ' + kind)}, got {_describe(value)}")


_ARTICLE = {
    "integer": "an integer",
    "long": "an integer",
    "double": "a number",
    "float": "a number",
}


def timestamp_from_wire(value: Any, path: str) -> float:
    """A timestamp as epoch seconds from a ``datetime``, an epoch number or an ISO 8601 text."""
    if isinstance(value, datetime):
        return epoch_seconds(value)
    if isinstance(value, Tagged) and value.tag == 1:
        value = value.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value):
            return float(value)
    elif isinstance(value, str):
        return timestamp_from_text(value, path)
    raise ShapeError(f"{path}: expected a timestamp, got {_describe(value)}")


def timestamp_from_text(text: str, path: str) -> float:
    """Epoch seconds from ISO 8601 (``2024-05-01T12:00:00Z``, offsets, fractions) or a number."""
    stripped = text.strip()
    try:
        number = float(stripped)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
    try:
        return epoch_seconds(datetime.fromisoformat(stripped))
    except ValueError:
        raise ShapeError(f"{path}: {text!r} is not a valid timestamp") from None


def _blob_from_document(value: Any, path: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
    raise ShapeError(f"{path}: expected base64 bytes, got {_describe(value)}")


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- results → response documents -----------------------------------------------------------


def document_from_result(shape: Any, value: Any, flavour: DocumentFlavour, path: str = "") -> Any:
    """The JSON (``flavour="json"``) or CBOR document for backend result ``value``."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise ResultShapeError(
                f"{path or 'result'}: expected a mapping, got {_describe(value)}"
            )
        if shape.is_document_type:
            return dict(value)
        doc: dict[str, Any] = {}
        members = shape.members
        for name, item in value.items():
            if item is None:
                continue
            member_shape = members.get(name)
            if member_shape is None:
                raise ResultShapeError(f"{path or 'result'}: {shape.name} has no member {name!r}")
            doc[wire_name(name, member_shape)] = document_from_result(
                member_shape, item, flavour, f"{path}.{name}" if path else name
            )
        return doc
    if kind == "list":
        return [
            document_from_result(shape.member, item, flavour, f"{path}[{i}]")
            for i, item in enumerate(value)
        ]
    if kind == "map":
        return {
            str(key): document_from_result(shape.value, item, flavour, f"{path}[{key!r}]")
            for key, item in value.items()
        }
    if kind == "timestamp":
        seconds = result_epoch(value, path)
        number: int | float = int(seconds) if seconds.is_integer() else seconds
        return Tagged(1, number) if flavour == "cbor" else number
    if kind in ("double", "float"):
        number = float(value)
        if flavour == "json" and not math.isfinite(number):
            return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
        return number
    if kind in ("integer", "long", "short", "byte"):
        return int(value)
    if kind == "blob":
        raw = bytes(value)
        return raw if flavour == "cbor" else base64.b64encode(raw).decode("ascii")
    return value


def result_epoch(value: Any, path: str) -> float:
    """A result timestamp (``datetime``, naive = UTC, or epoch seconds) as epoch seconds."""
    if isinstance(value, datetime):
        return epoch_seconds(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ResultShapeError(f"{path}: expected a datetime or epoch seconds, got {_describe(value)}")


def iso8601(seconds: float) -> str:
    """``seconds`` as the ISO 8601 UTC text the query protocol uses (millisecond precision)."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
