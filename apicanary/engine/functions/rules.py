"""Pure validation rules of the Lambda API, with AWS's exact error codes and messages.

Each function raises :class:`apicanary.errors.AwsApiError` or returns the normalised value.
Sources: reference/aws-semantics.md §1.1-1.5 and the botocore model's constraints.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from apicanary import arns
from apicanary.engine.functions.model import DEFAULT_ROLE, FunctionConfig
from apicanary.engine.functions.runtime.spec import InvocationOutcome
from apicanary.errors import (
    REVISION_MISMATCH,
    AwsApiError,
    invalid_parameter,
    precondition_failed,
    validation,
)

ALIAS_NAME_RE = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$")
VERSION_RE = re.compile(r"^(\$LATEST|[0-9]+)$")
SUPPORTED_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13")
TIMEOUT_RANGE = (1, 900)
MEMORY_RANGE = (128, 32768)
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
ACCOUNT_CONCURRENCY = 1000
MIN_UNRESERVED = 100
MAX_DESCRIPTION = 256


def split_function_name(value: str) -> tuple[str, str | None]:
    """``name``, ``name:qualifier`` or any ARN form → (function name, qualifier or None)."""
    parts = arns.split_function_name(value or "")
    if parts is None:
        raise validation(
            f"1 validation error detected: Value '{value}' at 'functionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?"
            r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
        )
    return parts


def name_and_qualifier(value: str, qualifier: str | None) -> tuple[str, str | None]:
    """The function and qualifier a call names: ``value`` (any FunctionName form) and the
    separate ``Qualifier`` must agree when both carry one."""
    name, embedded = split_function_name(value)
    if embedded and qualifier and embedded != qualifier:
        raise invalid_parameter(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return name, qualifier or embedded


POLICY_REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to "
    "retrieve the latest Revision Id"
)
"""AddPermission's wording of a stale ``RevisionId`` (the other operations say
:data:`~apicanary.errors.REVISION_MISMATCH`)."""


def check_revision(given: Any, current: str, message: str = REVISION_MISMATCH) -> None:
    """A ``RevisionId`` precondition: when given, it must be the current revision."""
    if given is not None and given != current:
        raise precondition_failed(message)


def bare_name(value: Any, *, allow_arn: bool = False) -> str:
    """The function a ``FunctionName`` names; qualified forms only where ``allow_arn``."""
    if not isinstance(value, str) or not value:
        raise invalid_parameter("FunctionName is required")
    name, qualifier = split_function_name(value)
    if not allow_arn and (":" in value and qualifier is not None):
        raise invalid_parameter(f"FunctionName {value} must not be qualified here")
    return name


_ALIAS_SHAPED = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9_-]+")


def check_deletable_qualifier(qualifier: str | None) -> None:
    """DeleteFunction's ``Qualifier``: a version number (or none); checked before the function
    is looked up, as AWS does."""
    if qualifier == "$LATEST":
        raise invalid_parameter("$LATEST version cannot be deleted without deleting the function.")
    if qualifier is not None and _ALIAS_SHAPED.fullmatch(qualifier):
        raise invalid_parameter("Deletion of aliases is not currently supported.")


def check_int_range(field: str, value: Any, bounds: tuple[int, int]) -> int:
    """``value`` as an int within ``bounds``, or AWS's ValidationException naming the field."""
    low, high = bounds
    if not isinstance(value, int) or isinstance(value, bool):
        raise validation(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            "constraint: Member must be an integer"
        )
    if value < low:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: Member must have value less than or equal to {high}"
        )
    return value


def check_runtime(runtime: Any) -> str:
    if runtime not in SUPPORTED_RUNTIMES:
        raise invalid_parameter(
            f"The runtime parameter of {runtime} is not supported by the apicanary local engine; "
            f"supported runtimes: {', '.join(SUPPORTED_RUNTIMES)}"
        )
    return str(runtime)


def check_handler(handler: Any) -> str:
    if (
        not isinstance(handler, str)
        or not re.match(r"^[^\s]{1,128}$", handler)
        or "." not in handler
    ):
        raise validation(
            f"1 validation error detected: Value '{handler}' at 'handler' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [^\\s]+ "
            "(and name a module and a function, e.g. app.handler)"
        )
    return handler


def check_description(description: Any) -> str:
    text = "" if description is None else str(description)
    if len(text) > MAX_DESCRIPTION:
        raise validation(
            f"1 validation error detected: Value '{text[:40]}...' at 'description' failed to "
            f"satisfy constraint: Member must have length less than or equal to {MAX_DESCRIPTION}"
        )
    return text


def check_environment(environment: Any) -> dict[str, str]:
    """``Environment`` → its ``Variables`` as a str→str dict."""
    if environment is None:
        return {}
    variables = environment.get("Variables", {}) if isinstance(environment, Mapping) else None
    if not isinstance(variables, Mapping):
        raise invalid_parameter("Environment.Variables must be a map of strings")
    result: dict[str, str] = {}
    for key, value in variables.items():
        if not re.match(r"^[a-zA-Z]([a-zA-Z0-9_])+$", str(key)):
            raise validation(
                f"1 validation error detected: Value at 'environment.variables' failed to "
                f"satisfy constraint: Map keys must satisfy constraint: [Member must satisfy "
                f"regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+] (got '{key}')"
            )
        if str(key).startswith("AWS_") or key in _RESERVED_ENV:
            raise invalid_parameter(
                "Lambda was unable to configure your environment variables because the "
                f"environment variables you have provided contains reserved keys that are "
                f"currently not supported for modification. Reserved keys used in this "
                f"request: {key}"
            )
        result[str(key)] = str(value)
    return result


_RESERVED_ENV = {"_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "_X_AMZN_TRACE_ID"}


def config_from_params(params: Mapping[str, Any], base: FunctionConfig | None) -> FunctionConfig:
    """The configuration CreateFunction (``base`` None) or UpdateFunctionConfiguration
    (omitted fields keep ``base``'s) asks for, checked."""

    def pick(key: str, default: Any) -> Any:
        value = params.get(key)
        return default if value is None else value

    runtime = pick("Runtime", base.runtime if base else None)
    handler = pick("Handler", base.handler if base else None)
    if base is None and runtime is None:
        raise invalid_parameter("Runtime is required for a .zip deployment package.")
    if base is None and handler is None:
        raise invalid_parameter("Handler is required for a .zip deployment package.")
    environment = (
        check_environment(params["Environment"])
        if params.get("Environment") is not None
        else dict(base.environment if base else {})
    )
    config = FunctionConfig(
        runtime=check_runtime(runtime),
        handler=check_handler(handler),
        timeout=pick("Timeout", base.timeout if base else 3),
        memory_size=pick("MemorySize", base.memory_size if base else 128),
        environment=environment,
        description=check_description(pick("Description", base.description if base else "")),
        role=str(pick("Role", base.role if base else DEFAULT_ROLE)),
        logging=(
            check_logging_config(params["LoggingConfig"], base.logging if base else {})
            if params.get("LoggingConfig") is not None
            else dict(base.logging if base else {})
        ),
    )
    check_config(config)
    return config


_LOG_FORMATS = ("Text", "JSON")
_LOG_LEVELS = {
    "ApplicationLogLevel": ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"),
    "SystemLogLevel": ("DEBUG", "INFO", "WARN"),
}
_LOG_GROUP_RE = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")


def check_logging_config(value: Any, base: Mapping[str, str]) -> dict[str, str]:
    """A ``LoggingConfig`` merged over ``base`` (UpdateFunctionConfiguration keeps what it
    does not name), checked as Lambda does: ``LogFormat`` Text or JSON, log levels only with
    JSON, ``LogGroup`` a valid log group name."""
    if not isinstance(value, Mapping):
        raise invalid_parameter("LoggingConfig must be an object")
    merged = dict(base)
    for key, item in value.items():
        if key not in ("LogFormat", "LogGroup", *_LOG_LEVELS):
            raise invalid_parameter(f"LoggingConfig has no field {key}")
        if item is not None:
            merged[str(key)] = str(item)
    log_format = merged.get("LogFormat", "Text")
    if log_format not in _LOG_FORMATS:
        raise validation(
            f"1 validation error detected: Value '{log_format}' at 'loggingConfig.logFormat' "
            "failed to satisfy constraint: Member must satisfy enum value set: [JSON, Text]"
        )
    for key, allowed in _LOG_LEVELS.items():
        if key in merged:
            if log_format != "JSON":
                raise invalid_parameter(
                    f"{key} is only supported when LogFormat is JSON (LogFormat is {log_format})"
                )
            if merged[key] not in allowed:
                raise validation(
                    f"1 validation error detected: Value '{merged[key]}' at "
                    f"'loggingConfig.{key[0].lower()}{key[1:]}' failed to satisfy constraint: "
                    f"Member must satisfy enum value set: [{', '.join(allowed)}]"
                )
    group = merged.get("LogGroup")
    if group is not None and not _LOG_GROUP_RE.match(group):
        raise validation(
            f"1 validation error detected: Value '{group}' at 'loggingConfig.logGroup' failed "
            r"to satisfy constraint: Member must satisfy regular expression pattern: "
            r"[\.\-_/#A-Za-z0-9]+"
        )
    return merged


def check_config(config: FunctionConfig) -> None:
    """The ranges and values every stored configuration keeps."""
    check_int_range("timeout", config.timeout, TIMEOUT_RANGE)
    check_int_range("memorySize", config.memory_size, MEMORY_RANGE)
    check_runtime(config.runtime)
    check_handler(config.handler)


def check_alias_name(name: Any) -> str:
    if not isinstance(name, str) or not ALIAS_NAME_RE.match(name):
        raise validation(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "(?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )
    return name


def check_version_string(value: Any, field: str = "functionVersion") -> str:
    if not isinstance(value, str) or not VERSION_RE.match(value):
        raise validation(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            r"constraint: Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)"
        )
    return value


def parse_routing_config(routing: Any) -> dict[str, float]:
    """``RoutingConfig`` → the additional-version weights, checked in AWS's order.

    Shape and range are ValidationExceptions (the model's constraints); more than one entry is
    an InvalidParameterValueException. A weight of exactly 1.0 is admitted, as the model does.
    """
    if routing is None:
        return {}
    weights = routing.get("AdditionalVersionWeights", {}) if isinstance(routing, Mapping) else None
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise validation("RoutingConfig.AdditionalVersionWeights must be a map")
    rendered = "{" + ", ".join(f"{k}={_java_double(v)}" for k, v in weights.items()) + "}"
    for key in weights:
        if not isinstance(key, str) or not re.fullmatch(r"[0-9]+", key):
            raise validation(
                f"1 validation error detected: Value '{rendered}' at "
                "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys "
                "must satisfy constraint: [Member must have length less than or equal to 1024, "
                "Member must have length greater than or equal to 1, Member must satisfy regular "
                "expression pattern: [0-9]+]"
            )
    for value in weights.values():
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not 0.0 <= float(value) <= 1.0
        ):
            raise validation(
                f"1 validation error detected: Value '{rendered}' at "
                "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value "
                "must satisfy constraint: [Member must have value less than or equal to 1.0, "
                "Member must have value greater than or equal to 0.0, Member must not be null]"
            )
    if len(weights) > 1:
        raise invalid_parameter(
            "Number of items in AdditionalVersionWeights cannot be greater than 1"
        )
    return {str(k): float(v) for k, v in weights.items()}


def check_routing_against_primary(primary: str, weights: Mapping[str, float]) -> None:
    """The rules that relate the weights to the alias's primary version."""
    if not weights:
        return
    if primary == "$LATEST":
        raise invalid_parameter(
            "$LATEST is not supported for an alias pointing to more than 1 version"
        )
    for version in weights:
        if version == primary:
            raise invalid_parameter(
                f"Invalid function version {version}. Function version {version} is already "
                "included in routing configuration."
            )


def check_payload(payload: bytes) -> None:
    """Sync Invoke payload limit and JSON validity (empty means ``{}``)."""
    if len(payload) > MAX_SYNC_PAYLOAD:
        raise AwsApiError(
            "RequestTooLargeException",
            f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction "
            "operation",
            413,
            {"Type": "User"},
        )


def _java_double(value: Any) -> str:
    """Render a number the way AWS's Java validation messages do (``2.0``, ``0.5``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value))
    return str(value)


MAX_SYNC_RESPONSE = 6 * 1024 * 1024 + 100  # 6 MB, plus the headroom AWS reports (6291556)


def limit_response_size(outcome: InvocationOutcome) -> InvocationOutcome:
    """A synchronous response over Lambda's limit becomes the function error AWS reports."""
    if len(outcome.payload) <= MAX_SYNC_RESPONSE or outcome.function_error is not None:
        return outcome
    size = len(outcome.payload)
    body = (
        f'{{"errorMessage": "Response payload size ({size} bytes) exceeded maximum allowed '
        f'payload size ({MAX_SYNC_RESPONSE} bytes).", "errorType": '
        '"Function.ResponseSizeTooLarge"}'
    )
    return dataclasses.replace(
        outcome,
        payload=body.encode(),
        function_error="Unhandled",
        error_type="Function.ResponseSizeTooLarge",
    )
