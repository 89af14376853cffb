"""Values for synthetic requests, drawn from an OpenAPI parameter or schema: never one constant.

:func:`parameter_value` answers a path, query or header parameter's value as text:

* ``$ref`` is followed inside the document (``#/components/...``, ``#/definitions/...``);
* ``enum``: one of its values (nothing else would be valid input);
* the examples the definition gives (``example``, ``examples``, Swagger's ``x-example``, the
  schema's ``example``, ``examples`` and ``default``) are drawn a quarter of the time,
  generated values the rest, so a handler meets both the documented and the unexpected;
* otherwise by ``type`` and ``format``: integers spread over three orders of magnitude (within
  ``minimum``/``maximum``), numbers likewise with decimals, booleans, ``uuid``, ``date``,
  ``date-time`` and ``email`` strings, and short strings of letters, digits and ``-``
  (within ``minLength``/``maxLength``);
* with no schema at all: a spread of integers and short strings, half each.

:func:`json_value` builds a JSON request body from a schema the same way (objects get their
required properties and, half of the time, each optional one; arrays one to three items).
Everything is drawn from the caller's seeded ``random.Random``.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from random import Random
from typing import Any

#: How often a documented example is drawn instead of a generated value.
EXAMPLE_SHARE = 0.25
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
_MAX_DEPTH = 4
_EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


def resolve(node: Any, document: Mapping[str, Any]) -> Any:
    """``node`` with a local ``$ref`` followed (a few hops at most; unknown refs give {})."""
    for _ in range(8):
        if not isinstance(node, Mapping) or not isinstance(node.get("$ref"), str):
            return node
        ref: str = node["$ref"]
        if not ref.startswith("#/"):
            return {}
        target: Any = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, Mapping) else None
        node = target if target is not None else {}
    return node


def parameter_value(parameter: Mapping[str, Any], document: Mapping[str, Any], rng: Random) -> str:
    """A value for one OpenAPI parameter object (OpenAPI 3 ``schema`` or Swagger 2 inline)."""
    parameter = resolve(parameter, document)
    schema = resolve(parameter.get("schema", parameter), document)
    if not isinstance(schema, Mapping):
        schema = {}
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return _text(rng.choice(enum))
    examples = _examples(parameter) + _examples(schema)
    if examples and rng.random() < EXAMPLE_SHARE:
        return _text(rng.choice(examples))
    if not schema.get("type"):
        return varied(rng)
    return _text(_scalar(schema, rng))


def varied(rng: Random) -> str:
    """A value for a parameter nothing is known about: an integer or a short string."""
    if rng.random() < 0.5:
        return str(_integer({}, rng))
    return _string({}, rng)


def json_value(schema: Any, document: Mapping[str, Any], rng: Random, depth: int = 0) -> Any:
    """A JSON value matching ``schema`` as far as its types, enums and bounds go."""
    schema = resolve(schema, document)
    if not isinstance(schema, Mapping):
        return {}
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return rng.choice(enum)
    examples = _examples(schema)
    if examples and rng.random() < EXAMPLE_SHARE:
        return rng.choice(examples)
    for combinator in ("oneOf", "anyOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            return json_value(rng.choice(options), document, rng, depth)
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if kind == "object":
        if depth >= _MAX_DEPTH:
            return {}
        required = set(schema.get("required") or ())
        properties = schema.get("properties") or {}
        return {
            name: json_value(sub, document, rng, depth + 1)
            for name, sub in properties.items()
            if name in required or rng.random() < 0.5
        }
    if kind == "array":
        if depth >= _MAX_DEPTH:
            return []
        items = schema.get("items", {})
        return [json_value(items, document, rng, depth + 1) for _ in range(rng.randint(1, 3))]
    if kind is None:
        return varied(rng)
    return _scalar(schema, rng)


def _examples(node: Mapping[str, Any]) -> list[Any]:
    found: list[Any] = []
    for key in ("example", "x-example", "default"):
        if key in node and node[key] is not None:
            found.append(node[key])
    examples = node.get("examples")
    if isinstance(examples, list):
        found.extend(examples)
    elif isinstance(examples, Mapping):  # OpenAPI 3: name -> {value: ...}
        found.extend(
            e["value"] for e in examples.values() if isinstance(e, Mapping) and "value" in e
        )
    return found


def _scalar(schema: Mapping[str, Any], rng: Random) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return _integer(schema, rng)
    if kind == "number":
        return round(_integer(schema, rng) + rng.random(), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    return _string(schema, rng)


def _integer(schema: Mapping[str, Any], rng: Random) -> int:
    low = _bound(schema.get("minimum"), -(10**6))
    high = _bound(schema.get("maximum"), 10**6)
    if low > high:
        low, high = high, low
    magnitude = rng.choice((9, 999, 10**6))  # one digit, a few digits, large
    start = max(low, 0 if low <= 0 <= high else low)
    return rng.randint(start, max(start, min(high, start + magnitude)))


def _bound(value: Any, default: int) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return default


def _string(schema: Mapping[str, Any], rng: Random) -> str:
    form = schema.get("format")
    if form == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if form in ("date", "date-time"):
        moment = _EPOCH + datetime.timedelta(seconds=rng.randint(0, 10 * 365 * 86400))
        return moment.date().isoformat() if form == "date" else moment.isoformat()
    if form == "email":
        return f"{_letters(rng, rng.randint(3, 8)).lower()}@example.com"
    shortest = max(1, _bound(schema.get("minLength"), 1))
    longest = max(shortest, min(_bound(schema.get("maxLength"), 8), shortest + 12))
    return _letters(rng, rng.randint(shortest, longest))


def _letters(rng: Random, length: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(length))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
