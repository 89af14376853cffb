"""The gateway's own answers with an API's customized gateway responses applied (sans I/O).

:func:`customized_answers` runs once per compiled API: for each fixed answer the gateway
sends (:mod:`.responses`) it works out the gateway response type AWS would use — the answer's
own type (``MISSING_AUTHENTICATION_TOKEN``, ``INTEGRATION_TIMEOUT``, ``THROTTLED``), else
``DEFAULT_5XX`` for the 502/500 ``Internal server error`` answers, which have no type of their
own — and, when the API customized it (or its ``DEFAULT_4XX``/``DEFAULT_5XX`` family, see
:mod:`apicanary.engine.apigateway.gateway_responses`), builds the answer from it:

* ``statusCode``, when the response has one (``DEFAULT_5XX`` may not: the answer keeps its own);
* ``responseParameters`` ``gatewayresponse.header.<Name>`` with a quoted literal value
  (``"'https://example.com'"``) become headers; values read from the request
  (``method.request.header.X``...) are not supported and are left out;
* the ``application/json`` template (else the first one) is the body, with
  ``$context.error.messageString`` (the message as a JSON string), ``$context.error.message``
  and ``$context.error.responseType`` substituted; no other template language is run.

Only the answers of customized types change; an API without customizations gets an empty map.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from apicanary.engine.apigateway.gateway_responses import render
from apicanary.engine.gateway import responses
from apicanary.engine.gateway.responses import GatewayResponse

__all__ = ["customized_answers"]

_HEADER = "gatewayresponse.header."
_ANSWERS = (
    responses.MISSING_AUTHENTICATION_TOKEN,
    responses.INTEGRATION_TIMEOUT,
    responses.THROTTLED,
    responses.FUNCTION_ERROR,
    responses.INTEGRATION_REJECTED,
)
_NONE: Mapping[GatewayResponse, GatewayResponse] = MappingProxyType({})


def customized_answers(
    custom: Mapping[str, Mapping[str, Any]],
) -> Mapping[GatewayResponse, GatewayResponse]:
    """``{the gateway's answer: the API's version of it}`` for the customized ones only."""
    if not custom:
        return _NONE
    answers: dict[GatewayResponse, GatewayResponse] = {}
    for base in _ANSWERS:
        kind = base.response_type or "DEFAULT_5XX"
        rendered = render(kind, custom)
        if rendered["defaultResponse"] and not _family_customized(kind, rendered, custom):
            continue
        answers[base] = _apply(base, kind, rendered)
    return MappingProxyType(answers)


def _family_customized(
    kind: str, rendered: Mapping[str, Any], custom: Mapping[str, Mapping[str, Any]]
) -> bool:
    status = str(rendered.get("statusCode") or "5")
    family = "DEFAULT_4XX" if status.startswith("4") else "DEFAULT_5XX"
    return family in custom or kind in custom


def _apply(base: GatewayResponse, kind: str, rendered: Mapping[str, Any]) -> GatewayResponse:
    status = int(rendered["statusCode"]) if rendered.get("statusCode") else base.status
    extra: list[tuple[bytes, bytes]] = []
    for key, value in (rendered.get("responseParameters") or {}).items():
        if key.startswith(_HEADER) and len(value) >= 2 and value[0] == value[-1] == "'":
            name, literal = key[len(_HEADER) :], value[1:-1]
            if name and "\r" not in literal and "\n" not in literal:
                extra.append((name.encode("latin-1", "replace"), literal.encode("utf-8")))
    templates = rendered.get("responseTemplates") or {}
    template = templates.get("application/json") or next(iter(templates.values()), None)
    body = base.body if template is None else _render(template, base.message, kind).encode()
    return GatewayResponse(status, body, base.error_type, kind, (*base.headers, *extra))


def _render(template: str, message: str, kind: str) -> str:
    return (
        template.replace("$context.error.messageString", json.dumps(message))
        .replace("$context.error.message", message)
        .replace("$context.error.responseType", kind)
    )
