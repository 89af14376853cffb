"""The two releases the demo ships, as small, checked edits of the example's handler.

* the good release adds an order count to ``GET /orders`` (a harmless feature);
* the bad release adds a delivery estimate to ``GET /orders/{id}`` that divides by
  ``quantity - 1``: every single-item order now crashes with ZeroDivisionError. A realistic
  bug: one route, some inputs, invisible in a quick manual test of order 1001 (quantity 2).

Each edit must find its anchor exactly once, so a change to the example breaks the demo
loudly (and its test) instead of shipping a silent no-op release.
"""

from __future__ import annotations

from dataclasses import dataclass

from apicanary.errors import PlatformError


@dataclass(frozen=True)
class Edit:
    anchor: str
    replacement: str


@dataclass(frozen=True)
class Release:
    name: str
    summary: str
    edits: tuple[Edit, ...]


GOOD = Release(
    name="good",
    summary="GET /orders also returns the order count",
    edits=(
        Edit(
            '    return 200, {"orders": list(ORDERS.values())}\n',
            '    return 200, {"orders": list(ORDERS.values()), "count": len(ORDERS)}\n',
        ),
    ),
)

BAD = Release(
    name="bad",
    summary="GET /orders/{id} adds a delivery estimate (crashes for single-item orders)",
    edits=(
        Edit(
            '        return 404, {"message": f"order {order_id!r} not found"}\n'
            "    return 200, order\n",
            '        return 404, {"message": f"order {order_id!r} not found"}\n'
            '    eta_days = 14 // (order["quantity"] - 1)  # bulk orders ship faster\n'
            '    return 200, {**order, "eta_days": eta_days}\n',
        ),
    ),
)


def apply(release: Release, source: str) -> str:
    """``source`` with ``release``'s edits; PlatformError if an anchor is not found once."""
    for edit in release.edits:
        count = source.count(edit.anchor)
        if count != 1:
            raise PlatformError(
                f"the {release.name} release's edit expects its anchor once in the example's "
                f"handler, found it {count} times: {edit.anchor.strip()!r}"
            )
        source = source.replace(edit.anchor, edit.replacement)
    return source
