"""Control-plane authentication: a shared token, required once the control port is exposed.

``apicanary serve`` binds to loopback by default, where anyone who can reach the port is
already the user; there the control plane is open and boto3 works with any credentials.
Binding elsewhere (``--host 0.0.0.0``) requires ``APICANARY_CONTROL_TOKEN``; with a token
configured, :class:`ControlAuth` admits a request only if it carries either

* ``Authorization: Bearer <token>`` (curl, the ``apicanary`` CLI, the dashboard), or
* an AWS Signature V4 header, ``Authorization: AWS4-HMAC-SHA256 Credential=<key id>/...``,
  whose access key id equals the token. boto3 and the AWS CLI sign every request, so users
  set ``AWS_ACCESS_KEY_ID=<token>`` (any secret key) and keep their tools unchanged.

The signature itself is not verified: the token is the access key id, and the secret key is
not shared with the server. This keeps the AWS tools working without a credential store; it
is a shared-secret gate for a development engine, not IAM. Use TLS (a reverse proxy) when
the network between client and server is not trusted, since the token travels in clear.

Only ``GET /_apicanary/health`` stays open, so a load balancer or a readiness probe can poll
it. Everything else without a valid credential gets ``403`` with ``{"message": "Forbidden"}``
and ``x-amzn-ErrorType: AccessDeniedException`` (which botocore turns into a
``ClientError`` with that code). Tokens are compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_ENV = "APICANARY_CONTROL_TOKEN"
"""The environment variable holding the control-plane token."""
OPEN_PATHS = frozenset(
    {("GET", "/_apicanary/health"), ("HEAD", "/_apicanary/health"), ("GET", "/")}
)
# the dashboard's static files: a browser cannot send a header when it first opens the page;
# the page then sends the token on every API call it makes (nothing secret is served here)
OPEN_PREFIXES = ("/_apicanary/dashboard/",)
_SIGV4 = "aws4-hmac-sha256"
_FORBIDDEN_BODY = b'{"message": "Forbidden"}'
_FORBIDDEN_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_FORBIDDEN_BODY)).encode()),
    (b"x-amzn-errortype", b"AccessDeniedException"),
]


def presented_credential(authorization: str) -> str | None:
    """The token an ``Authorization`` header value presents, or ``None``.

    ``Bearer <token>`` presents ``<token>``; ``AWS4-HMAC-SHA256 Credential=<id>/<scope>,
    SignedHeaders=..., Signature=...`` presents the access key id ``<id>``.
    """
    scheme, _, rest = authorization.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        token = rest.strip()
        return token or None
    if scheme == _SIGV4:
        for part in rest.split(","):
            name, _, value = part.strip().partition("=")
            if name.strip().lower() == "credential":
                key_id = value.strip().partition("/")[0]
                return key_id or None
    return None


class ControlAuth:
    """ASGI middleware requiring the control token on every request but the health check.

    ``token=None`` (or empty) disables the check: the wrapped app is called unchanged, which
    is the loopback default. Non-HTTP scopes (``lifespan``) always pass through; a websocket
    without a valid credential is closed before it is accepted.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self._token = token.encode() if token else None

    @property
    def enabled(self) -> bool:
        """Whether a token is configured."""
        return self._token is not None

    def allows(self, method: str, path: str, authorization: str | None) -> bool:
        """Whether a request with this method, path and ``Authorization`` value may pass."""
        if self._token is None or (method.upper(), path) in OPEN_PATHS:
            return True
        if method.upper() in ("GET", "HEAD") and path.startswith(OPEN_PREFIXES):
            return True
        if not authorization:
            return False
        presented = presented_credential(authorization)
        if presented is None:
            return False
        return hmac.compare_digest(presented.encode(), self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._token is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        method = scope.get("method", "GET") if scope["type"] == "http" else "GET"
        if self.allows(method, scope.get("path", ""), authorization):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send(
            {"type": "http.response.start", "status": 403, "headers": list(_FORBIDDEN_HEADERS)}
        )
        await send({"type": "http.response.body", "body": _FORBIDDEN_BODY})


__all__ = ["OPEN_PATHS", "TOKEN_ENV", "ControlAuth", "presented_credential"]
