"""cloudwatch_wire against botocore itself: botocore serialises every operation's request in
each of the three protocols, we decode it; we encode results and errors, botocore parses them.
Pure unit tests: no server."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from apicanary.errors import AwsApiError
from apicanary.server.cloudwatch.model import operation_model
from apicanary.server.cloudwatch.wire import (
    DecodedRequest,
    WireProtocol,
    decode_request,
    encode_error,
    encode_response,
)

PROTOCOLS: list[WireProtocol] = ["smithy-rpc-v2-cbor", "json", "query"]

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2024, 5, 1, 12, 5, 30, 250000, tzinfo=UTC)
DIMS = [{"Name": "FunctionName", "Value": "api"}, {"Name": "Resource", "Value": "api:live"}]
METRIC = {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": DIMS}
QUERIES = [
    {
        "Id": "errors",
        "MetricStat": {"Metric": METRIC, "Period": 60, "Stat": "Sum", "Unit": "Count"},
        "ReturnData": False,
    },
    {"Id": "rate", "Expression": "100 * errors / invocations", "Label": "rate", "ReturnData": True},
]
ALARM = {
    "AlarmName": "canary-errors",
    "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:canary-errors",
    "AlarmDescription": "errors <&> too high",
    "AlarmConfigurationUpdatedTimestamp": T0,
    "ActionsEnabled": True,
    "OKActions": [],
    "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:ops"],
    "InsufficientDataActions": [],
    "StateValue": "ALARM",
    "StateReason": "Threshold Crossed: 3 datapoints > 5.0",
    "StateReasonData": '{"version":"1.0"}',
    "StateUpdatedTimestamp": T1,
    "StateTransitionedTimestamp": T1,
    "MetricName": "Errors",
    "Namespace": "AWS/Lambda",
    "Statistic": "Sum",
    "Dimensions": DIMS,
    "Period": 60,
    "Unit": "Count",
    "EvaluationPeriods": 3,
    "DatapointsToAlarm": 2,
    "Threshold": 5.0,
    "ComparisonOperator": "GreaterThanThreshold",
    "TreatMissingData": "notBreaching",
}
MATH_ALARM = {
    "AlarmName": "canary-rate",
    "StateValue": "OK",
    "EvaluationPeriods": 1,
    "Threshold": 1.5,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "Metrics": QUERIES,
}

# operation → (request params as a boto3 user passes them, result as the backend returns it)
SAMPLES: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "PutMetricData": (
        {
            "Namespace": "apicanary/test",
            "MetricData": [
                {
                    "MetricName": "Latency",
                    "Dimensions": DIMS,
                    "Timestamp": T1,
                    "Values": [12.5, 40.0],
                    "Counts": [3.0, 1.0],
                    "Unit": "Milliseconds",
                    "StorageResolution": 1,
                },
                {
                    "MetricName": "Errors",
                    "Timestamp": T0,
                    "StatisticValues": {
                        "SampleCount": 4.0,
                        "Sum": 2.0,
                        "Minimum": 0.0,
                        "Maximum": 1.0,
                    },
                },
                {"MetricName": "Invocations", "Value": -1e-300},
            ],
            "StrictEntityValidation": False,
        },
        None,
    ),
    "GetMetricData": (
        {
            "MetricDataQueries": QUERIES,
            "StartTime": T0,
            "EndTime": T1,
            "ScanBy": "TimestampAscending",
            "MaxDatapoints": 1000,
            "LabelOptions": {"Timezone": "+0130"},
        },
        {
            "MetricDataResults": [
                {
                    "Id": "rate",
                    "Label": "rate",
                    "Timestamps": [T0, T1],
                    "Values": [0.0, 12.25],
                    "StatusCode": "Complete",
                },
                {
                    "Id": "empty",
                    "Label": "empty",
                    "Timestamps": [],
                    "Values": [],
                    "StatusCode": "PartialData",
                    "Messages": [{"Code": "ArithmeticError", "Value": "divide by zero"}],
                },
            ],
            "NextToken": "tok-2",
            "Messages": [],
        },
    ),
    "GetMetricStatistics": (
        {
            **METRIC,
            "StartTime": T0,
            "EndTime": T1,
            "Period": 60,
            "Statistics": ["Sum", "SampleCount"],
            "ExtendedStatistics": ["p99", "p99.9"],
            "Unit": "Count",
        },
        {
            "Label": "Errors",
            "Datapoints": [
                {
                    "Timestamp": T0,
                    "SampleCount": 10.0,
                    "Sum": 3.0,
                    "Unit": "Count",
                    "ExtendedStatistics": {"p99": 1.0, "p99.9": 1.0},
                },
                {"Timestamp": T1, "Sum": 0.0, "Average": 0.5, "Minimum": 0.0, "Maximum": 1.0},
            ],
        },
    ),
    "ListMetrics": (
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": "api"}, {"Name": "Resource"}],
            "NextToken": "abc",
            "RecentlyActive": "PT3H",
            "IncludeLinkedAccounts": True,
        },
        {"Metrics": [METRIC, {"Namespace": "AWS/Lambda", "MetricName": "Invocations"}]},
    ),
    "PutMetricAlarm": (
        {
            key: ALARM[key]
            for key in (
                "AlarmName",
                "AlarmDescription",
                "ActionsEnabled",
                "OKActions",
                "AlarmActions",
                "MetricName",
                "Namespace",
                "Statistic",
                "Dimensions",
                "Period",
                "Unit",
                "EvaluationPeriods",
                "DatapointsToAlarm",
                "Threshold",
                "ComparisonOperator",
                "TreatMissingData",
            )
        }
        | {"Tags": [{"Key": "team", "Value": ""}]},
        None,
    ),
    "DescribeAlarms": (
        {
            "AlarmNames": ["canary-errors", "canary-rate"],
            "AlarmTypes": ["MetricAlarm"],
            "StateValue": "ALARM",
            "MaxRecords": 50,
        },
        {"MetricAlarms": [ALARM, MATH_ALARM], "CompositeAlarms": []},
    ),
    "DescribeAlarmHistory": (
        {
            "AlarmName": "canary-errors",
            "HistoryItemType": "StateUpdate",
            "StartDate": T0,
            "EndDate": T1,
            "MaxRecords": 10,
            "ScanBy": "TimestampDescending",
        },
        {
            "AlarmHistoryItems": [
                {
                    "AlarmName": "canary-errors",
                    "AlarmType": "MetricAlarm",
                    "Timestamp": T1,
                    "HistoryItemType": "StateUpdate",
                    "HistorySummary": "Alarm updated from OK to ALARM",
                    "HistoryData": '{"oldState":{"stateValue":"OK"}}',
                }
            ],
            "NextToken": "next",
        },
    ),
    "SetAlarmState": (
        {
            "AlarmName": "canary-errors",
            "StateValue": "ALARM",
            "StateReason": "testing <rollback>",
            "StateReasonData": '{"a": 1}',
        },
        None,
    ),
    "DeleteAlarms": ({"AlarmNames": ["canary-errors", "canary-rate"]}, None),
}


def _epochs(value: Any) -> Any:
    """``value`` with every datetime replaced by epoch seconds (how params carry time)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _epochs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_epochs(v) for v in value]
    return value


def _as_epoch_result(value: Any) -> Any:
    return _epochs(copy.deepcopy(value))


def botocore_request(
    protocol: str, operation: str, params: dict[str, Any], *, validate: bool = True
) -> dict[str, Any]:
    """The request botocore would send: method, path, headers, body bytes."""
    serializer = create_serializer(protocol, include_validation=validate)
    request = serializer.serialize_to_request(params, operation_model(operation))
    body = request["body"]
    if isinstance(body, dict):  # the query serializer leaves the form as a dict
        body = urlencode(body).encode()
    return {
        "method": request["method"],
        "path": request["url_path"],
        "headers": dict(request["headers"]),
        "body": body,
    }


def decode_botocore(protocol: str, operation: str, params: dict[str, Any]) -> DecodedRequest:
    request = botocore_request(protocol, operation, params)
    return decode_request(request["method"], request["path"], request["headers"], request["body"])


def botocore_parse(
    protocol: str, operation: str, status: int, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    lowered = {k.lower(): v for k, v in headers.items()}
    response = {"status_code": status, "headers": lowered, "body": body}
    parsed: dict[str, Any] = create_parser(protocol).parse(
        response, operation_model(operation).output_shape
    )
    return parsed


# --- every operation, every protocol --------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("operation", sorted(SAMPLES))
def test_decodes_what_botocore_sends(protocol: WireProtocol, operation: str) -> None:
    params, _ = SAMPLES[operation]
    decoded = decode_botocore(protocol, operation, params)
    assert decoded == (protocol, operation, _epochs(params))


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("operation", sorted(SAMPLES))
def test_botocore_parses_what_we_send(protocol: WireProtocol, operation: str) -> None:
    _, result = SAMPLES[operation]
    status, headers, body = encode_response(protocol, operation, result, request_id="req-1")
    assert status == 200
    parsed = botocore_parse(protocol, operation, status, headers, body)
    metadata = parsed.pop("ResponseMetadata")
    assert metadata["HTTPStatusCode"] == 200
    assert metadata["HTTPHeaders"]["x-amzn-requestid"] == "req-1"
    assert metadata.get("RequestId", "req-1") == "req-1"  # botocore skips it without output
    assert parsed == (result or {})


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_result_timestamps_may_be_epoch_seconds(protocol: WireProtocol) -> None:
    _, result = SAMPLES["DescribeAlarms"]
    status, headers, body = encode_response(protocol, "DescribeAlarms", _as_epoch_result(result))
    assert botocore_parse(protocol, "DescribeAlarms", status, headers, body)["MetricAlarms"] == (
        result or {}
    ).get("MetricAlarms")


def test_protocol_headers() -> None:
    _, headers, _ = encode_response("smithy-rpc-v2-cbor", "ListMetrics", {"Metrics": []})
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    assert headers["Content-Type"] == "application/cbor"
    _, headers, body = encode_response("smithy-rpc-v2-cbor", "DeleteAlarms", None)
    assert body == b""
    assert "Content-Type" not in headers
    _, headers, body = encode_response("json", "DeleteAlarms", None)
    assert (headers["Content-Type"], body) == ("application/x-amz-json-1.0", b"{}")
    _, headers, body = encode_response("query", "DeleteAlarms", None, request_id="r")
    assert headers["Content-Type"] == "text/xml"
    assert body == (
        b'<DeleteAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
        b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteAlarmsResponse>"
    )


def test_query_xml_shape() -> None:
    _, _, body = encode_response(
        "query", "ListMetrics", {"Metrics": [METRIC], "NextToken": "n"}, request_id="r"
    )
    assert body.decode() == (
        '<ListMetricsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
        "<ListMetricsResult><Metrics><member><Namespace>AWS/Lambda</Namespace>"
        "<MetricName>Errors</MetricName><Dimensions>"
        "<member><Name>FunctionName</Name><Value>api</Value></member>"
        "<member><Name>Resource</Name><Value>api:live</Value></member>"
        "</Dimensions></member></Metrics><NextToken>n</NextToken></ListMetricsResult>"
        "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListMetricsResponse>"
    )


def test_query_timestamps_are_iso8601_milliseconds() -> None:
    result = {"AlarmHistoryItems": [{"AlarmName": "a", "Timestamp": T1}]}
    _, _, body = encode_response("query", "DescribeAlarmHistory", result)
    assert b"<Timestamp>2024-05-01T12:05:30.250Z</Timestamp>" in body


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_non_finite_doubles_survive(protocol: WireProtocol) -> None:
    result = {"MetricDataResults": [{"Id": "m", "Values": [float("inf"), float("-inf"), 1.0]}]}
    status, headers, body = encode_response(protocol, "GetMetricData", result)
    parsed = botocore_parse(protocol, "GetMetricData", status, headers, body)
    expected: list[Any] = [float("inf"), float("-inf"), 1.0]
    if protocol == "json":  # Smithy's JSON spelling; botocore's json parser leaves it a string
        expected = ["Infinity", "-Infinity", 1.0]
    assert parsed["MetricDataResults"][0]["Values"] == expected


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_result_with_unknown_member_is_a_server_bug(protocol: WireProtocol) -> None:
    with pytest.raises(ValueError, match="Bogus"):
        encode_response(protocol, "ListMetrics", {"Metrics": [], "Bogus": 1})
    with pytest.raises(ValueError, match="no output"):
        encode_response(protocol, "DeleteAlarms", {"Bogus": 1})


# --- errors -------------------------------------------------------------------------------


ERRORS = [
    # (raised code, status, botocore Code (query code), JSON/CBOR __type shape)
    ("ResourceNotFound", 404, "ResourceNotFound", "ResourceNotFound"),
    (
        "InvalidParameterValueException",
        400,
        "InvalidParameterValue",
        "InvalidParameterValueException",
    ),
    ("InvalidParameterValue", 400, "InvalidParameterValue", "InvalidParameterValueException"),
    ("MissingParameter", 400, "MissingParameter", "MissingRequiredParameterException"),
    ("LimitExceeded", 400, "LimitExceeded", "LimitExceededFault"),
    ("InternalServiceFault", 500, "InternalServiceError", "InternalServiceFault"),
    ("SomethingElse", 503, "SomethingElse", "SomethingElse"),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("code", "status", "query_code", "shape_name"), ERRORS)
def test_botocore_parses_our_errors(
    protocol: WireProtocol, code: str, status: int, query_code: str, shape_name: str
) -> None:
    error = AwsApiError(code, f"bad <{code}> & co", status)
    got_status, headers, body = encode_error(protocol, error, request_id="req-9")
    assert got_status == status
    parsed = botocore_parse(protocol, "SetAlarmState", got_status, headers, body)
    assert parsed["Error"]["Code"] == query_code
    assert parsed["Error"]["Message"] == f"bad <{code}> & co"
    assert parsed["Error"]["Type"] == ("Sender" if status < 500 else "Receiver")
    assert parsed["ResponseMetadata"]["RequestId"] == "req-9"
    if protocol != "query":
        assert parsed["Error"]["QueryErrorCode"] == shape_name
        assert headers["x-amzn-query-error"] == f"{query_code};{parsed['Error']['Type']}"


def test_error_bodies() -> None:
    error = AwsApiError("ResourceNotFound", "no alarm x", 404, {"Type": "User"})
    _, headers, body = encode_error("json", error)
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert body == b'{"__type":"com.amazonaws.cloudwatch#ResourceNotFound","message":"no alarm x"}'
    _, headers, body = encode_error("smithy-rpc-v2-cbor", error)
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    _, _, body = encode_error("query", error, request_id="r")
    assert body.decode() == (
        '<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error>'
        "<Type>Sender</Type><Code>ResourceNotFound</Code><Message>no alarm x</Message>"
        "</Error><RequestId>r</RequestId></ErrorResponse>"
    )


def test_errors_with_a_capitalised_message_member_carry_both_spellings() -> None:
    _, _, body = encode_error("json", AwsApiError("InternalServiceFault", "boom", 500))
    assert b'"message":"boom"' in body and b'"Message":"boom"' in body


# --- protocol detection and bad requests ---------------------------------------------------


def _decode_error(method: str, path: str, headers: dict[str, str], body: bytes) -> AwsApiError:
    with pytest.raises(AwsApiError) as info:
        decode_request(method, path, headers, body)
    return info.value


@pytest.mark.parametrize(
    ("path", "headers", "body", "protocol", "code", "status"),
    [
        (
            "/service/GraniteServiceVersion20100801/operation/NoSuchOp",
            {"smithy-protocol": "rpc-v2-cbor"},
            b"",
            "smithy-rpc-v2-cbor",
            "UnknownOperationException",
            404,
        ),
        (
            "/service/OtherService/operation/ListMetrics",
            {"smithy-protocol": "rpc-v2-cbor"},
            b"",
            "smithy-rpc-v2-cbor",
            "UnknownOperationException",
            404,
        ),
        (
            "/",
            {"X-Amz-Target": "GraniteServiceVersion20100801.NoSuchOp"},
            b"{}",
            "json",
            "UnknownOperationException",
            400,
        ),
        (
            "/",
            {"X-Amz-Target": "Logs_20140328.ListMetrics"},
            b"{}",
            "json",
            "UnknownOperationException",
            400,
        ),
        (
            "/",
            {"Content-Type": "application/x-amz-json-1.0"},
            b"{}",
            "json",
            "UnknownOperationException",
            400,
        ),
        (
            "/",
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"Action=NoSuchOp&Version=2010-08-01",
            "query",
            "InvalidAction",
            400,
        ),
        (
            "/",
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"Version=2010-08-01&Namespace=x",
            "query",
            "MissingAction",
            400,
        ),
        ("/", {}, b"", "query", "MissingAction", 400),
        ("/", {}, b'{"Namespace": "x"}', "query", "MissingAction", 400),
    ],
)
def test_requests_that_are_not_cloudwatch_operations(
    path: str, headers: dict[str, str], body: bytes, protocol: str, code: str, status: int
) -> None:
    error = _decode_error("POST", path, headers, body)
    assert (getattr(error, "protocol", None), error.code, error.status) == (protocol, code, status)


def test_missing_action_says_what_a_request_looks_like() -> None:
    error = _decode_error("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"}, b"")
    assert "X-Amz-Target" in error.message and "Action" in error.message


def test_only_post_is_a_request() -> None:
    error = _decode_error(
        "GET", "/", {"X-Amz-Target": "GraniteServiceVersion20100801.ListMetrics"}, b""
    )
    assert error.code == "UnknownOperationException"


@pytest.mark.parametrize(
    ("protocol", "headers", "body", "code"),
    [
        ("smithy-rpc-v2-cbor", {}, b"\xa1\x61", "SerializationException"),
        ("smithy-rpc-v2-cbor", {}, b"\x83\x01\x02\x03", "SerializationException"),
        ("json", {}, b"{not json", "SerializationException"),
        ("json", {}, b"[1]", "SerializationException"),
        ("json", {}, b'{"Namespace": 5}', "SerializationException"),
        (
            "json",
            {},
            b'{"Namespace": "a", "MetricName": "b", "Dimensions": {}}',
            "SerializationException",
        ),
    ],
)
def test_malformed_bodies(
    protocol: WireProtocol, headers: dict[str, str], body: bytes, code: str
) -> None:
    request = botocore_request(protocol, "ListMetrics", {})
    error = _decode_error("POST", request["path"], request["headers"] | headers, body)
    assert (error.code, error.status) == (code, 400)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_missing_required_members(protocol: WireProtocol) -> None:
    params = {"AlarmName": "a", "StateValue": "OK"}
    request = botocore_request(protocol, "SetAlarmState", params, validate=False)
    error = _decode_error(request["method"], request["path"], request["headers"], request["body"])
    assert (error.code, error.status) == ("MissingParameter", 400)
    assert "StateReason" in error.message


def test_missing_nested_required_member_is_named() -> None:
    body = b'{"Namespace": "n", "MetricData": [{"MetricName": "m", "Dimensions": [{"Name": "x"}]}]}'
    headers = {"X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData"}
    error = _decode_error("POST", "/", headers, body)
    assert error.code == "MissingParameter"
    assert "MetricData[0].Dimensions[0].Value" in error.message


def test_json_nulls_are_absent_members() -> None:
    headers = {"X-Amz-Target": "GraniteServiceVersion20100801.ListMetrics"}
    decoded = decode_request("POST", "/", headers, b'{"Namespace": null, "MetricName": "m"}')
    assert decoded.params == {"MetricName": "m"}


def test_json_accepts_iso_timestamps_and_integral_floats() -> None:
    headers = {"X-Amz-Target": "GraniteServiceVersion20100801.GetMetricStatistics"}
    body = (
        b'{"Namespace": "n", "MetricName": "m", "StartTime": "2024-05-01T12:00:00Z",'
        b' "EndTime": 1714565130.25, "Period": 60.0}'
    )
    params = decode_request("POST", "/", headers, body).params
    assert params["StartTime"] == T0.timestamp()
    assert params["EndTime"] == T1.timestamp()
    assert params["Period"] == 60 and isinstance(params["Period"], int)


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def test_query_lists_follow_their_indices() -> None:
    body = urlencode(
        {
            "Action": "DeleteAlarms",
            "AlarmNames.member.10": "j",
            "AlarmNames.member.2": "b",
            "AlarmNames.member.1": "a",
        }
    ).encode()
    assert decode_request("POST", "/", FORM, body).params == {"AlarmNames": ["a", "b", "j"]}


def test_query_empty_list() -> None:
    body = b"Action=DeleteAlarms&Version=2010-08-01&AlarmNames="
    assert decode_request("POST", "/", FORM, body).params == {"AlarmNames": []}


def test_query_maps() -> None:
    params = {
        "Namespace": "n",
        "EntityMetricData": [
            {
                "Entity": {"KeyAttributes": {"Type": "Service", "Name": "api"}},
                "MetricData": [{"MetricName": "m", "Value": 1.0}],
            }
        ],
    }
    assert decode_botocore("query", "PutMetricData", params).params == params


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ("Period=abc", "Period"),
        ("Period=60&StartTime=yesterday", "StartTime"),
        ("Period=60&Dimensions.member.x.Name=a", "list index"),
        ("Period=60&Dimensions.1.Name=a", "member.N"),
    ],
)
def test_query_type_errors_name_the_member(fields: str, fragment: str) -> None:
    body = f"Action=GetMetricStatistics&Namespace=n&MetricName=m&{fields}".encode()
    error = _decode_error("POST", "/", FORM, body)
    assert error.code == "InvalidParameterValue"
    assert fragment in error.message


def test_query_booleans() -> None:
    body = b"Action=ListMetrics&IncludeLinkedAccounts=TRUE"
    assert decode_request("POST", "/", FORM, body).params == {"IncludeLinkedAccounts": True}
    error = _decode_error("POST", "/", FORM, b"Action=ListMetrics&IncludeLinkedAccounts=yes")
    assert error.code == "InvalidParameterValue"


def test_cbor_empty_body_is_empty_input() -> None:
    decoded = decode_request(
        "POST", "/service/GraniteServiceVersion20100801/operation/ListMetrics", {}, b""
    )
    assert decoded == ("smithy-rpc-v2-cbor", "ListMetrics", {})
