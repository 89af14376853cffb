"""CloudWatch's three wire protocols, sans-I/O: bytes in → (protocol, operation, params);
result or error → (status, headers, bytes), answered in the protocol the request used.

=====================  ====================================================================
protocol               request
=====================  ====================================================================
``smithy-rpc-v2-cbor`` ``POST /service/GraniteServiceVersion20100801/operation/<Op>``,
                       ``smithy-protocol: rpc-v2-cbor``, CBOR body (may be empty)
``json`` (awsJson1.0)  ``POST /`` with ``X-Amz-Target: GraniteServiceVersion20100801.<Op>``
``query``              ``POST /`` with a form body holding ``Action=<Op>`` (``Version`` ignored)
=====================  ====================================================================

``params`` always uses the botocore model's member names and shapes
(``{"Namespace": "app", "MetricData": [{"MetricName": ..., "Dimensions": [{"Name", "Value"}],
"Timestamp": 1714560000.0, "Value": 1.0}]}``), whatever the protocol: timestamps are
epoch-second floats, required members are present (else ``MissingParameter``), absent and
null members are left out. Results are dicts in the model's output shape; their timestamps may
be ``datetime`` (naive = UTC) or epoch seconds.

Errors (:class:`~apicanary.errors.AwsApiError`) are rendered per protocol; CloudWatch is
``awsQueryCompatible``, so the code may be given as the shape name
(``InvalidParameterValueException``) or the query code (``InvalidParameterValue``) and every
protocol gets its own spelling (JSON/CBOR ``__type`` + ``x-amzn-query-error`` header, XML
``<Code>``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

import orjson

from apicanary.errors import AwsApiError
from apicanary.server.cloudwatch import cbor
from apicanary.server.cloudwatch.model import (
    SHAPE_NAMESPACE,
    TARGET_PREFIX,
    error_identity,
    operation_model,
    operation_names,
)
from apicanary.server.cloudwatch.query import error_xml, params_from_form, parse_form, response_xml
from apicanary.server.cloudwatch.shapes import (
    ShapeError,
    document_from_result,
    params_from_document,
)

WireProtocol = Literal["smithy-rpc-v2-cbor", "json", "query"]
"""botocore's names for the protocols CloudWatch speaks."""

CBOR_PATH = re.compile(r"/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)")
"""The rpc-v2-cbor request path."""

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
CBOR_CONTENT_TYPE = "application/cbor"
XML_CONTENT_TYPE = "text/xml"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

_HELP = (
    "CloudWatch requests are POST / with an X-Amz-Target header (JSON), POST / with a form "
    f"body holding Action (query), or POST /service/{TARGET_PREFIX}/operation/<Operation> (CBOR)"
)


class DecodedRequest(NamedTuple):
    """A decoded CloudWatch request: its protocol, operation name and model-shaped params."""

    protocol: WireProtocol
    operation: str
    params: dict[str, Any]


class RequestDecodeError(AwsApiError):
    """A request that cannot be decoded; ``protocol`` is the one to answer in."""

    def __init__(self, protocol: WireProtocol, code: str, message: str, status: int = 400) -> None:
        super().__init__(code, message, status)
        self.protocol: WireProtocol = protocol


def unknown_operation(protocol: WireProtocol, message: str) -> RequestDecodeError:
    """The protocol's own unknown-operation error (``InvalidAction`` for query,
    ``UnknownOperationException`` otherwise; 404 on rpc-v2-cbor, whose operation is a path)."""
    if protocol == "query":
        return RequestDecodeError(protocol, "InvalidAction", message, 400)
    status = 404 if protocol == "smithy-rpc-v2-cbor" else 400
    return RequestDecodeError(protocol, "UnknownOperationException", message, status)


# --- decoding -----------------------------------------------------------------------------


def decode_request(
    method: str, path: str, headers: Mapping[str, str], body: bytes
) -> DecodedRequest:
    """Decode one CloudWatch request; raises :class:`RequestDecodeError` (an ``AwsApiError``
    carrying the protocol to answer in) for anything that is not a valid request."""
    lowered = {key.lower(): value for key, value in headers.items()}
    protocol = detect_protocol(path, lowered)
    if method.upper() != "POST":
        raise unknown_operation(protocol, f"{method} {path} is not a CloudWatch request. {_HELP}")
    if protocol == "smithy-rpc-v2-cbor":
        return _decode_cbor(path, body)
    if protocol == "json":
        return _decode_json(lowered, body)
    return _decode_query(path, body)


def detect_protocol(path: str, headers: Mapping[str, str]) -> WireProtocol:
    """The protocol a request uses (``headers`` keys lower-cased); never fails: a request that
    fits none is given the protocol its Content-Type suggests, else ``query``."""
    if CBOR_PATH.fullmatch(path):
        return "smithy-rpc-v2-cbor"
    if "x-amz-target" in headers:
        return "json"
    content_type = headers.get("content-type", "").lower()
    if "json" in content_type:
        return "json"
    if "cbor" in content_type or "smithy-protocol" in headers:
        return "smithy-rpc-v2-cbor"
    return "query"


def _operation(protocol: WireProtocol, name: str, what: str) -> Any:
    if name not in operation_names():
        raise unknown_operation(protocol, f"{what} {name!r} is not a CloudWatch operation")
    return operation_model(name)


def _decode_cbor(path: str, body: bytes) -> DecodedRequest:
    protocol: WireProtocol = "smithy-rpc-v2-cbor"
    match = CBOR_PATH.fullmatch(path)
    if match is None:  # a CBOR content type on a path that is not the rpc-v2-cbor one
        raise unknown_operation(
            protocol, f"POST {path} with a CBOR body is not a CloudWatch request. {_HELP}"
        )
    if match["service"] != TARGET_PREFIX:
        raise unknown_operation(
            protocol, f"service {match['service']!r} is not CloudWatch ({TARGET_PREFIX})"
        )
    op = _operation(protocol, match["operation"], "operation")
    try:
        document = cbor.decode(body) if body else {}
    except cbor.CborError as exc:
        raise _serialization_error(protocol, f"Malformed CBOR request body: {exc}") from exc
    return DecodedRequest(protocol, op.name, _params(protocol, op, document))


def _decode_json(headers: Mapping[str, str], body: bytes) -> DecodedRequest:
    protocol: WireProtocol = "json"
    target = headers.get("x-amz-target", "")
    prefix, _, name = target.partition(".")
    if prefix != TARGET_PREFIX:
        raise unknown_operation(protocol, f"X-Amz-Target {target!r} is not a CloudWatch target")
    op = _operation(protocol, name, "operation")
    try:
        document = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise _serialization_error(protocol, f"Malformed JSON request body: {exc}") from exc
    return DecodedRequest(protocol, op.name, _params(protocol, op, document))


def _decode_query(path: str, body: bytes) -> DecodedRequest:
    protocol: WireProtocol = "query"
    if path not in ("", "/"):
        raise unknown_operation(protocol, f"{path} is not a CloudWatch endpoint. {_HELP}")
    try:
        fields = parse_form(body)
    except ShapeError as exc:
        raise RequestDecodeError(protocol, "MalformedQueryString", str(exc)) from exc
    action = fields.get("Action")
    if not action:
        raise RequestDecodeError(
            protocol, "MissingAction", f"The request must contain the parameter Action. {_HELP}"
        )
    op = _operation(protocol, action, "action")
    try:
        params = params_from_form(op.input_shape, fields)
    except ShapeError as exc:
        raise _shape_error(protocol, exc) from exc
    return DecodedRequest(protocol, op.name, params)


def _params(protocol: WireProtocol, op: Any, document: Any) -> dict[str, Any]:
    if op.input_shape is None:
        return {}
    if not isinstance(document, dict):
        raise _serialization_error(protocol, "The request body must be a map/object")
    try:
        params: dict[str, Any] = params_from_document(op.input_shape, document)
    except ShapeError as exc:
        raise _shape_error(protocol, exc) from exc
    return params


def _serialization_error(protocol: WireProtocol, message: str) -> RequestDecodeError:
    return RequestDecodeError(protocol, "SerializationException", message)


def _shape_error(protocol: WireProtocol, exc: ShapeError) -> RequestDecodeError:
    if exc.missing:
        return RequestDecodeError(protocol, "MissingParameter", str(exc))
    if protocol == "query":
        return RequestDecodeError(protocol, "InvalidParameterValue", str(exc))
    return _serialization_error(protocol, str(exc))


# --- encoding -----------------------------------------------------------------------------

Encoded = tuple[int, dict[str, str], bytes]
"""(HTTP status, response headers, body)."""


def encode_response(
    protocol: WireProtocol,
    operation: str,
    result: Mapping[str, Any] | None,
    *,
    request_id: str | None = None,
) -> Encoded:
    """The 200 response to ``operation`` carrying ``result`` (``None``/``{}`` for operations
    without output). A result member the output shape lacks raises ``ResultShapeError``."""
    request_id = request_id or str(uuid.uuid4())
    output_shape = operation_model(operation).output_shape
    data: Mapping[str, Any] = result or {}
    headers = {"x-amzn-RequestId": request_id}
    if protocol == "query":
        headers["Content-Type"] = XML_CONTENT_TYPE
        return 200, headers, response_xml(operation, output_shape, data, request_id)
    document: Any = {}
    if output_shape is not None:
        document = document_from_result(
            output_shape, data, "cbor" if _is_cbor(protocol) else "json"
        )
    elif data:
        raise ValueError(f"{operation} has no output, got {sorted(data)}")
    if protocol == "json":
        headers["Content-Type"] = JSON_CONTENT_TYPE
        return 200, headers, orjson.dumps(document)
    headers["smithy-protocol"] = "rpc-v2-cbor"
    if output_shape is None:
        return 200, headers, b""
    headers["Content-Type"] = CBOR_CONTENT_TYPE
    return 200, headers, cbor.encode(document)


def encode_error(
    protocol: WireProtocol, error: AwsApiError, *, request_id: str | None = None
) -> Encoded:
    """``error`` as ``protocol`` renders it, with ``error.status``."""
    request_id = request_id or str(uuid.uuid4())
    identity = error_identity(error.code, error.status)
    headers = {"x-amzn-RequestId": request_id}
    if protocol == "query":
        headers["Content-Type"] = XML_CONTENT_TYPE
        body = error_xml(identity.sender_fault, identity.query_code, error.message, request_id)
        return error.status, headers, body
    fault = "Sender" if identity.sender_fault else "Receiver"
    headers["x-amzn-query-error"] = f"{identity.query_code};{fault}"
    document: dict[str, Any] = {
        key: value for key, value in error.fields.items() if key not in ("Type", "__type")
    }
    document["__type"] = f"{SHAPE_NAMESPACE}#{identity.shape_name}"
    document["message"] = error.message
    document[identity.message_key] = error.message
    if protocol == "json":
        headers["Content-Type"] = JSON_CONTENT_TYPE
        return error.status, headers, orjson.dumps(document, default=str)
    headers["smithy-protocol"] = "rpc-v2-cbor"
    headers["Content-Type"] = CBOR_CONTENT_TYPE
    return error.status, headers, cbor.encode(document)


def _is_cbor(protocol: WireProtocol) -> bool:
    return protocol == "smithy-rpc-v2-cbor"
