"""Comparing responses field by field, with the noise taken out, as Twitter's Diffy does.

Every compared request is answered three times, in this order: by the baseline, by the
canary, and by the baseline again. A field is **noise** on a route when the two baseline
answers disagree about it on any request of that route: timestamps, request ids, random
numbers. (A value that moves with time between the first baseline answer and the canary's
has moved between the two baseline answers too, since the second comes later still.) A
field on which the baseline and the canary disagree and that is not noise is a
**difference**.

A response is compared as its status code, its media type and its body: a JSON body field by
field (``$.items[2].price``; when matching noise, array positions are generalised to ``[*]``,
so a timestamp that is noisy at one position is noise at every position), any other body as
a whole (``$body``). A field present on one side only differs from its absence.

Pure: answers in, a JSON-able summary per route out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

MAX_EXAMPLES = 3
_ABSENT = object()
_INDEX = re.compile(r"\[\d+\]")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Comparison:
    """One request (``request``: its request line) and its three answers."""

    route: str
    request: str
    baseline: Response
    canary: Response
    baseline_again: Response


def fields(response: Response) -> dict[str, Any]:
    """The response flattened to ``{field path: value}``."""
    flat: dict[str, Any] = {
        "status": response.status,
        "content-type": response.content_type.split(";")[0].strip().lower(),
    }
    parsed = _json(response)
    if parsed is _ABSENT:
        if response.body:
            flat["$body"] = response.body
    else:
        _flatten(parsed, "$", flat)
    return flat


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{path: (value in a, value in b)}`` for every path where they disagree."""
    found = {}
    for path in a.keys() | b.keys():
        left, right = a.get(path, _ABSENT), b.get(path, _ABSENT)
        if left is _ABSENT or right is _ABSENT or type(left) is not type(right) or left != right:
            found[path] = (left, right)
    return found


def generalize(path: str) -> str:
    """``$.items[3].id`` → ``$.items[*].id``."""
    return _INDEX.sub("[*]", path)


def compare(comparisons: Sequence[Comparison]) -> dict[str, dict[str, Any]]:
    """Per route: how many requests were compared, how many differ beyond noise, in which
    fields, what the noise was, and a few examples."""
    by_route: dict[str, list[Comparison]] = {}
    for comparison in comparisons:
        by_route.setdefault(comparison.route, []).append(comparison)
    summary = {}
    for route, items in by_route.items():
        flattened = [
            (c, fields(c.baseline), fields(c.canary), fields(c.baseline_again)) for c in items
        ]
        noise = {
            generalize(path)
            for _, first, _, again in flattened
            for path in differences(first, again)
        }
        counted: Counter[str] = Counter()
        examples: list[dict[str, str]] = []
        differing = 0
        for comparison, first, canary, _ in flattened:
            real = {
                path: pair
                for path, pair in differences(first, canary).items()
                if generalize(path) not in noise
            }
            if not real:
                continue
            differing += 1
            counted.update(generalize(path) for path in real)
            for path, (left, right) in sorted(real.items()):
                if len(examples) < MAX_EXAMPLES:
                    examples.append(
                        {
                            "request": comparison.request,
                            "field": path,
                            "baseline": _show(left),
                            "canary": _show(right),
                        }
                    )
        summary[route] = {
            "compared": len(items),
            "differing": differing,
            "fields": dict(counted.most_common()),
            "noise": sorted(noise),
            "examples": examples,
        }
    return summary


def _json(response: Response) -> Any:
    text = response.body.strip()
    if "json" not in response.content_type.lower() and text[:1] not in (b"{", b"["):
        return _ABSENT
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _ABSENT


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            step = f".{key}" if _PLAIN_KEY.match(key) else f"[{orjson.dumps(key).decode()}]"
            _flatten(item, path + step, out)
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            _flatten(item, f"{path}[{index}]", out)
    else:
        out[path] = value


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    else:
        text = orjson.dumps(value).decode()
    return text if len(text) <= 200 else text[:197] + "..."
