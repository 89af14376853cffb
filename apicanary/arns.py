"""Lambda ARNs and API Gateway integration URIs: the one place that builds and parses them.

The local engine plays one AWS account in one region; :data:`DEFAULT_REGION` and
:data:`DEFAULT_ACCOUNT` are the values every service, the project loader and the clients of
the local endpoints use unless told otherwise.

Shapes (``<function>`` in a URI is a function ARN, a name, or either with
``${stageVariables.x}`` placeholders, so its parts are read leniently here and checked by the
callers that know which placeholders they allow):

* function ARN: ``arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]``
* integration URI: ``arn:<partition>:apigateway:<region>:lambda:path/2015-03-31/functions/
  <function>/invocations``
* the ``FunctionName`` parameter of the Lambda API: a name, ``name:qualifier``, a full ARN or
  the partial forms ``<account>:function:<name>`` and ``function:<name>``
  (:func:`split_function_name`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

DEFAULT_REGION: Final = "us-east-1"
DEFAULT_ACCOUNT: Final = "123456789012"

_PARTITION = r"aws[a-z-]*"
_REGION = r"[a-z0-9-]+"
_NAME = r"[A-Za-z0-9_-]"

# lenient: placeholders such as ${stageVariables.alias} may stand for the name or qualifier
_FUNCTION_ARN = re.compile(
    rf"arn:(?P<partition>{_PARTITION}):lambda:(?P<region>[^:]+):(?P<account>[^:]+):function:"
    r"(?P<name>[^:/]+)(?::(?P<qualifier>[^:/]+))?"
)
_INTEGRATION_URI = re.compile(
    rf"arn:(?P<partition>{_PARTITION}):apigateway:(?P<region>{_REGION}):lambda:"
    r"path/2015-03-31/functions/(?P<function>.+)/invocations"
)
# the Lambda API's own FunctionName pattern (botocore's model), name and qualifier captured
_FUNCTION_NAME_PARAMETER = re.compile(
    rf"(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>{_REGION}):)?(?:(?P<account>\d{{12}}):)?"
    rf"(?:function:)?(?P<name>{_NAME}+)(?::(?P<qualifier>\$LATEST|{_NAME}+))?"
)
_USER_FUNCTION_REFERENCE = re.compile(
    rf"(?:arn:{_PARTITION}:lambda:{_REGION}:\d{{12}}:function:)?"
    rf"{_NAME}{{1,64}}(?::(?:\$LATEST|{_NAME}{{1,128}}))?"
)
MAX_FUNCTION_NAME_PARAMETER = 170


@dataclass(frozen=True, slots=True)
class FunctionArn:
    """The parts of a function ARN; ``qualifier`` is a version, an alias or ``None``."""

    partition: str
    region: str
    account: str
    name: str
    qualifier: str | None


@dataclass(frozen=True, slots=True)
class IntegrationUri:
    """The parts of a Lambda integration URI; ``function`` is an ARN or a name (maybe templated)."""

    partition: str
    region: str
    function: str


def partition_of(region: str) -> str:
    """The ARN partition of ``region`` (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def function_arn(
    name: str,
    qualifier: str | None = None,
    *,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> str:
    """``arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]``."""
    arn = f"arn:{partition_of(region)}:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def integration_uri(function: str, *, region: str = DEFAULT_REGION) -> str:
    """The ``AWS_PROXY`` integration URI that invokes ``function`` (an ARN or a name)."""
    return (
        f"arn:{partition_of(region)}:apigateway:{region}:lambda:path/2015-03-31/functions/"
        f"{function}/invocations"
    )


def alarm_arn(name: str, *, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> str:
    """``arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>``."""
    return f"arn:{partition_of(region)}:cloudwatch:{region}:{account}:alarm:{name}"


def parse_function_arn(text: str) -> FunctionArn | None:
    """The parts of a full function ARN, or ``None`` when ``text`` is not one."""
    match = _FUNCTION_ARN.fullmatch(text)
    if match is None:
        return None
    return FunctionArn(
        match["partition"], match["region"], match["account"], match["name"], match["qualifier"]
    )


def parse_integration_uri(uri: str) -> IntegrationUri | None:
    """The parts of a Lambda integration URI, or ``None`` when ``uri`` is not one."""
    match = _INTEGRATION_URI.fullmatch(uri)
    if match is None:
        return None
    return IntegrationUri(match["partition"], match["region"], match["function"])


def integration_target(uri: str) -> FunctionArn | None:
    """The function ARN a Lambda integration URI invokes (``None``: not such a URI, or it names
    the function without an ARN)."""
    parsed = parse_integration_uri(uri)
    return parse_function_arn(parsed.function) if parsed is not None else None


def split_function_name(value: str) -> tuple[str, str | None] | None:
    """``(name, qualifier)`` of a Lambda API ``FunctionName`` value in any of its forms, or
    ``None`` when the value does not fit the API's pattern and length limit."""
    if len(value) > MAX_FUNCTION_NAME_PARAMETER:
        return None
    match = _FUNCTION_NAME_PARAMETER.fullmatch(value)
    return (match["name"], match["qualifier"]) if match else None


def is_function_reference(value: str) -> bool:
    """Whether ``value`` is what a user may write for a function: a name of 1-64 characters,
    optionally ``:version`` / ``:alias`` (1-128), or a full function ARN."""
    return _USER_FUNCTION_REFERENCE.fullmatch(value) is not None
