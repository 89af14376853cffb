"""The Lambda API's JSON shapes of the subsystem's values (``FunctionConfiguration``,
``AliasConfiguration``, ``GetFunction``, list pages), as botocore's ``lambda`` model names them.

Pure: values and the time in, plain dicts out; ARNs are built for the engine's region and
account. State, LastUpdateStatus and RevisionId depend on the time (:mod:`.states`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from apicanary import arns
from apicanary.engine.functions import states
from apicanary.engine.functions.model import LATEST, AliasState, FunctionState, VersionState

DEFAULT_PAGE = 50


def last_modified(epoch_seconds: float) -> str:
    """``LastModified``: ``2024-07-10T12:28:36.123+0000``."""
    millis = round((epoch_seconds % 1) * 1000) % 1000
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_seconds))
    return f"{stamp}.{millis:03d}+0000"


def version(
    state: VersionState,
    *,
    region: str,
    account: str,
    now: float,
    shown_as: str | None = None,
    listed: bool = False,
) -> dict[str, Any]:
    """A ``FunctionConfiguration`` at time ``now``.

    ``FunctionArn`` carries ``shown_as``, the qualifier the caller named (``$LATEST``, a
    version or an alias); without one, ``$LATEST``'s ARN is unqualified and a version's
    qualified by its number. ``listed``: the shape of a list item (ListFunctions,
    ListVersionsByFunction), which has no State or LastUpdateStatus fields.
    """
    config = state.config
    qualifier = shown_as or (None if state.version == LATEST else state.version)
    rendered: dict[str, Any] = {
        "FunctionName": state.function_name,
        "FunctionArn": arns.function_arn(
            state.function_name, qualifier, region=region, account=account
        ),
        "Runtime": config.runtime,
        "Role": config.role,
        "Handler": config.handler,
        "CodeSize": state.code_size,
        "Description": config.description,
        "Timeout": config.timeout,
        "MemorySize": config.memory_size,
        "LastModified": state.last_modified,
        "CodeSha256": state.code_sha256,
        "Version": state.version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": states.revision_at(state, now),
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "LoggingConfig": _logging_config(state),
    }
    if not listed:
        rendered.update(states.status_fields(state, now))
    if config.environment:
        rendered["Environment"] = {"Variables": dict(config.environment)}
    return rendered


def alias(state: AliasState, *, region: str, account: str) -> dict[str, Any]:
    """An ``AliasConfiguration``; ``RoutingConfig`` only when the alias splits traffic."""
    rendered: dict[str, Any] = {
        "AliasArn": arns.function_arn(
            state.function_name, state.name, region=region, account=account
        ),
        "Name": state.name,
        "FunctionVersion": state.function_version,
        "Description": state.description,
        "RevisionId": state.revision_id,
    }
    if state.weights:
        rendered["RoutingConfig"] = {"AdditionalVersionWeights": dict(state.weights)}
    return rendered


def function(
    state: FunctionState,
    described: VersionState,
    code_root: Path,
    *,
    region: str,
    account: str,
    now: float,
    shown_as: str | None,
) -> dict[str, Any]:
    """``GetFunction``: the described version's configuration (its ARN qualified by
    ``shown_as``, see :func:`version`), its code location, concurrency."""
    result: dict[str, Any] = {
        "Configuration": version(
            described, region=region, account=account, now=now, shown_as=shown_as
        ),
        "Code": {
            "RepositoryType": "S3",
            "Location": (code_root / f"{described.code_hex}.zip").as_uri(),
        },
        "Tags": {},
    }
    if state.reserved_concurrency is not None:
        result["Concurrency"] = {"ReservedConcurrentExecutions": state.reserved_concurrency}
    return result


def page(
    key: str, items: list[dict[str, Any]], marker: str | None, max_items: int | None
) -> dict[str, Any]:
    """``{key: items[marker:marker+max_items], "NextMarker"?}`` (the marker is an offset)."""
    start = int(marker) if marker and marker.isdigit() else 0
    size = max_items if max_items and max_items > 0 else DEFAULT_PAGE
    end = start + size
    result: dict[str, Any] = {key: items[start:end]}
    if end < len(items):
        result["NextMarker"] = str(end)
    return result


def policy_statement(sid: str, resource: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The statement AddPermission stores for ``params`` (``Principal``, ``Action``,
    ``SourceArn``)."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": params.get("Principal", "")},
        "Action": params.get("Action", "lambda:InvokeFunction"),
        "Resource": resource,
    }
    if params.get("SourceArn"):
        statement["Condition"] = {"ArnLike": {"AWS:SourceArn": params["SourceArn"]}}
    return statement


def policy(statements: Sequence[Any], revision_id: str) -> dict[str, Any]:
    """GetPolicy: the resource policy as JSON text, as the API returns it."""
    document = {"Version": "2012-10-17", "Id": "default", "Statement": list(statements)}
    return {"Policy": json_text(document), "RevisionId": revision_id}


def json_text(value: Any) -> str:
    """``value`` as compact JSON text (policies travel as strings inside the JSON answer)."""
    return orjson.dumps(value).decode()


def _logging_config(state: VersionState) -> dict[str, str]:
    """Lambda always reports the format and the group; the levels only when set (JSON)."""
    config = state.config
    rendered = {
        "LogFormat": config.log_format,
        "LogGroup": config.log_group(state.function_name),
    }
    for key in ("ApplicationLogLevel", "SystemLogLevel"):
        if key in config.logging:
            rendered[key] = config.logging[key]
    return rendered
