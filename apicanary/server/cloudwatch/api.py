"""The AWS-compatible CloudWatch endpoint of the control port (boto3 / AWS CLI ``--endpoint-url``).

:func:`routes` gives two Starlette routes, both ``POST`` only, so they cannot shadow the
dashboard (``GET /``), Lambda (``/2015-03-31/...``) or API Gateway (``/restapis...``):

* ``POST /`` — awsJson1.0 (``X-Amz-Target: GraniteServiceVersion20100801.<Op>``) or query
  (form body with ``Action=<Op>``); a POST / that is neither gets a clear ``MissingAction``
  / ``UnknownOperationException`` error saying what a CloudWatch request looks like.
* ``POST /service/GraniteServiceVersion20100801/operation/{operation}`` — Smithy RPC v2 CBOR.

Every answer, errors included, is in the protocol the request used
(:mod:`apicanary.server.cloudwatch.wire`). The routes render :class:`AwsApiError` themselves,
so they work with or without the app's rest-json ``aws_error_handler``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from apicanary.errors import AwsApiError
from apicanary.server.cloudwatch.model import TARGET_PREFIX, service_model
from apicanary.server.cloudwatch.wire import (
    Encoded,
    RequestDecodeError,
    decode_request,
    encode_error,
    encode_response,
    unknown_operation,
)

log = logging.getLogger(__name__)


class CloudWatchBackend(Protocol):
    """What the CloudWatch endpoint needs from the metric store and alarm engine.

    One method per operation. ``params`` is the operation's **input shape** of the botocore
    model (``cloudwatch`` 2010-08-01) as a plain dict: the model's member names
    (``"MetricData"``, ``"Dimensions": [{"Name": ..., "Value": ...}]``, ``"AlarmNames"``...),
    absent members left out (never ``None``), required members present, integers as ``int``,
    doubles as ``float``, booleans as ``bool``, **timestamps as epoch-second floats**.

    Results are the operation's **output shape** as a dict with the model's member names
    (``None`` members are skipped; a member the model lacks is a bug and gives a 500).
    Result timestamps may be epoch seconds (``int``/``float``) or ``datetime`` (naive = UTC).
    Operations without output return ``None``.

    Errors: raise :class:`~apicanary.errors.AwsApiError` with CloudWatch's code, either
    spelling (``ResourceNotFound`` or its shape name; ``InvalidParameterValue`` or
    ``InvalidParameterValueException``; ``MissingParameter``; ``LimitExceeded``;
    ``InvalidNextToken``...) and its status; any other exception becomes a 500
    ``InternalServiceError``.

    Methods are called on the event-loop thread, one request at a time, so they must be quick
    (no network I/O).
    """

    def put_metric_data(self, params: dict[str, Any]) -> None:
        """``{Namespace, MetricData: [{MetricName, Dimensions?, Timestamp?, Value? |
        StatisticValues? | Values?+Counts?, Unit?, StorageResolution?}], ...}``."""
        ...

    def get_metric_data(self, params: dict[str, Any]) -> dict[str, Any]:
        """``{MetricDataQueries, StartTime, EndTime, NextToken?, ScanBy?, MaxDatapoints?,
        LabelOptions?}`` → ``{MetricDataResults: [{Id, Label, Timestamps, Values, StatusCode,
        Messages?}], NextToken?, Messages?}``."""
        ...

    def get_metric_statistics(self, params: dict[str, Any]) -> dict[str, Any]:
        """``{Namespace, MetricName, Dimensions?, StartTime, EndTime, Period, Statistics? |
        ExtendedStatistics?, Unit?}`` → ``{Label, Datapoints: [{Timestamp, SampleCount?,
        Average?, Sum?, Minimum?, Maximum?, Unit?, ExtendedStatistics?: {pNN: float}}]}``."""
        ...

    def list_metrics(self, params: dict[str, Any]) -> dict[str, Any]:
        """``{Namespace?, MetricName?, Dimensions?: [{Name, Value?}], NextToken?,
        RecentlyActive?}`` → ``{Metrics: [{Namespace, MetricName, Dimensions}], NextToken?}``."""
        ...

    def put_metric_alarm(self, params: dict[str, Any]) -> None:
        """The whole ``PutMetricAlarmInput`` (create or replace, keeping the current state)."""
        ...

    def describe_alarms(self, params: dict[str, Any]) -> dict[str, Any]:
        """``{AlarmNames?, AlarmNamePrefix?, AlarmTypes?, StateValue?, ActionPrefix?,
        MaxRecords?, NextToken?}`` → ``{MetricAlarms: [MetricAlarm], CompositeAlarms?,
        NextToken?}``."""
        ...

    def describe_alarm_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """``{AlarmName?, AlarmTypes?, HistoryItemType?, StartDate?, EndDate?, MaxRecords?,
        NextToken?, ScanBy?}`` → ``{AlarmHistoryItems: [{AlarmName, AlarmType, Timestamp,
        HistoryItemType, HistorySummary, HistoryData}], NextToken?}``."""
        ...

    def set_alarm_state(self, params: dict[str, Any]) -> None:
        """``{AlarmName, StateValue, StateReason, StateReasonData?}``; unknown alarm →
        ``ResourceNotFound`` (404)."""
        ...

    def delete_alarms(self, params: dict[str, Any]) -> None:
        """``{AlarmNames}``."""
        ...


OPERATIONS: dict[str, str] = {
    "PutMetricData": "put_metric_data",
    "GetMetricData": "get_metric_data",
    "GetMetricStatistics": "get_metric_statistics",
    "ListMetrics": "list_metrics",
    "PutMetricAlarm": "put_metric_alarm",
    "DescribeAlarms": "describe_alarms",
    "DescribeAlarmHistory": "describe_alarm_history",
    "SetAlarmState": "set_alarm_state",
    "DeleteAlarms": "delete_alarms",
}
"""The CloudWatch operations served, mapped to their :class:`CloudWatchBackend` method."""

CBOR_ROUTE = f"/service/{TARGET_PREFIX}/operation/{{operation}}"


def routes(backend: CloudWatchBackend) -> list[BaseRoute]:
    """The CloudWatch routes (``POST /`` and the rpc-v2-cbor path) over ``backend``.

    Loads the botocore service model now, so the first request does not pay for it.
    """
    service_model()

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        return _response(dispatch(backend, request.method, request.url.path, request.headers, body))

    return [
        Route("/", endpoint, methods=["POST"], name="cloudwatch"),
        Route(CBOR_ROUTE, endpoint, methods=["POST"], name="cloudwatch_cbor"),
    ]


def dispatch(
    backend: CloudWatchBackend, method: str, path: str, headers: Mapping[str, str], body: bytes
) -> Encoded:
    """Decode, call the backend, encode: one request in, one protocol-correct answer out."""
    try:
        protocol, operation, params = decode_request(method, path, headers, body)
    except RequestDecodeError as exc:
        return encode_error(exc.protocol, exc)
    method_name = OPERATIONS.get(operation)
    if method_name is None:
        supported = ", ".join(OPERATIONS)
        message = f"{operation} is not supported by the apicanary CloudWatch emulator ({supported})"
        return encode_error(protocol, unknown_operation(protocol, message))
    try:
        result = getattr(backend, method_name)(params)
        return encode_response(protocol, operation, result)
    except AwsApiError as exc:
        return encode_error(protocol, exc)
    except Exception:
        log.exception("CloudWatch %s failed", operation)
        internal = AwsApiError("InternalServiceFault", f"internal error in {operation}", 500)
        return encode_error(protocol, internal)


def _response(encoded: Encoded) -> Response:
    status, headers, body = encoded
    return Response(body, status_code=status, headers=headers)
