"""API Gateway's error codes and exact messages, in one place.

Strings tagged [Rec] in ``reference/aws-semantics.md`` §2 are AWS's own, byte for byte
(trailing spaces and missing spaces included). The others are marked ``[Unverified]`` here:
chosen to read like AWS and to name the offending value and the limit.
"""

from __future__ import annotations

from apicanary.errors import AwsApiError


def bad_request(message: str) -> AwsApiError:
    """``BadRequestException`` (400)."""
    return AwsApiError("BadRequestException", message, 400)


def not_found(message: str) -> AwsApiError:
    """``NotFoundException`` (404)."""
    return AwsApiError("NotFoundException", message, 404)


def conflict(message: str) -> AwsApiError:
    """``ConflictException`` (409)."""
    return AwsApiError("ConflictException", message, 409)


def limit_exceeded(message: str) -> AwsApiError:
    """``LimitExceededException`` (429), API Gateway's code for a quota."""
    return AwsApiError("LimitExceededException", message, 429)


# --- not found ---------------------------------------------------------------------------


def api_not_found(account_id: str, api_id: str) -> AwsApiError:
    return not_found(f"Invalid API identifier specified {account_id}:{api_id}")


RESOURCE_NOT_FOUND = "Invalid Resource identifier specified"
METHOD_NOT_FOUND = "Invalid Method identifier specified"
INTEGRATION_NOT_FOUND = "No integration defined for method"
DEPLOYMENT_NOT_FOUND = "Invalid Deployment identifier specified"
STAGE_NOT_FOUND = "Invalid Stage identifier specified"  # [Rec]

# --- resources / methods / integrations ----------------------------------------------------

PATH_PART_INVALID = (
    "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning "
    "and the end and an optional plus sign before the closing brace."
)
PATH_PART_MISSING = "Resource's path part must be specified"
METHOD_EXISTS = "Method already exists for this resource"
ROOT_DELETE = "Cannot delete the root resource"  # [Unverified]
HTTP_METHOD_MISSING = "Enumeration value for HttpMethod must be non-empty"
AWS_PROXY_NOT_LAMBDA = (  # [Rec]
    "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose "
    "stream invocations."
)
INVALID_ARN = "Invalid ARN specified in the request"  # [Rec]
ARN_WITHOUT_PATH_OR_ACTION = "AWS ARN for integration must contain path or action"  # [Rec]
INVALID_HTTP_ENDPOINT = "Invalid HTTP endpoint specified for URI"
NO_METHODS = "The REST API doesn't contain any methods"

# --- deployments and stages ----------------------------------------------------------------

DEPLOYMENT_ID_UNKNOWN = "Deployment id does not exist"  # [Rec]
DEPLOYMENT_IN_USE = "Active stages pointing to this deployment must be moved or deleted"  # [Rec]
DEPLOYMENT_IN_USE_BY_CANARY = (  # [Unverified]
    "Active stages with canary settings pointing to this deployment must be moved or deleted"
)
STAGE_EXISTS = "Stage already exists"
PROMOTION_WITHOUT_CANARY = "Promotion not available. Canary does not exist."  # [Rec]


def canary_needs_stage_name(provided: str | None) -> AwsApiError:
    """[Rec] ``None`` renders as ``null``, the empty string as nothing."""
    shown = "null" if provided is None else provided
    return bad_request(
        "Invalid deployment content specified.Non null and non empty stageName must be "
        f"provided for canary deployment. Provided value is {shown}"
    )


def canary_needs_existing_stage(stage: str) -> AwsApiError:
    """[Rec]"""
    return bad_request(
        f"Invalid deployment content specified.Stage {stage} must already be created before "
        "making a canary release deployment"
    )


def non_canary_deployment_on_canary_stage(stage: str) -> AwsApiError:
    """[Issue serverless#11518]"""
    return bad_request(
        f"Invalid deployment content specified.Non canary deployment not supported on stage "
        f"{stage} because Canary is enabled. Provide CanarySettings in deploymentInput."
    )


# --- UpdateStage patch operations ----------------------------------------------------------

VALID_STAGE_PATHS = (
    "[/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize, "
    "/clientCertificateId, /accessLogSettings, /accessLogSettings/destinationArn, "
    "/accessLogSettings/format, /{resourcePath}/{httpMethod}/metrics/enabled, "
    "/{resourcePath}/{httpMethod}/logging/dataTrace, "
    "/{resourcePath}/{httpMethod}/logging/loglevel, "
    "/{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}/throttling/"
    "rateLimit/{resourcePath}/{httpMethod}/caching/ttlInSeconds, "
    "/{resourcePath}/{httpMethod}/caching/enabled, "
    "/{resourcePath}/{httpMethod}/caching/dataEncrypted, "
    "/{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, "
    "/{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, "
    "/*/*/metrics/enabled, /*/*/logging/dataTrace, /*/*/logging/loglevel, "
    "/*/*/throttling/burstLimit /*/*/throttling/rateLimit /*/*/caching/ttlInSeconds, "
    "/*/*/caching/enabled, /*/*/caching/dataEncrypted, "
    "/*/*/caching/requireAuthorizationForCacheControl, "
    "/*/*/caching/unauthorizedCacheControlHeaderStrategy, /variables/{variable_name}, "
    "/tracingEnabled]"
)


def invalid_setting_path(path: str) -> AwsApiError:
    """[Rec] ``replace`` on a path UpdateStage does not know (or a whole object)."""
    return bad_request(f"Invalid method setting path: {path}. Must be one of: {VALID_STAGE_PATHS}")


def invalid_op_path(op: str, path: str) -> AwsApiError:
    """[Rec] for ``add`` on canary paths; the same form for other unsupported op/path pairs."""
    return bad_request(f"Invalid {op} operation with path: {path}")


def cannot_remove_setting(path: str) -> AwsApiError:
    """[Rec] ``path`` without its leading slash; note the trailing space."""
    return bad_request(
        f"Cannot remove method setting {path} because there is no method setting for this method "
    )


def invalid_copy(path: str, source: str) -> AwsApiError:
    """[Rec]"""
    return bad_request(
        f"Invalid copy operation with path: {path} and from {source}. Valid copy:path are "
        "[/deploymentId, /variables] and valid copy:from are "
        "[/canarySettings/deploymentId, /canarySettings/stageVariableOverrides]"
    )


def invalid_patch_op(op: str) -> AwsApiError:
    """[Unverified]"""
    return bad_request(
        f"Invalid patch operation specified: {op}. Must be one of: [add, remove, replace, copy]"
    )
