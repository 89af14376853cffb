"""The one exception tree of apicanary.

Every error apicanary raises derives from :class:`ApicanaryError`::

    ApicanaryError                      exit code 1 unless a subclass says otherwise
    ├── BadInputError                   exit 2: the user's input is wrong (field, value named)
    │   ├── TemplateError               a SAM/CloudFormation template cannot be used
    │   └── StrategyError               a rollout strategy spec is invalid
    ├── AwsApiError                     an error with an AWS error code, as AWS would return it
    │                                   (raised by the local engine, or translated from botocore)
    ├── PlatformError                   a backend (local engine or AWS) failed in a way that is not
    │                                   the user's input
    └── RolloutError                    the rollout controller cannot proceed
        └── RolloutEndedBadly           a waited-on rollout ended rolled back or aborted (exit 3)

Messages name the observed value and the limit, e.g.
``Timeout 901 is out of range: it must be between 1 and 900 seconds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApicanaryError(Exception):
    """Base of every apicanary error. ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1
    reported: bool = False  # already shown to the user: the CLI only sets the exit code

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class BadInputError(ApicanaryError):
    """The user's input is invalid; the message names the field, the value and the limit."""

    exit_code = 2


class TemplateError(BadInputError):
    """A SAM/CloudFormation template cannot be loaded or understood."""


class StrategyError(BadInputError):
    """A rollout strategy is invalid."""


class AwsApiError(ApicanaryError):
    """An error carrying AWS's own error code, HTTP status and message.

    ``code`` is the AWS exception name (``ResourceNotFoundException``), ``status`` the HTTP
    status AWS answers with, and ``fields`` any extra members AWS puts in the error body
    (``Reason`` on ``TooManyRequestsException``, ``Type``...).
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.fields: dict[str, Any] = dict(fields or {})
        if 400 <= status < 500 and code != "TooManyRequestsException":
            self.exit_code = 2

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class PlatformError(ApicanaryError):
    """A backend failed for a reason that is not the user's input."""


class RolloutError(ApicanaryError):
    """The rollout controller cannot proceed."""


class RolloutEndedBadly(RolloutError):
    """A rollout that was waited on ended rolled back or aborted."""

    exit_code = 3


class ReleaseUnverified(RolloutError):
    """A rollout that was waited on promoted a release its evidence could not verify (too
    little canary traffic to have seen a regression): not a failure, never a plain success."""

    exit_code = 4


# --- helpers for the AWS error codes the local engine raises ------------------------------


def not_found(message: str) -> AwsApiError:
    return AwsApiError("ResourceNotFoundException", message, 404, {"Type": "User"})


def invalid_parameter(message: str) -> AwsApiError:
    return AwsApiError("InvalidParameterValueException", message, 400, {"Type": "User"})


def validation(message: str) -> AwsApiError:
    return AwsApiError("ValidationException", message, 400)


def conflict(message: str) -> AwsApiError:
    return AwsApiError("ResourceConflictException", message, 409, {"Type": "User"})


def precondition_failed(message: str) -> AwsApiError:
    return AwsApiError("PreconditionFailedException", message, 412, {"Type": "User"})


REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)
