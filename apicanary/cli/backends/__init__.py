"""Where the rollout commands run: a local ``apicanary serve`` (``local.py``) or an in-process
controller against AWS (``aws.py``), one class each behind ``base.RolloutBackend``, chosen
once by :func:`open_backend` from ``--backend``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from apicanary.cli.backends.base import RolloutBackend


def _local(options: Mapping[str, Any]) -> RolloutBackend:
    from apicanary.cli.backends.local import LocalBackend

    return LocalBackend(options.get("control_url"))


def _aws(options: Mapping[str, Any]) -> RolloutBackend:
    from apicanary.cli.backends.aws import AwsBackend  # boto3: imported only when asked for

    return AwsBackend(
        state_dir=options["state_dir"],
        region=options.get("region"),
        profile=options.get("profile"),
        endpoint_url=options.get("endpoint_url"),
        telemetry_delay_s=options.get("telemetry_delay"),
    )


BACKENDS: dict[str, Callable[[Mapping[str, Any]], RolloutBackend]] = {"local": _local, "aws": _aws}


def open_backend(options: Mapping[str, Any]) -> RolloutBackend:
    """The backend ``options["backend"]`` names, built from the other CLI options."""
    return BACKENDS[options["backend"]](options)


__all__ = ["BACKENDS", "RolloutBackend", "open_backend"]
