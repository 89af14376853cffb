"""The boto3 clients the AWS platform uses, from the standard credential chain.

Lambda, API Gateway and CloudWatch clients use botocore's ``standard`` retry mode (it absorbs
throttling and transient 5xx); hook invocations get a client of their own per timeout, with
that read timeout and no retries. Errors creating a session or a client are translated by
:mod:`apicanary.platform.aws.errors`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apicanary.platform.aws.errors import translate

USER_AGENT = "apicanary"
DEFAULT_MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class AwsClients:
    """The boto3 clients ``AwsPlatform`` uses (any object with the same methods will do).

    ``hooks`` invokes hook functions; it needs its own read timeout and no retries, so
    :func:`make_clients` builds it per timeout through ``hook_client``.
    """

    lambda_: Any
    apigateway: Any
    cloudwatch: Any
    hook_client: Callable[[float], Any] | None = None
    logs: Any = None  # CloudWatch Logs: per-request evidence (None: metrics only)
    apigatewayv2: Any = None  # HTTP APIs: to tell them apart (stage mode) and for doctor


def make_session(*, region: str | None = None, profile: str | None = None) -> Any:
    """A boto3 Session from the standard chain (``profile`` / ``region`` override it)."""
    import boto3

    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except Exception as exc:
        raise translate(exc, "Session") from exc


def make_clients(
    session: Any,
    *,
    endpoint_url: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> AwsClients:
    """Lambda, API Gateway, CloudWatch and CloudWatch Logs clients with botocore's standard
    retry mode.

    With ``endpoint_url`` the logs client does not prefix hosts: botocore sends StartLiveTail
    to ``stream-<host>`` (the operation's endpoint host prefix), which exists on AWS but not
    on a custom endpoint (``inject_host_prefix=False``).
    """
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        user_agent_extra=USER_AGENT,
    )

    def client(service: str, cfg: Any = config) -> Any:
        try:
            return session.client(service, endpoint_url=endpoint_url, config=cfg)
        except Exception as exc:
            raise translate(exc, f"{service} client") from exc

    def hook_client(timeout_s: float) -> Any:
        hook_config = Config(
            retries={"mode": "standard", "max_attempts": 1},
            read_timeout=max(1.0, timeout_s),
            connect_timeout=min(10.0, max(1.0, timeout_s)),
            user_agent_extra=USER_AGENT,
        )
        return client("lambda", hook_config)

    logs_config = config.merge(Config(inject_host_prefix=False)) if endpoint_url else config
    return AwsClients(
        lambda_=client("lambda"),
        apigateway=client("apigateway"),
        cloudwatch=client("cloudwatch"),
        hook_client=hook_client,
        logs=client("logs", logs_config),
        apigatewayv2=client("apigatewayv2"),
    )
