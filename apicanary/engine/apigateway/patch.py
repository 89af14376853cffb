"""UpdateStage: JSON-patch operations on a stage, with API Gateway's canary semantics.

:func:`apply_stage_patch` is pure: it takes a stage in the stored form (see
:mod:`apicanary.engine.apigateway.stage`) and returns a new one, or raises the error AWS answers
with for the first bad operation (so a list with one bad op changes nothing).
Operations apply in order and each sees the effect of the previous ones: a
``replace /canarySettings/percentTraffic`` earlier in the list creates the canary that a later
promotion ``copy`` needs (reference §2.4, [Rec] ``test_update_stage_with_copy_ops``).

Canary paths accept only ``replace`` (and ``remove`` for an override or the whole canary);
setting any canary field on a stage without a canary creates one with AWS's defaults:
``percentTraffic 0.0``, ``useStageCache false``, ``deploymentId`` = the stage's deployment.
Promotion copies MERGE the overrides into ``variables`` and leave the canary in place.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from apicanary.engine.apigateway import errors as err
from apicanary.engine.apigateway import validate as valid

_CANARY = "canarySettings"
_PROMOTIONS = {
    ("/canarySettings/stageVariableOverrides", "/variables"),
    ("/canarySettings/deploymentId", "/deploymentId"),
}
_METHOD_SETTINGS: dict[str, tuple[str, str]] = {
    "metrics/enabled": ("metricsEnabled", "bool"),
    "logging/dataTrace": ("dataTraceEnabled", "bool"),
    "logging/loglevel": ("loggingLevel", "str"),
    "throttling/burstLimit": ("throttlingBurstLimit", "int"),
    "throttling/rateLimit": ("throttlingRateLimit", "float"),
    "caching/enabled": ("cachingEnabled", "bool"),
    "caching/ttlInSeconds": ("cacheTtlInSeconds", "int"),
    "caching/dataEncrypted": ("cacheDataEncrypted", "bool"),
    "caching/requireAuthorizationForCacheControl": ("requireAuthorizationForCacheControl", "bool"),
    "caching/unauthorizedCacheControlHeaderStrategy": (
        "unauthorizedCacheControlHeaderStrategy",
        "str",
    ),
}
_METHOD_SETTING_DEFAULTS: dict[str, Any] = {
    "metricsEnabled": False,
    "loggingLevel": "OFF",
    "dataTraceEnabled": False,
    "throttlingBurstLimit": 5000,
    "throttlingRateLimit": 10000.0,
    "cachingEnabled": False,
    "cacheTtlInSeconds": 300,
    "cacheDataEncrypted": False,
    "requireAuthorizationForCacheControl": True,
    "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER",
}
_SCALARS: dict[str, str] = {
    "/description": "str",
    "/cacheClusterEnabled": "bool",
    "/cacheClusterSize": "str",
    "/clientCertificateId": "str",
    "/tracingEnabled": "bool",
    "/documentationVersion": "str",
}


def apply_stage_patch(
    stage: Mapping[str, Any],
    operations: Sequence[Mapping[str, Any]],
    deployment_exists: Callable[[str], bool],
) -> dict[str, Any]:
    """Return ``stage`` with ``operations`` applied; raise on the first invalid operation."""
    patcher = _Patcher(copy.deepcopy(dict(stage)), deployment_exists)
    for operation in operations:
        patcher.apply(operation)
    valid.variable_count(patcher.stage["variables"])
    return patcher.stage


def unescape(segment: str) -> str:
    """JSON-pointer unescaping of one path segment (``~1`` is ``/``, ``~0`` is ``~``)."""
    return segment.replace("~1", "/").replace("~0", "~")


class _Patcher:
    def __init__(self, stage: dict[str, Any], deployment_exists: Callable[[str], bool]) -> None:
        self.stage = stage
        self.deployment_exists = deployment_exists

    def apply(self, operation: Mapping[str, Any]) -> None:
        op = operation.get("op")
        path = operation.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise err.bad_request(f"Invalid patch path {path!r}")
        value = operation.get("value")
        if op == "copy":
            self._copy(path, operation.get("from"))
        elif op in ("add", "replace"):
            self._set(op, path, value)
        elif op == "remove":
            self._remove(path)
        else:
            raise err.invalid_patch_op(str(op))

    # -- copy: the promotion ---------------------------------------------------------------

    def _copy(self, path: str, source: Any) -> None:
        if (source, path) not in _PROMOTIONS:
            raise err.invalid_copy(path, str(source))
        canary = self.stage.get(_CANARY)
        if canary is None:
            raise err.bad_request(err.PROMOTION_WITHOUT_CANARY)
        if path == "/variables":
            self.stage["variables"].update(canary["stageVariableOverrides"])
        else:
            self.stage["deploymentId"] = canary["deploymentId"]

    # -- add / replace -------------------------------------------------------------------------

    def _set(self, op: str, path: str, value: Any) -> None:
        parts = path.split("/")[1:]
        if parts[0] == _CANARY:
            if op == "add":
                raise err.invalid_op_path(op, path)
            self._set_canary(path, parts[1:], value)
        elif parts[0] == "variables" and len(parts) == 2 and parts[1]:
            name = valid.variable_name(unescape(parts[1]))
            self.stage["variables"][name] = valid.variable_value(name, value)
        elif op == "add" and path != "/description":
            raise err.invalid_op_path(op, path)
        elif path == "/deploymentId":
            self.stage["deploymentId"] = self._existing_deployment(value)
        elif path in _SCALARS:
            self.stage[path[1:]] = _convert(value, _SCALARS[path], path)
        elif path in ("/accessLogSettings/destinationArn", "/accessLogSettings/format"):
            settings = self.stage.setdefault("accessLogSettings", {})
            settings[parts[1]] = _convert(value, "str", path)
        elif len(parts) == 4 and "/".join(parts[2:]) in _METHOD_SETTINGS:
            key = f"{unescape(parts[0]).lstrip('/')}/{parts[1]}"
            field, kind = _METHOD_SETTINGS["/".join(parts[2:])]
            setting = self.stage["methodSettings"].setdefault(key, dict(_METHOD_SETTING_DEFAULTS))
            setting[field] = _convert(value, kind, path)
        else:
            raise err.invalid_setting_path(path)

    def _set_canary(self, path: str, rest: list[str], value: Any) -> None:
        field = rest[0] if rest else ""
        if field == "stageVariableOverrides" and len(rest) == 2 and rest[1]:
            name = valid.variable_name(unescape(rest[1]))
            overrides = self._canary()["stageVariableOverrides"]
            overrides[name] = valid.variable_value(name, value)
            valid.variable_count(overrides, "variable overrides")
        elif field == "percentTraffic" and len(rest) == 1:
            self._canary()["percentTraffic"] = valid.percent_traffic(value)
        elif field == "deploymentId" and len(rest) == 1:
            deployment_id = self._existing_deployment(value)
            self._canary()["deploymentId"] = deployment_id
        elif field == "useStageCache" and len(rest) == 1:
            self._canary()["useStageCache"] = valid.boolean(value, path)
        else:
            raise err.invalid_setting_path(path)

    def _canary(self) -> dict[str, Any]:
        canary = self.stage.get(_CANARY)
        if canary is None:
            canary = new_canary(self.stage["deploymentId"])
            self.stage[_CANARY] = canary
        return canary

    def _existing_deployment(self, value: Any) -> str:
        if not isinstance(value, str) or not self.deployment_exists(value):
            raise err.bad_request(err.DEPLOYMENT_ID_UNKNOWN)
        return value

    # -- remove --------------------------------------------------------------------------------

    def _remove(self, path: str) -> None:
        parts = path.split("/")[1:]
        if path == "/canarySettings":
            self.stage[_CANARY] = None
        elif parts[0] == _CANARY and len(parts) == 3 and parts[1] == "stageVariableOverrides":
            canary = self.stage.get(_CANARY)
            if canary is not None:
                canary["stageVariableOverrides"].pop(unescape(parts[2]), None)
        elif parts[0] == "variables" and len(parts) == 2 and parts[1]:
            self.stage["variables"].pop(unescape(parts[1]), None)
        elif path in ("/description", "/accessLogSettings", "/clientCertificateId"):
            self.stage.pop(path[1:], None)
        elif len(parts) >= 2 and parts[0] != _CANARY:
            key = f"{unescape(parts[0]).lstrip('/')}/{parts[1]}"
            if self.stage["methodSettings"].pop(key, None) is None:
                raise err.cannot_remove_setting(key)
        elif len(parts) >= 2:
            raise err.cannot_remove_setting(f"{parts[0]}/{parts[1]}")
        else:
            raise err.invalid_op_path("remove", path)


def new_canary(deployment_id: str) -> dict[str, Any]:
    """A canary with AWS's implicit defaults, pointing at ``deployment_id``."""
    return {
        "deploymentId": deployment_id,
        "percentTraffic": 0.0,
        "stageVariableOverrides": {},
        "useStageCache": False,
    }


def _convert(value: Any, kind: str, path: str) -> Any:
    if kind == "bool":
        return valid.boolean(value, path)
    if value is None:
        raise err.bad_request(f"Invalid null value for {path}")
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    except (TypeError, ValueError):
        raise err.bad_request(f"Invalid {kind} value {value!r} for {path}") from None
    return str(value)
