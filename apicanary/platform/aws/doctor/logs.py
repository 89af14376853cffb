"""The evidence checks: ``log-format`` and ``access-log`` (what the log reader will read).

``log-format``  the function's ``LoggingConfig.LogFormat``. Text works; JSON gives each
                invocation one ``platform.report`` record carrying its status (error,
                timeout) and durations, so nothing depends on attributing a separate error
                line to its report, and the handler's own ERROR-level logging is never
                mistaken for a failure.
``access-log``  stage mode: the stage writes an access log, and its format carries the
                request id, the status and a latency (else the rollout falls back to
                CloudWatch metrics: minutes late, no latency test); with
                ``$context.integration.requestId`` cold starts are told apart too.
"""

from __future__ import annotations

from apicanary.errors import ApicanaryError
from apicanary.platform.aws.doctor.target import ClientFactory, DoctorTarget, failed
from apicanary.platform.aws.errors import aws_call
from apicanary.platform.aws.logs.access_lines import compile_format
from apicanary.platform.aws.logs.reader import function_log_format, function_log_group
from apicanary.project.findings import Finding

JSON_GAIN = (
    "JSON adds a platform.report record per invocation with its status and durations: "
    "failures and timeouts read from one line, and ERROR-level logging by the handler is "
    "never taken for a failure"
)
RECOMMENDED_FORMAT = (
    '{"requestId":"$context.requestId","status":"$context.status",'
    '"responseLatency":"$context.responseLatency",'
    '"integrationLatency":"$context.integrationLatency",'
    '"integrationRequestId":"$context.integration.requestId"}'
)


def check_log_format(lambda_: object, target: DoctorTarget) -> list[Finding]:
    try:
        config = aws_call(lambda_, "get_function_configuration", FunctionName=target.function)
    except ApicanaryError as error:
        return [failed("log-format", error)]
    group = function_log_group(config, target.function)
    log_format = function_log_format(config)
    if log_format == "JSON":
        return [Finding("ok", "log-format", f"{target.function} logs JSON to {group}")]
    return [
        Finding(
            "ok",
            "log-format",
            f"{target.function} logs Text to {group}: the reader handles it; {JSON_GAIN}",
            "set LoggingConfig: {LogFormat: JSON} on the function (SAM: Properties or Globals)",
        )
    ]


def check_access_log(apigateway: object, target: DoctorTarget) -> list[Finding]:
    if not (target.api_id and target.stage):
        return []
    try:
        stage = aws_call(apigateway, "get_stage", restApiId=target.api_id, stageName=target.stage)
    except ApicanaryError as error:
        return [failed("access-log", error)]
    settings = stage.get("accessLogSettings") or {}
    destination, template = settings.get("destinationArn"), settings.get("format")
    hint = f"set the stage's accessLogSettings, e.g. format {RECOMMENDED_FORMAT}"
    if not destination or not template:
        return [
            Finding(
                "error",
                "access-log",
                f"stage {target.stage} writes no access log: a stage canary would be judged "
                "on CloudWatch metrics (minutes late, no latency test)",
                hint,
            )
        ]
    fmt = compile_format(str(template))
    missing = fmt.missing()
    if missing:
        return [
            Finding(
                "error",
                "access-log",
                f"the access-log format of stage {target.stage} lacks {', '.join(missing)}",
                hint,
            )
        ]
    if not fmt.has("integration.requestId"):
        return [
            Finding(
                "warning",
                "access-log",
                f"stage {target.stage} logs what the reader needs, but not "
                "$context.integration.requestId: cold starts count in the latency test",
                "add $context.integration.requestId to the access-log format",
            )
        ]
    return [Finding("ok", "access-log", f"stage {target.stage} logs every field the reader uses")]


def check_logs(client: ClientFactory, target: DoctorTarget) -> list[Finding]:
    """Both checks of the module docstring."""
    return check_log_format(client("lambda"), target) + check_access_log(
        client("apigateway"), target
    )


__all__ = ["JSON_GAIN", "RECOMMENDED_FORMAT", "check_access_log", "check_log_format", "check_logs"]
