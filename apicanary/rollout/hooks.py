"""Lifecycle hooks and notifications: everything a rollout sends to the outside world that is
not traffic.

* Lifecycle hooks (CodeDeploy's BeforeAllowTraffic / AfterAllowTraffic): a Lambda function,
  invoked through the platform, or an http(s) webhook that must answer 2xx within its
  timeout. :func:`run_hook` returns the result; deciding what a failure means (a rollback)
  is the controller's.
* Notifications: a JSON body POSTed to each of the strategy's ``notifications`` URLs when
  something a human cares about happens; best effort, a failing receiver never stops a
  rollout.

The HTTP calls live behind :class:`Webhooks` (:class:`HttpWebhooks` in production), so the
controller makes none itself and its decision tests can record what would have been sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import httpx

from apicanary.platform.base import HookResult, Platform
from apicanary.rollout.state import RolloutState
from apicanary.rollout.strategy.types import HookKind, HookSpec

NOTIFIED_EVENTS = frozenset(
    {"promoted", "rolled_back", "aborted", "paused", "resumed", "step", "gap"}
)
"""Journal event kinds that are also sent as notifications (besides ``created``)."""

NOTIFY_TIMEOUT_S = 2.0


class Webhooks(Protocol):
    """The HTTP side of hooks and notifications."""

    def call(self, url: str, payload: Mapping[str, Any], timeout_s: float) -> HookResult:
        """POST ``payload``; succeeded only on a 2xx answer within ``timeout_s``."""
        ...

    def notify(self, urls: Sequence[str], body: Mapping[str, Any]) -> None:
        """POST ``body`` to each URL, ignoring failures."""
        ...


class HttpWebhooks:
    """:class:`Webhooks` over httpx."""

    def call(self, url: str, payload: Mapping[str, Any], timeout_s: float) -> HookResult:
        try:
            response = httpx.post(url, json=dict(payload), timeout=timeout_s)
        except httpx.HTTPError as error:
            return HookResult(False, f"webhook {url} failed: {error}")
        if 200 <= response.status_code < 300:
            return HookResult(True, f"webhook answered {response.status_code}")
        return HookResult(False, f"webhook answered {response.status_code}: {response.text[:200]}")

    def notify(self, urls: Sequence[str], body: Mapping[str, Any]) -> None:
        for url in urls:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(url, json=dict(body), timeout=NOTIFY_TIMEOUT_S)


def hook_payload(state: RolloutState, name: str) -> dict[str, Any]:
    """What a hook is sent (CodeDeploy's fields, plus the rollout's target)."""
    return {
        "DeploymentId": state.id,
        "LifecycleEventHookExecutionId": f"{state.id}-{name}",
        "Hook": name,
        "Target": state.target.to_dict(),
    }


def run_hook(
    hook: HookSpec, payload: Mapping[str, Any], platform: Platform, webhooks: Webhooks
) -> HookResult:
    """Run one lifecycle hook and wait for its result (within ``hook.timeout``)."""
    timeout = float(hook.timeout)
    if hook.kind is HookKind.FUNCTION:
        return platform.invoke_hook(hook.target, payload, timeout)
    return webhooks.call(hook.target, payload, timeout)


def notify(state: RolloutState, webhooks: Webhooks, kind: str, message: str) -> None:
    """Send one notification about ``state`` to the strategy's URLs (if any)."""
    urls = state.strategy.notifications
    if not urls:
        return
    body = {
        "rolloutId": state.id,
        "event": kind,
        "message": message,
        "status": state.status.value,
        "target": state.target.to_dict(),
        "weight": state.weight,
        "reason": state.reason,
        "unverified": state.unverified,  # a promotion the evidence could not verify
    }
    webhooks.notify(urls, body)


__all__ = ["NOTIFIED_EVENTS", "HttpWebhooks", "Webhooks", "hook_payload", "notify", "run_hook"]
