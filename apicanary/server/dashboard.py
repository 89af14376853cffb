"""The dashboard: the page at ``/`` and the one view-model it renders, ``/_apicanary/view``.

The page (``apicanary/dashboard/``: HTML, CSS and vanilla ES modules, no build step) polls
the view-model every second and updates its DOM in place; its buttons only write intents to
the rollouts API (``POST /_apicanary/rollouts/{id}/intents``), which the controller consumes.

:func:`build_view` is a pure function of the engine's state, the rollout documents and the
clock reading (no I/O of its own beyond reading the engine), so it is unit-tested directly.
View-model shape (``generatedAt`` and every time are epoch seconds)::

    {"generatedAt", "window": {"minutes", "period", "start", "end"},
     "apis": [{"id", "name", "kind": "REST"|"HTTP", "stages": [{"name", "deploymentId", "variables",
               "canary": null | {"percentTraffic", "deploymentId", "stageVariableOverrides",
                                 "useStageCache"}}]}],
     "functions": [{"name", "versions": ["1", "2"], "reservedConcurrency",
                    "aliases": [{"name", "version", "weights": {"1": 80.0, "2": 20.0}}]}],
     "rollouts": {"active": [document...], "past": [document...]},
     "series": {"timestamps": [period starts...],
                "lines": [{"function", "alias", "version", "role": "stable"|"canary"|null,
                           "rps": [...], "errorRate": [...], "p50": [...], "p99": [...],
                           "requests", "errors"}]},
     "runtime": {...Runtime.stats()}}

Rollout documents are the controller's, minus its internal ``analysis`` state and ``cursor``,
plus their ``view`` (``rollout/views.py``): the page draws that (phase text, arms, evidence,
allowed actions) and derives nothing itself.
Series come from the metric store: ``AWS/Lambda`` under ``{FunctionName, Resource=fn:alias,
ExecutedVersion}``, one value per complete period (``null`` where a period had no requests).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from apicanary.engine.apigateway.service import ApiGatewayService
from apicanary.engine.apigatewayv2.service import HttpApiService
from apicanary.engine.cloudwatch.metrics.store import MetricStore
from apicanary.engine.engine import Engine
from apicanary.engine.functions.model import AliasState, LambdaView
from apicanary.rollout.journal import Journal
from apicanary.rollout.views import with_view
from apicanary.server.awshttp import json_response

DEFAULT_MINUTES = 5
DEFAULT_PERIOD = 5
MAX_POINTS = 720
PAST_ROLLOUTS = 20
LAMBDA = "AWS/Lambda"
PRIVATE_KEYS = ("analysis", "cursor")

ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}


# -- the view-model ---------------------------------------------------------------------------


def build_view(
    engine: Engine,
    rollouts: Sequence[Mapping[str, Any]],
    *,
    now: float,
    minutes: int = DEFAULT_MINUTES,
    period: int = DEFAULT_PERIOD,
    runtime: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the dashboard shows, as one JSON-ready dict (see the module docstring)."""
    end = math.floor(now / period) * period  # complete periods only: no half-filled last point
    start = end - max(1, min(minutes * 60 // period, MAX_POINTS)) * period
    view = engine.lambdas.view
    documents = [_public(doc, now) for doc in rollouts]
    active = [d for d in documents if not d.get("terminal")]
    past = sorted(
        (d for d in documents if d.get("terminal")),
        key=lambda d: d.get("endedAt") or d.get("updatedAt") or 0.0,
        reverse=True,
    )[:PAST_ROLLOUTS]
    return {
        "generatedAt": now,
        "window": {"minutes": minutes, "period": period, "start": start, "end": end},
        "apis": apis_view(engine.apigateway) + http_apis_view(engine.http_apis),
        "functions": functions_view(view),
        "rollouts": {"active": active, "past": past},
        "series": series_view(engine.metrics, view, active, start=start, end=end, period=period),
        "runtime": dict(runtime or {}),
    }


def apis_view(service: ApiGatewayService) -> list[dict[str, Any]]:
    """Every REST API with its stages, their deployments and canary settings."""
    items: list[dict[str, Any]] = []
    position: str | None = None
    while True:
        page = service.get_rest_apis(position, 500)
        items += page["item"]
        position = page.get("position")
        if not position:
            break
    out: list[dict[str, Any]] = []
    for api in sorted(items, key=lambda a: (str(a.get("name", "")), str(a["id"]))):
        stages = service.get_stages(str(api["id"]))["item"]
        out.append(
            {
                "id": api["id"],
                "name": api.get("name", ""),
                "kind": "REST",
                "stages": [_stage(s) for s in sorted(stages, key=lambda s: str(s["stageName"]))],
            }
        )
    return out


def http_apis_view(service: HttpApiService) -> list[dict[str, Any]]:
    """Every HTTP API (v2) with its stages; their ``canary`` is always null (HTTP API stages
    have none: they are released by alias weights)."""
    out: list[dict[str, Any]] = []
    apis = service.get_apis()["items"]
    for api in sorted(apis, key=lambda a: (str(a.get("name", "")), str(a["apiId"]))):
        stages = service.get_stages(str(api["apiId"]))["items"]
        out.append(
            {
                "id": api["apiId"],
                "name": api.get("name", ""),
                "kind": "HTTP",
                "stages": [
                    {
                        "name": stage["stageName"],
                        "deploymentId": stage.get("deploymentId"),
                        "variables": dict(stage.get("stageVariables") or {}),
                        "canary": None,
                    }
                    for stage in sorted(stages, key=lambda s: str(s["stageName"]))
                ],
            }
        )
    return out


def _stage(stage: Mapping[str, Any]) -> dict[str, Any]:
    canary = stage.get("canarySettings")
    return {
        "name": stage["stageName"],
        "deploymentId": stage.get("deploymentId"),
        "variables": dict(stage.get("variables") or {}),
        "canary": None
        if canary is None
        else {
            "percentTraffic": float(canary.get("percentTraffic", 0.0)),
            "deploymentId": canary.get("deploymentId"),
            "stageVariableOverrides": dict(canary.get("stageVariableOverrides") or {}),
            "useStageCache": bool(canary.get("useStageCache", False)),
        },
    }


def functions_view(view: LambdaView) -> list[dict[str, Any]]:
    """Every function: published versions and each alias's traffic split (percent)."""
    out: list[dict[str, Any]] = []
    for name in sorted(view.functions):
        state = view.functions[name]
        out.append(
            {
                "name": name,
                "versions": sorted(state.versions, key=_version_order),
                "reservedConcurrency": state.reserved_concurrency,
                "aliases": [
                    {
                        "name": alias.name,
                        "version": alias.function_version,
                        "weights": alias_split(alias),
                    }
                    for alias in sorted(state.aliases.values(), key=lambda a: a.name)
                ],
            }
        )
    return out


def alias_split(alias: AliasState) -> dict[str, float]:
    """``{version: percent}`` of an alias: the primary gets what the extra weights leave."""
    extra = {v: float(w) for v, w in alias.weights.items() if v != alias.function_version}
    split = {alias.function_version: round(max(0.0, 1.0 - sum(extra.values())) * 100, 4)}
    split.update({v: round(w * 100, 4) for v, w in sorted(extra.items())})
    return split


def series_view(
    metrics: MetricStore,
    view: LambdaView,
    active: Sequence[Mapping[str, Any]],
    *,
    start: float,
    end: float,
    period: int,
) -> dict[str, Any]:
    """Per (function, alias, executed version): requests/s, error rate, p50 and p99 (ms)."""
    timestamps = [float(t) for t in range(int(start), int(end), period)]
    roles = _rollout_roles(active)
    lines: list[dict[str, Any]] = []
    for name in sorted(view.functions):
        for alias in sorted(view.functions[name].aliases.values(), key=lambda a: a.name):
            resource = f"{name}:{alias.name}"
            seen = {
                dict((d["Name"], d["Value"]) for d in m["Dimensions"])["ExecutedVersion"]
                for m in metrics.list_metrics(
                    LAMBDA,
                    "Invocations",
                    {"FunctionName": name, "Resource": resource, "ExecutedVersion": None},
                )
            }
            routed = set(alias_split(alias))
            for version in sorted(seen | routed, key=_version_order):
                dims = {"FunctionName": name, "Resource": resource, "ExecutedVersion": version}
                line = _line(metrics, dims, timestamps, start, end, period)
                if line["requests"] == 0 and version not in routed:
                    continue  # old traffic outside the window, version no longer served
                role = roles.get((name, alias.name, version))
                if role is None and version in routed:
                    role = "stable" if version == alias.function_version else "canary"
                lines.append(
                    {"function": name, "alias": alias.name, "version": version, "role": role} | line
                )
    return {"timestamps": timestamps, "lines": lines}


def _line(
    metrics: MetricStore,
    dims: Mapping[str, str],
    timestamps: Sequence[float],
    start: float,
    end: float,
    period: int,
) -> dict[str, Any]:
    if start >= end:
        return {"rps": [], "errorRate": [], "p50": [], "p99": [], "requests": 0, "errors": 0}
    invocations = {
        p.timestamp: p.sum
        for p in metrics.statistics(LAMBDA, "Invocations", dims, start, end, period, ("Sum",))
    }
    errors = {
        p.timestamp: p.sum
        for p in metrics.statistics(LAMBDA, "Errors", dims, start, end, period, ("Sum",))
    }
    durations = {
        p.timestamp: p.extended
        for p in metrics.statistics(
            LAMBDA, "Duration", dims, start, end, period, ("SampleCount",), ("p50", "p99")
        )
    }
    rps: list[float] = []
    error_rate: list[float | None] = []
    p50: list[float | None] = []
    p99: list[float | None] = []
    for ts in timestamps:
        count = invocations.get(ts, 0.0)
        rps.append(round(count / period, 4))
        error_rate.append(round(errors.get(ts, 0.0) / count, 6) if count else None)
        quantiles = durations.get(ts, {})
        p50.append(_finite(quantiles.get("p50")))
        p99.append(_finite(quantiles.get("p99")))
    return {
        "rps": rps,
        "errorRate": error_rate,
        "p50": p50,
        "p99": p99,
        "requests": int(sum(invocations.values())),
        "errors": int(sum(errors.values())),
    }


def _rollout_roles(active: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str, str], str]:
    roles: dict[tuple[str, str, str], str] = {}
    for doc in active:
        target = doc.get("target") or {}
        function, alias = str(target.get("function")), str(target.get("alias"))
        if target.get("fromVersion") is not None:
            roles[(function, alias, str(target["fromVersion"]))] = "stable"
        if target.get("toVersion") is not None:
            roles[(function, alias, str(target["toVersion"]))] = "canary"
    return roles


def _public(document: Mapping[str, Any], now: float) -> dict[str, Any]:
    return {k: v for k, v in with_view(document, now).items() if k not in PRIVATE_KEYS}


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, 3)


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 62, version)


# -- HTTP -------------------------------------------------------------------------------------


def _asset(name: str) -> bytes:
    return (resources.files("apicanary") / "dashboard" / name).read_bytes()


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name, "")
    if not raw.isdigit():
        return default
    return max(low, min(high, int(raw)))


def routes(engine: Engine, journal: Journal) -> list[BaseRoute]:
    """``GET /`` (the page), its static assets and ``GET /_apicanary/view`` (the view-model)."""

    async def page(request: Request) -> Response:
        body = await asyncio.to_thread(_asset, "index.html")
        return Response(body, media_type=ASSETS["index.html"], headers=PAGE_HEADERS)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return json_response({"error": {"type": "NotFound", "message": name}}, 404)
        body = await asyncio.to_thread(_asset, name)
        return Response(body, media_type=ASSETS[name], headers=PAGE_HEADERS)

    async def view(request: Request) -> Response:
        minutes = _int_param(request, "minutes", DEFAULT_MINUTES, 1, 180)
        period = _int_param(request, "period", DEFAULT_PERIOD, 1, 3600)
        runtime = engine.runtime.stats()  # on the loop: the runtime lives there

        def build() -> dict[str, Any]:
            documents = [stored.document for stored in journal.rollouts()]
            return build_view(
                engine,
                documents,
                now=engine.clock.now(),
                minutes=minutes,
                period=period,
                runtime=runtime,
            )

        data = await asyncio.to_thread(build)
        return json_response(data, headers={"Cache-Control": "no-store"})

    return [
        Route("/", page, methods=["GET"]),
        Route("/_apicanary/dashboard/{name}", asset, methods=["GET"]),
        Route("/_apicanary/view", view, methods=["GET"]),
    ]


__all__ = ["build_view", "routes"]
