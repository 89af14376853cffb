"""The CloudWatch service model (botocore's) and the facts about it the wire code needs.

The model is loaded once, lazily, from the installed botocore
(``get_service_model("cloudwatch")``): it names the operations, their input/output shapes,
the query-protocol ``resultWrapper``s and the modeled errors.

CloudWatch is ``awsQueryCompatible``: each modeled error has a shape name (the JSON/CBOR
``__type``, e.g. ``InvalidParameterValueException``) and a query code (the XML ``<Code>`` and
the ``x-amzn-query-error`` header, e.g. ``InvalidParameterValue``). :func:`error_identity`
maps an :class:`~apicanary.errors.AwsApiError` code written either way to both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session

TARGET_PREFIX = "GraniteServiceVersion20100801"
API_VERSION = "2010-08-01"
XML_NAMESPACE = "http://monitoring.amazonaws.com/doc/2010-08-01/"
SHAPE_NAMESPACE = "com.amazonaws.cloudwatch"


@cache
def service_model() -> Any:
    """botocore's ``ServiceModel`` for CloudWatch (loaded once per process)."""
    return botocore.session.get_session().get_service_model("cloudwatch")


@cache
def operation_names() -> frozenset[str]:
    """Every operation the model defines (``PutMetricData``, ``DescribeAlarms``...)."""
    return frozenset(service_model().operation_names)


def operation_model(name: str) -> Any:
    """botocore's ``OperationModel`` for ``name``; ``name`` must be in :func:`operation_names`."""
    return service_model().operation_model(name)


@dataclass(frozen=True, slots=True)
class ErrorIdentity:
    """How one error code is spelled on each protocol.

    ``shape_name``: the JSON/CBOR ``__type`` (after ``#``); ``query_code``: the XML ``<Code>``;
    ``sender_fault``: ``Sender`` vs ``Receiver``; ``message_key``: the error shape's message
    member (``message`` or ``Message``).
    """

    shape_name: str
    query_code: str
    sender_fault: bool
    message_key: str


@cache
def _modeled_errors() -> tuple[dict[str, Any], dict[str, Any]]:
    by_shape: dict[str, Any] = {}
    by_code: dict[str, Any] = {}
    for shape in service_model().error_shapes:
        by_shape[shape.name] = shape
        code = shape.error_code
        # Several shapes may share a query code (DashboardNotFoundError and ResourceNotFound):
        # prefer the shape whose name is the code itself.
        if code not in by_code or shape.name == code:
            by_code[code] = shape
    return by_shape, by_code


def error_identity(code: str, status: int) -> ErrorIdentity:
    """The spellings of ``code`` (a shape name or a query code); unmodeled codes map to
    themselves, a sender fault iff ``status`` < 500."""
    by_shape, by_code = _modeled_errors()
    shape = by_shape.get(code) or by_code.get(code)
    if shape is None:
        return ErrorIdentity(code, code, status < 500, "message")
    error_meta = shape.metadata.get("error", {})
    sender = bool(error_meta.get("senderFault", status < 500))
    message_key = "Message" if "Message" in shape.members else "message"
    return ErrorIdentity(shape.name, shape.error_code, sender, message_key)
