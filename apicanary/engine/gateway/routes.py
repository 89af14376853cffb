"""API Gateway REST route matching, precompiled once per deployment (sans I/O).

Contract (``reference/aws-semantics.md`` §2.5, §2.6, plus AWS-recorded behaviour):

* A route is ``(resource template, HTTP method, integration)``. Templates are ``/``, literal
  segments (``/orders``), path variables (``/orders/{id}``) and a greedy variable as the last
  segment (``/files/{proxy+}``). ``ANY`` is a method that matches every request method.
* Matching picks the **resource** first, most specific segment by segment: at each level a
  literal child is tried before the ``{param}`` child, which is tried before the ``{proxy+}``
  child; when a more specific branch dead-ends the next one is tried (so ``/{proxy+}`` catches
  whatever the literal tree does not). A ``{param}`` matches exactly one non-empty segment; a
  greedy variable matches one or more segments (never zero: ``/`` is not matched by
  ``/{proxy+}``).
* Then the **method**: the exact method beats ``ANY``. A resource that matches without the
  method answers ``None`` too, and does *not* fall back to a less specific resource: API
  Gateway answers 403 ``Missing Authentication Token`` for both cases (the gateway turns
  ``None`` into that response). The one exception, AWS-recorded: an ``OPTIONS`` request to a
  resource without ``OPTIONS`` or ``ANY`` falls back to the greedy ``{proxy+}`` resource that
  would catch the path (the most specific one), when that has ``OPTIONS`` or ``ANY``.
* Only resources that carry at least one method take part; path prefixes that exist only as
  parents of deeper templates (``/orders`` for ``/orders/{id}``) are skipped over, so a
  ``/{proxy+}`` still catches ``/orders``.
* Trailing slashes are ignored for matching (``/orders/`` matches ``/orders``); the greedy value
  drops them (AWS: ``/test-path/`` gives ``proxy = "test-path"``).
* Path parameter values are **not** URL-decoded: API Gateway REST hands them to the function
  exactly as they appeared on the wire (AWS-recorded: ``/api/user/test%2Balias@gmail.com``
  gives ``proxy = "api/user/test%2Balias@gmail.com"``). Match against the raw request path,
  without the stage prefix.

Performance: templates made only of literals are answered by one dict lookup; the rest walk
a trie with one dict lookup per literal level. No regular expression runs per request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, TypeVar

from apicanary.errors import BadInputError

__all__ = [
    "HTTP_METHODS",
    "Route",
    "RouteMatch",
    "RouteTable",
    "compile_routes",
    "default_resource_id",
]

I = TypeVar("I")  # noqa: E741 - the integration type, opaque to this module

#: Methods a REST API resource may declare (``ANY`` matches all of the others).
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY"})

_VAR_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Route(Generic[I]):
    """One method of one resource of a deployment.

    ``resource`` is the template (``/orders/{id}``); ``method`` an HTTP method or ``ANY``;
    ``resource_id`` the API Gateway resource id (``requestContext.resourceId``), derived from
    the template by :func:`default_resource_id` when empty.
    """

    resource: str
    method: str
    integration: I
    resource_id: str = ""


@dataclass(frozen=True, slots=True)
class RouteMatch(Generic[I]):
    """The answer to one request: which resource and method matched, and the path variables.

    ``path_parameters`` is empty when the template has no variables (the event then carries
    ``pathParameters: null``). ``method`` is the declared method that matched (``ANY`` or the
    request's own).
    """

    resource: str
    resource_id: str
    method: str
    path_parameters: Mapping[str, str]
    integration: I


def default_resource_id(resource: str) -> str:
    """A stable, API-Gateway-looking 10-character resource id for a template."""
    digest = hashlib.sha256(resource.encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % 36] for b in digest[:10])


@dataclass(slots=True)
class _Node(Generic[I]):
    """A trie node; mutable while compiling only (never exposed)."""

    literals: dict[str, _Node[I]] = field(default_factory=dict)
    param_name: str | None = None
    param: _Node[I] | None = None
    greedy_name: str | None = None
    greedy: _Terminal[I] | None = None
    terminal: _Terminal[I] | None = None


@dataclass(slots=True)
class _Terminal(Generic[I]):
    """A resource with at least one method; ``fixed`` holds its answers when it has no
    variables (the same :class:`RouteMatch` object is returned for every such request)."""

    resource: str
    resource_id: str
    methods: dict[str, Route[I]] = field(default_factory=dict)
    fixed: dict[str, RouteMatch[I]] = field(default_factory=dict)

    def route_for(self, method: str) -> Route[I] | None:
        return self.methods.get(method) or self.methods.get("ANY")


_SET_RESOURCE = RouteMatch.__dict__["resource"].__set__
_SET_RESOURCE_ID = RouteMatch.__dict__["resource_id"].__set__
_SET_METHOD = RouteMatch.__dict__["method"].__set__
_SET_PARAMS = RouteMatch.__dict__["path_parameters"].__set__
_SET_INTEGRATION = RouteMatch.__dict__["integration"].__set__


def _new_match(terminal: _Terminal[I], route: Route[I], params: Mapping[str, str]) -> RouteMatch[I]:
    """Build a RouteMatch through its slot descriptors: the frozen ``__init__`` costs twice as
    much, and this runs once per request."""
    match: RouteMatch[I] = object.__new__(RouteMatch)
    _SET_RESOURCE(match, terminal.resource)
    _SET_RESOURCE_ID(match, terminal.resource_id)
    _SET_METHOD(match, route.method)
    _SET_PARAMS(match, params)
    _SET_INTEGRATION(match, route.integration)
    return match


def _split_template(resource: str) -> list[str]:
    if not resource.startswith("/"):
        raise BadInputError(f"resource path {resource!r} must start with '/'")
    body = resource.strip("/")
    if not body:
        return []
    parts = body.split("/")
    if any(not p for p in parts):
        raise BadInputError(f"resource path {resource!r} has an empty segment")
    return parts


def _canonical(parts: list[str]) -> str:
    return "/" + "/".join(parts)


class RouteTable(Generic[I]):
    """An immutable, compiled route table. Build it with :func:`compile_routes`."""

    __slots__ = ("_root", "_routes", "_static")

    def __init__(
        self, root: _Node[I], static: dict[str, _Terminal[I]], routes: tuple[Route[I], ...]
    ):
        self._root = root
        self._static = static
        self._routes = routes

    @property
    def routes(self) -> tuple[Route[I], ...]:
        """The routes the table was compiled from, in input order."""
        return self._routes

    def __len__(self) -> int:
        return len(self._routes)

    def match(self, method: str, path: str) -> RouteMatch[I] | None:
        """Match a request. ``path`` is the raw path without the stage prefix (``/orders/42``).

        Returns ``None`` when no resource matches, or when the matching resource has neither
        ``method`` nor ``ANY`` (both are 403 ``Missing Authentication Token`` at the gateway).
        """
        stripped = path.strip("/")
        static = self._static.get(stripped)
        if static is not None:
            fixed = static.fixed
            found_fixed = fixed.get(method) or fixed.get("ANY")
            if found_fixed is None and method == "OPTIONS":
                return self._options_fallback(stripped)
            return found_fixed
        segs = stripped.split("/") if stripped else []
        found = _walk(self._root, segs, 0, len(segs))
        if found is None:
            return None
        terminal, captured = found
        if not captured:
            found_fixed = terminal.fixed.get(method) or terminal.fixed.get("ANY")
            if found_fixed is None and method == "OPTIONS":
                return self._options_fallback(stripped)
            return found_fixed
        route = terminal.route_for(method)
        if route is None:
            return self._options_fallback(stripped) if method == "OPTIONS" else None
        return _new_match(terminal, route, dict(captured))

    def _options_fallback(self, stripped: str) -> RouteMatch[I] | None:
        """The deepest greedy resource on the path that answers OPTIONS (or ANY), if any."""
        segs = stripped.split("/") if stripped else []
        node: _Node[I] | None = self._root
        best: tuple[_Terminal[I], str, Route[I]] | None = None
        best_rest = ""
        for i, seg in enumerate(segs):
            if node is None:
                break
            greedy = node.greedy
            if greedy is not None:
                route = greedy.route_for("OPTIONS")
                if route is not None:
                    best = (greedy, node.greedy_name or "proxy", route)
                    best_rest = "/".join(segs[i:])
            node = node.literals.get(seg) or (node.param if seg else None)
        if best is None:
            return None
        terminal, name, route = best
        return _new_match(terminal, route, {name: best_rest})


def _walk(
    node: _Node[I], segs: list[str], i: int, n: int
) -> tuple[_Terminal[I], list[tuple[str, str]]] | None:
    """Depth-first, most specific first; captured variables come back in any order."""
    if i == n:
        if node.terminal is not None:
            return node.terminal, []
        return None
    seg = segs[i]
    child = node.literals.get(seg)
    if child is not None:
        found = _walk(child, segs, i + 1, n)
        if found is not None:
            return found
    param = node.param
    if param is not None and seg:
        found = _walk(param, segs, i + 1, n)
        if found is not None:
            found[1].append((node.param_name, seg))  # type: ignore[arg-type]
            return found
    greedy = node.greedy
    if greedy is not None:
        rest = seg if i + 1 == n else "/".join(segs[i:])
        return greedy, [(node.greedy_name, rest)]  # type: ignore[list-item]
    return None


def compile_routes(routes: Iterable[Route[I]]) -> RouteTable[I]:
    """Compile routes into a :class:`RouteTable`; raises :class:`BadInputError` on bad input.

    Rejected: a template not starting with ``/`` or with an empty segment, a variable with an
    invalid name, a greedy variable that is not the last segment, two different variable
    names at the same level (API Gateway: "only one is allowed"), an unknown method, and the
    same method declared twice on one resource.
    """
    root: _Node[I] = _Node()
    static: dict[str, _Terminal[I]] = {}
    terminals: dict[str, _Terminal[I]] = {}
    kept: list[Route[I]] = []
    for route in routes:
        if route.method not in HTTP_METHODS:
            raise BadInputError(
                f"method {route.method!r} on {route.resource!r} is not one of "
                f"{', '.join(sorted(HTTP_METHODS))}"
            )
        parts = _split_template(route.resource)
        canonical = _canonical(parts)
        terminal = terminals.get(canonical)
        if terminal is None:
            rid = route.resource_id or default_resource_id(canonical)
            terminal = _Terminal(canonical, rid)
            terminals[canonical] = terminal
            _insert(root, parts, terminal, canonical)
            if not any(p.startswith("{") for p in parts):
                static["/".join(parts)] = terminal
        elif route.resource_id and route.resource_id != terminal.resource_id:
            raise BadInputError(
                f"resource {canonical!r} has two ids: {terminal.resource_id!r} and "
                f"{route.resource_id!r}"
            )
        if route.method in terminal.methods:
            raise BadInputError(f"method {route.method} is declared twice on {canonical!r}")
        terminal.methods[route.method] = route
        terminal.fixed[route.method] = _new_match(terminal, route, _EMPTY)
        kept.append(route)
    return RouteTable(root, static, tuple(kept))


def _insert(root: _Node[I], parts: list[str], terminal: _Terminal[I], resource: str) -> None:
    node = root
    last = len(parts) - 1
    for i, part in enumerate(parts):
        if part.startswith("{") or part.endswith("}") or "{" in part or "}" in part:
            if not (part.startswith("{") and part.endswith("}")):
                raise BadInputError(f"segment {part!r} of {resource!r} is not a valid variable")
            inner = part[1:-1]
            greedy = inner.endswith("+")
            name = inner[:-1] if greedy else inner
            if not _VAR_NAME.fullmatch(name):
                raise BadInputError(f"variable {part!r} of {resource!r} has an invalid name")
            if greedy:
                if i != last:
                    raise BadInputError(
                        f"greedy variable {part!r} of {resource!r} must be the last segment"
                    )
                _check_sibling(node, name, greedy=True, resource=resource)
                node.greedy_name = name
                if node.greedy is not None and node.greedy is not terminal:
                    raise BadInputError(f"resource {resource!r} is declared twice")
                node.greedy = terminal
                return
            _check_sibling(node, name, greedy=False, resource=resource)
            if node.param is None:
                node.param = _Node()
                node.param_name = name
            node = node.param
        else:
            child = node.literals.get(part)
            if child is None:
                child = _Node()
                node.literals[part] = child
            node = child
    node.terminal = terminal


def _check_sibling(node: _Node[I], name: str, *, greedy: bool, resource: str) -> None:
    """API Gateway allows one variable name per level (``{id}`` and ``{proxy+}`` may coexist
    here: the matcher ranks them, and the control plane enforces its own sibling rules)."""
    existing = node.greedy_name if greedy else node.param_name
    if existing is not None and existing != name:
        raise BadInputError(
            f"{resource!r}: a sibling ({{{existing}{'+' if greedy else ''}}}) already has a "
            "variable path part -- only one is allowed"
        )
