"""The AWS ``query`` protocol for CloudWatch: form-encoded requests in, XML responses out.

Requests: ``Action=PutMetricData&Version=2010-08-01&Namespace=app&MetricData.member.1.
MetricName=Errors&MetricData.member.1.Dimensions.member.1.Name=FunctionName...`` — lists are
``<Name>.member.<i>`` (1-based; ``<Name>=`` alone is an empty list), maps
``<Name>.entry.<i>.key`` / ``.value``, booleans ``true``/``false``, timestamps ISO 8601 (or
epoch seconds). :func:`params_from_form` returns the same params dict the JSON/CBOR paths
produce (timestamps as epoch-second floats).

Responses: ``<OpResponse xmlns=…><OpResult>members in model order</OpResult>
<ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></OpResponse>``; errors
``<ErrorResponse xmlns=…><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>
<RequestId>…</RequestId></ErrorResponse>``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from apicanary.server.cloudwatch.model import XML_NAMESPACE
from apicanary.server.cloudwatch.shapes import (
    ResultShapeError,
    ShapeError,
    check_required,
    iso8601,
    result_epoch,
    timestamp_from_text,
    wire_name,
)

# --- form → params ------------------------------------------------------------------------


@dataclass
class FormNode:
    """One dotted-key segment of a form: its own value (if the key itself was sent) and the
    segments below it."""

    value: str | None = None
    children: dict[str, FormNode] = field(default_factory=dict)


def parse_form(body: bytes) -> dict[str, str]:
    """The form fields of ``body`` (``application/x-www-form-urlencoded``, UTF-8)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ShapeError(f"form body is not UTF-8: {exc}") from exc
    return dict(parse_qsl(text, keep_blank_values=True))


def form_tree(fields: Mapping[str, str]) -> FormNode:
    """The fields arranged as a tree on their ``.``-separated key segments."""
    root = FormNode()
    for key, value in fields.items():
        node = root
        for segment in key.split("."):
            node = node.children.setdefault(segment, FormNode())
        node.value = value
    return root


def params_from_form(shape: Any, fields: Mapping[str, str]) -> dict[str, Any]:
    """The params for input ``shape`` from form ``fields`` (``Action``/``Version`` ignored)."""
    if shape is None:
        return {}
    result: dict[str, Any] = _structure(shape, form_tree(fields), "")
    return result


def _convert(shape: Any, node: FormNode, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, node, path)
    if kind == "list":
        return _list(shape, node, path)
    if kind == "map":
        return _map(shape, node, path)
    if node.value is None:
        raise ShapeError(f"{path}: expected a value, got nested parameters")
    return _scalar(kind, node.value, path)


def _structure(shape: Any, node: FormNode, path: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, member_shape in shape.members.items():
        child = node.children.get(_query_name(name, member_shape))
        if child is not None:
            result[name] = _convert(member_shape, child, f"{path}.{name}" if path else name)
    check_required(shape, result, path)
    return result


def _query_name(member_name: str, member_shape: Any) -> str:
    if member_shape.type_name == "list" and member_shape.serialization.get("flattened"):
        item_name = member_shape.member.serialization.get("name")
        if item_name:
            return str(item_name)
    return wire_name(member_name, member_shape)


def _indexed(node: FormNode, path: str) -> list[FormNode]:
    items: list[tuple[int, FormNode]] = []
    for index, child in node.children.items():
        if not index.isdigit() or int(index) < 1:
            raise ShapeError(f"{path}: list index {index!r} is not a positive integer")
        items.append((int(index), child))
    return [child for _, child in sorted(items, key=lambda pair: pair[0])]


def _list(shape: Any, node: FormNode, path: str) -> list[Any]:
    if shape.serialization.get("flattened"):
        container: FormNode | None = node
    else:
        container = node.children.get(shape.member.serialization.get("name", "member"))
    if container is None:
        if node.children or node.value:
            raise ShapeError(f"{path}: expected {path}.member.N entries")
        return []
    return [
        _convert(shape.member, child, f"{path}[{i}]")
        for i, child in enumerate(_indexed(container, path))
    ]


def _map(shape: Any, node: FormNode, path: str) -> dict[Any, Any]:
    container = node if shape.serialization.get("flattened") else node.children.get("entry")
    if container is None:
        return {}
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    result: dict[Any, Any] = {}
    for entry in _indexed(container, path):
        key_node = entry.children.get(key_name)
        value_node = entry.children.get(value_name)
        if key_node is None or value_node is None:
            raise ShapeError(f"{path}: each map entry needs a {key_name} and a {value_name}")
        key = _convert(shape.key, key_node, f"{path} key")
        result[key] = _convert(shape.value, value_node, f"{path}[{key!r}]")
    return result


def _scalar(kind: str, text: str, path: str) -> Any:
    try:
        if kind in ("integer", "long", "short", "byte"):
            return int(text)
        if kind in ("double", "float"):
            return float(text)
    except ValueError:
        raise ShapeError(f"{path}: {text!r} is not a valid {kind}") from None
    if kind == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise ShapeError(f"{path}: {text!r} is not a valid boolean (true or false)")
        return lowered == "true"
    if kind == "timestamp":
        return timestamp_from_text(text, path)
    if kind == "blob":
        try:
            return base64.b64decode(text, validate=True)
        except ValueError:
            raise ShapeError(f"{path}: {text!r} is not valid base64") from None
    return text


# --- result → XML -------------------------------------------------------------------------


def response_xml(
    operation: str, output_shape: Any, result: Mapping[str, Any], request_id: str
) -> bytes:
    """The ``<{operation}Response>`` document for ``result`` (``output_shape`` may be None)."""
    parts = [f'<{operation}Response xmlns="{XML_NAMESPACE}">']
    if output_shape is not None:
        wrapper = output_shape.serialization.get("resultWrapper", f"{operation}Result")
        parts.append(f"<{wrapper}>")
        _write_members(parts, output_shape, result, "result")
        parts.append(f"</{wrapper}>")
    elif result:
        raise ResultShapeError(f"{operation} has no output, got {sorted(result)}")
    parts.append(
        f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"
    )
    parts.append(f"</{operation}Response>")
    return "".join(parts).encode("utf-8")


def error_xml(sender_fault: bool, code: str, message: str, request_id: str) -> bytes:
    """The query protocol's ``<ErrorResponse>`` document."""
    kind = "Sender" if sender_fault else "Receiver"
    return (
        f'<ErrorResponse xmlns="{XML_NAMESPACE}"><Error><Type>{kind}</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    ).encode()


def _write_members(parts: list[str], shape: Any, value: Any, path: str) -> None:
    if not isinstance(value, Mapping):
        raise ResultShapeError(f"{path}: expected a mapping, got {type(value).__name__}")
    unknown = set(value) - set(shape.members)
    if unknown:
        raise ResultShapeError(f"{path}: {shape.name} has no member(s) {sorted(unknown)}")
    for name, member_shape in shape.members.items():
        item = value.get(name)
        if item is not None:
            _write(parts, _query_name(name, member_shape), member_shape, item, f"{path}.{name}")


def _write(parts: list[str], tag: str, shape: Any, value: Any, path: str) -> None:
    kind = shape.type_name
    if kind == "list":
        item_tag = shape.member.serialization.get("name", "member")
        if shape.serialization.get("flattened"):
            for i, item in enumerate(value):
                _write(parts, tag, shape.member, item, f"{path}[{i}]")
            return
        parts.append(f"<{tag}>")
        for i, item in enumerate(value):
            _write(parts, item_tag, shape.member, item, f"{path}[{i}]")
        parts.append(f"</{tag}>")
        return
    parts.append(f"<{tag}>")
    if kind == "structure":
        _write_members(parts, shape, value, path)
    elif kind == "map":
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        for key, item in value.items():
            parts.append("<entry>")
            _write(parts, key_tag, shape.key, key, f"{path} key")
            _write(parts, value_tag, shape.value, item, f"{path}[{key!r}]")
            parts.append("</entry>")
    else:
        parts.append(escape(_scalar_text(kind, value, path)))
    parts.append(f"</{tag}>")


def _scalar_text(kind: str, value: Any, path: str) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return iso8601(result_epoch(value, path))
    if kind in ("double", "float"):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number)
    if kind in ("integer", "long", "short", "byte"):
        return str(int(value))
    if kind == "blob":
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)
