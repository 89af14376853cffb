"""The headers API Gateway adds to a request before it invokes the function (sans I/O).

A regional REST API (and every HTTP API) hands the function the client's request headers plus
``X-Forwarded-For``, ``X-Forwarded-Port``, ``X-Forwarded-Proto`` and ``X-Amzn-Trace-Id``; an
edge-optimized REST API sits behind CloudFront and adds ``Via``, ``X-Amz-Cf-Id`` and the
``CloudFront-*`` viewer headers as well (docs/aws-semantics.md, "Headers added before the
function runs"). Apps read the client's address and scheme from these.

Local values, where AWS's cannot exist here:

* ``X-Forwarded-For`` is the client's address; when the client sent one, the address is
  appended to it (``"<sent>, <address>"``), as a proxy does.
* ``X-Forwarded-Port`` is the port of the ``Host`` the client connected to (``80`` when the
  ``Host`` names none); ``X-Forwarded-Proto`` is ``http``: the local gateway speaks plain HTTP.
* ``X-Amzn-Trace-Id`` is the client's own when it sent one (X-Ray propagates it), else a new
  ``Root=1-<epoch seconds, 8 hex>-<24 hex>`` derived from the request id.
* Edge only: ``Via`` and ``X-Amz-Cf-Id`` are derived from the request id; the viewer headers
  say a desktop viewer in ``US`` (CloudFront's device and geo detection has nothing to detect).

:func:`added_headers` returns them in the order AWS lists them; the event builders put them in
place of any header of the same name the client sent.
"""

from __future__ import annotations

import base64
from functools import lru_cache

__all__ = ["ADDED_NAMES", "added_headers", "forwarded_port", "trace_id"]

#: Lower-cased names of every header :func:`added_headers` may add.
ADDED_NAMES = frozenset(
    {"x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "via",
     "x-amz-cf-id", "cloudfront-forwarded-proto", "cloudfront-is-desktop-viewer",
     "cloudfront-is-mobile-viewer", "cloudfront-is-smarttv-viewer",
     "cloudfront-is-tablet-viewer", "cloudfront-viewer-asn", "cloudfront-viewer-country"}
)  # fmt: skip

_EDGE_VIEWER: tuple[tuple[str, str], ...] = (
    ("CloudFront-Forwarded-Proto", "http"),
    ("CloudFront-Is-Desktop-Viewer", "true"),
    ("CloudFront-Is-Mobile-Viewer", "false"),
    ("CloudFront-Is-SmartTV-Viewer", "false"),
    ("CloudFront-Is-Tablet-Viewer", "false"),
    ("CloudFront-Viewer-ASN", "16509"),
    ("CloudFront-Viewer-Country", "US"),
)


@lru_cache(maxsize=64)
def forwarded_port(host: str | None) -> str:
    """The port a ``Host`` value names (``"3000"`` for ``localhost:3000``), else ``"80"``."""
    if host:
        port = host.rpartition(":")[2]
        if port.isdigit() and port != host:
            return port
    return "80"


def trace_id(request_id: str, request_time_ms: int) -> str:
    """A new X-Ray root trace id: ``Root=1-<seconds as 8 hex>-<24 hex from the request id>``."""
    unique = request_id.replace("-", "")[:24]
    if len(unique) < 24:
        unique = unique.rjust(24, "0")
    return f"Root=1-{_epoch_hex(request_time_ms // 1000)}-{unique}"


@lru_cache(maxsize=4)
def _epoch_hex(seconds: int) -> str:
    """Cached: a format spec costs more than the cache look-up, and seconds repeat."""
    return f"{seconds & 0xFFFFFFFF:08x}"


def added_headers(
    *,
    source_ip: str,
    host: str | None,
    sent_forwarded_for: str | None,
    sent_trace_id: str | None,
    request_id: str,
    request_time_ms: int,
    edge: bool = False,
) -> tuple[tuple[str, str], ...]:
    """``(name, value)`` pairs API Gateway adds, canonically cased (see the module docstring)."""
    regional = (
        ("X-Amzn-Trace-Id", sent_trace_id or trace_id(request_id, request_time_ms)),
        (
            "X-Forwarded-For",
            f"{sent_forwarded_for}, {source_ip}" if sent_forwarded_for else source_ip,
        ),
        ("X-Forwarded-Port", forwarded_port(host)),
        _PROTO,
    )
    if not edge:
        return regional
    unique = request_id.replace("-", "")
    cf_id = base64.urlsafe_b64encode((unique * 2).encode("ascii", "replace")[:40]).decode()
    return (
        *_EDGE_VIEWER,
        ("Via", f"1.1 {unique[:32]}.cloudfront.net (CloudFront)"),
        ("X-Amz-Cf-Id", cf_id),
        *regional,
    )


_PROTO = ("X-Forwarded-Proto", "http")
