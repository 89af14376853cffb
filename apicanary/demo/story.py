"""The demo, start to end, on a real ``apicanary serve`` and real HTTP.

1. copy the bundled orders-api example to a scratch directory and serve it;
2. send steady synthetic traffic to its stage;
3. release a good version through a compressed CodeDeploy-style canary: watch it promoted;
4. release a bad version (a crash on one route for some inputs): watch it rolled back;
5. summarise (requests served, failures users saw, time and failed canary requests before
   the rollback, every decision with its reason) and write an HTML report.

It drives the server exactly as a user would: boto3 against the control port to publish, the
``/_apicanary`` API to start rollouts, plain HTTP to the gateway for traffic.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx

from apicanary.arns import DEFAULT_REGION
from apicanary.demo import releases, report
from apicanary.demo.traffic import Traffic
from apicanary.errors import PlatformError
from apicanary.server.process import ServerProcess, spawn_server

FUNCTION = "OrdersFunction"
ALIAS = "live"
ALARM = "OrdersErrorsAlarm"


def example_dir() -> Path:
    """The bundled example project (``examples/orders-api`` beside the package)."""
    import apicanary

    candidate = Path(apicanary.__file__).resolve().parent.parent / "examples" / "orders-api"
    if not (candidate / "template.yaml").is_file():
        raise PlatformError(
            f"the demo's example project is missing ({candidate})",
            hint="run the demo from a checkout of the apicanary repository (make demo)",
        )
    return candidate


def ending(status: str, reason: str, after_s: float | None = None) -> str:
    """How a rollout ended, in words: ``rolled back after 2.3s: canary error rate ...``.

    The status is said once: a reason that only repeats it (a promotion's reason is
    ``promoted``) is left out, and one that starts with it (``aborted by a human``,
    ``promoted (unverified: ...)``) goes on from it.
    """
    words = status.replace("_", " ")
    if after_s is not None:
        words += f" after {after_s:.1f}s"
    detail = reason.strip()
    for lead in (status, status.replace("_", " ")):
        if detail.startswith(lead):
            rest = detail[len(lead) :].strip()
            if rest.startswith(":"):
                return f"{words}: {rest[1:].strip()}"
            return f"{words} {rest}" if rest else words
    return f"{words}: {detail}" if detail else words


@dataclass
class DemoOptions:
    rate: float = 60.0  # requests per second of synthetic traffic
    strategy: str = "Canary10Percent5Minutes"
    time_scale: float = 30.0  # a 5-minute bake lasts 10 s
    warmup_s: float = 3.0
    report_path: Path = Path("demo-report.html")
    keep_dir: Path | None = None  # keep the scratch project and state here (for debugging)


@dataclass
class ReleaseOutcome:
    name: str
    summary: str
    version: str
    rollout_id: str
    status: str
    reason: str
    duration_s: float
    canary_requests: int
    canary_failures: int
    started_at: float  # seconds since traffic started


@dataclass
class DemoRun:
    options: DemoOptions
    show: Callable[[dict[str, Any] | None, str], None]
    weights: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    outcomes: list[ReleaseOutcome] = field(default_factory=list)
    apis: list[dict[str, Any]] = field(default_factory=list)  # REST and HTTP APIs served

    async def run(self) -> dict[str, Any]:
        scratch = Path(tempfile.mkdtemp(prefix="apicanary-demo-"))
        workdir = self.options.keep_dir or scratch
        project = workdir / "project"
        shutil.copytree(example_dir(), project, dirs_exist_ok=True)
        self.show(None, f"serving the orders API from {project}")
        server = await asyncio.to_thread(
            spawn_server, workdir / "state", project / "template.yaml", seed=42
        )
        try:
            return await self._story(server, project)
        finally:
            await asyncio.to_thread(server.stop)
            if self.options.keep_dir is None:
                shutil.rmtree(scratch, ignore_errors=True)

    async def _story(self, server: ServerProcess, project: Path) -> dict[str, Any]:
        provisioned = server.info.get("provisioned") or {}
        for kind, key in (("REST", "apis"), ("HTTP", "httpApis")):
            for api in provisioned.get(key) or []:
                self.apis.append(
                    {"kind": kind, "name": api["name"], "id": api["api_id"],
                     "stage": api["stage"], "routes": len(api["routes"])}
                )  # fmt: skip
                routes = len(api["routes"])
                self.show(None, f"{kind} API {api['name']} ({api['api_id']}), stage "
                          f"{api['stage']}: {routes} route(s) to the live alias")  # fmt: skip
        traffic = Traffic(f"{server.gateway_url}/Prod", rate=self.options.rate)
        stop = asyncio.Event()
        load = asyncio.create_task(traffic.run(stop))
        lam = boto3.client(
            "lambda", endpoint_url=server.control_url, region_name=DEFAULT_REGION,
            aws_access_key_id="apicanary", aws_secret_access_key="apicanary",
        )  # fmt: skip
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=server.control_url, timeout=30) as control:
            self.show(None, f"steady traffic at {self.options.rate:g} req/s; warming up")
            await asyncio.sleep(self.options.warmup_s)
            source = project / "src" / "app.py"
            for release in (releases.GOOD, releases.BAD):
                source.write_text(releases.apply(release, source.read_text()))
                version = (await asyncio.to_thread(lam.publish_version, FunctionName=FUNCTION))[
                    "Version"
                ]
                self.show(None, f"release {version} ({release.name}): {release.summary}")
                outcome = await self._release(control, release, str(version), started)
                self.outcomes.append(outcome)
                await asyncio.sleep(2.0)
            stop.set()
            await load
            decisions = await self._decisions(control, started)
        return self._summary(traffic, decisions)

    async def _release(
        self,
        control: httpx.AsyncClient,
        release: releases.Release,
        version: str,
        started: float,
    ) -> ReleaseOutcome:
        response = await control.post(
            "/_apicanary/rollouts",
            json={
                "function": FUNCTION,
                "alias": ALIAS,
                "toVersion": version,
                "strategy": self.options.strategy,
                "timeScale": self.options.time_scale,
                "alarms": [ALARM],
            },
        )
        if response.status_code != 201:
            raise PlatformError(f"starting the {release.name} rollout failed: {response.text}")
        document = response.json()
        began = time.monotonic()
        label = f"v{version}"
        series = self.weights.setdefault(label, [(began - started, 0.0)])
        while not document.get("terminal"):
            await asyncio.sleep(0.25)
            document = (await control.get(f"/_apicanary/rollouts/{document['id']}")).json()
            series.append((time.monotonic() - started, float(document.get("effectiveShare", 0))))
            self.show(document, "")
        series.append((time.monotonic() - started, float(document.get("effectiveShare", 0))))
        self.show(
            document,
            f"{label} ({release.name}): {ending(document['status'], document.get('reason', ''))}",
        )
        progress = document.get("progress") or {}
        return ReleaseOutcome(
            name=release.name,
            summary=release.summary,
            version=version,
            rollout_id=document["id"],
            status=document["status"],
            reason=document.get("reason", ""),
            duration_s=time.monotonic() - began,
            canary_requests=int(progress.get("canaryRequests", 0)),
            canary_failures=int(progress.get("canaryErrors", 0)),
            started_at=began - started,
        )

    async def _decisions(self, control: httpx.AsyncClient, started: float) -> list[dict[str, Any]]:
        decisions: list[dict[str, Any]] = []
        for outcome in self.outcomes:
            body = (await control.get(f"/_apicanary/rollouts/{outcome.rollout_id}/events")).json()
            events = body["events"]
            origin = events[0]["at"] if events else 0.0
            for event in events:
                decisions.append(
                    {
                        "rollout": f"v{outcome.version}",
                        "at": outcome.started_at + (event["at"] - origin),
                        "kind": event["kind"],
                        "message": event["message"],
                    }
                )
        return decisions

    def _summary(self, traffic: Traffic, decisions: list[dict[str, Any]]) -> dict[str, Any]:
        answers = traffic.answers
        failed = [a for a in answers if a.status >= 500]
        good, bad = self.outcomes
        bad_window = [
            a for a in failed if bad.started_at <= a.at <= bad.started_at + bad.duration_s
        ]
        summary: dict[str, Any] = {
            "requestsServed": len(answers),
            "failedRequests": len(failed),
            "failedRequestsPercent": 100.0 * len(failed) / len(answers) if answers else 0.0,
            "goodRelease": good.status,
            "badRelease": bad.status,
            "secondsToRollback": round(bad.duration_s, 2),
            "failedCanaryRequestsBeforeRollback": bad.canary_failures,
            "canaryRequestsBeforeRollback": bad.canary_requests,
            "failedRequestsDuringBadRollout": len(bad_window),
            "strategy": self.options.strategy,
            "timeScale": self.options.time_scale,
            "apis": list(self.apis),
            "releases": [
                {
                    "name": o.name,
                    "summary": o.summary,
                    "version": o.version,
                    "rolloutId": o.rollout_id,
                    "status": o.status,
                    "reason": o.reason,
                    "durationS": o.duration_s,
                }
                for o in self.outcomes
            ],
            "decisions": decisions,
        }
        marks = [
            (d["at"], f"{d['rollout']} {d['kind']}")
            for d in decisions
            if d["kind"] in ("promoted", "rolled_back", "aborted")
        ]
        path = self.options.report_path
        path.write_text(report.render(summary, answers, self.weights, marks))
        summary["report"] = str(path.resolve())
        return summary
