"""CloudWatch metric math: a small safe parser (no ``eval``) and an evaluator over time series.

Grammar (precedence low → high)::

    expr    := or
    or      := and ("OR" and)*
    and     := not ("AND" not)*
    not     := "NOT" not | cmp
    cmp     := add (("<" | "<=" | ">" | ">=" | "==" | "!=") add)?
    add     := mul (("+" | "-") mul)*
    mul     := unary (("*" | "/") unary)*
    unary   := "-" unary | pow
    pow     := atom ("^" unary)?
    atom    := NUMBER | STRING | ID | FUNC "(" [expr ("," expr)*] ")" | "(" expr ")"

``ID`` is another query's id (starts lower-case); ``FUNC`` is upper-case. Values are
scalars, time series (``{timestamp: value}``) or arrays of series (``METRICS()``).

Semantics (reference §4.3; CloudWatch "Using metric math"):
- arithmetic between series is per timestamp over the union of their timestamps, a value
  missing in one operand counting as 0; a point whose result divides by zero, or is not
  finite, is dropped (it becomes missing);
- ``SUM/AVG/MIN/MAX(series)`` of one series is a scalar over time; of an array it is a
  series of the per-timestamp aggregate across the array;
- ``FILL(x, v)`` fills every timestamp of the query grid missing in ``x`` with ``v`` (a number
  or ``REPEAT``: the last earlier value, else the first later one);
- ``IF(cond, a[, b])`` takes ``a`` where ``cond`` is non-zero, else ``b`` (dropped without ``b``);
  comparisons and ``AND/OR/NOT`` give 1 or 0;
- ``METRICS()`` is every MetricStat query of the request; ``METRICS("s")`` those whose id or
  label contains ``s``; ``ABS``, ``CEIL``, ``FLOOR`` act per point.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

Series = dict[float, float]


@dataclass(frozen=True, slots=True)
class SeriesArray:
    """An array of labelled time series (what ``METRICS()`` returns)."""

    items: tuple[tuple[str, Series], ...]


Value = float | Series | SeriesArray


class MathError(Exception):
    """The expression cannot be parsed or evaluated; the message says why."""


# -- AST ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Num:
    value: float


@dataclass(frozen=True, slots=True)
class Str:
    value: str


@dataclass(frozen=True, slots=True)
class Ref:
    name: str


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Node, ...]


Node = Num | Str | Ref | Unary | BinOp | Call

# -- tokenizer and parser -------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<str>\"[^\"]*\"|'[^']*')"
    r"|(?P<op><=|>=|==|!=|[-+*/^()<>,]))"
)
_KEYWORDS = {"AND", "OR", "NOT"}
_BARE_WORDS = {"REPEAT", "LINEAR"}


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise MathError(f"Unexpected character at position {pos + 1}: {text[pos : pos + 10]!r}")
        pos = match.end()
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise MathError("Unexpected end of expression")
        self.pos += 1
        return token

    def accept(self, *values: str) -> str | None:
        token = self.peek()
        if token is not None and token[0] in ("op", "name") and token[1] in values:
            self.pos += 1
            return token[1]
        return None

    def expect(self, value: str) -> None:
        if self.accept(value) is None:
            found = self.peek()
            raise MathError(
                f"Expected '{value}' but found {found[1]!r}"
                if found
                else f"Expected '{value}' at end of expression"
            )

    def parse(self) -> Node:
        if not self.tokens:
            raise MathError("The expression is empty")
        node = self.or_()
        if self.peek() is not None:
            raise MathError(f"Unexpected token {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("OR"):
            node = BinOp("OR", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.accept("AND"):
            node = BinOp("AND", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.accept("NOT"):
            return Unary("NOT", self.not_())
        return self.cmp()

    def cmp(self) -> Node:
        node = self.add()
        op = self.accept("<", "<=", ">", ">=", "==", "!=")
        if op:
            node = BinOp(op, node, self.add())
        return node

    def add(self) -> Node:
        node = self.mul()
        while True:
            op = self.accept("+", "-")
            if not op:
                return node
            node = BinOp(op, node, self.mul())

    def mul(self) -> Node:
        node = self.unary()
        while True:
            op = self.accept("*", "/")
            if not op:
                return node
            node = BinOp(op, node, self.unary())

    def unary(self) -> Node:
        if self.accept("-"):
            return Unary("-", self.unary())
        if self.accept("+"):
            return self.unary()
        return self.pow()

    def pow(self) -> Node:
        node = self.atom()
        if self.accept("^"):
            node = BinOp("^", node, self.unary())
        return node

    def atom(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            return Num(float(text))
        if kind == "str":
            return Str(text[1:-1])
        if kind == "op" and text == "(":
            node = self.or_()
            self.expect(")")
            return node
        if kind == "name":
            if text in _KEYWORDS:
                raise MathError(f"Unexpected keyword {text}")
            if self.accept("("):
                args: list[Node] = []
                if not self.accept(")"):
                    args.append(self.or_())
                    while self.accept(","):
                        args.append(self.or_())
                    self.expect(")")
                return Call(text, tuple(args))
            if text in _BARE_WORDS:
                return Str(text)
            if not text[0].islower():
                raise MathError(f"Unrecognized identifier {text}: query ids start lower-case")
            return Ref(text)
        raise MathError(f"Unexpected token {text!r}")


def parse(text: str) -> Node:
    """Parse a metric-math expression; raises :class:`MathError`."""
    return _Parser(text).parse()


def references(node: Node) -> set[str]:
    """Query ids an expression refers to (``METRICS()`` refers to every MetricStat query)."""
    if isinstance(node, Ref):
        return {node.name}
    if isinstance(node, Unary):
        return references(node.operand)
    if isinstance(node, BinOp):
        return references(node.left) | references(node.right)
    if isinstance(node, Call):
        out: set[str] = set()
        for arg in node.args:
            out |= references(arg)
        return out
    return set()


def uses_metrics_function(node: Node) -> bool:
    if isinstance(node, Call):
        return node.func == "METRICS" or any(uses_metrics_function(a) for a in node.args)
    if isinstance(node, Unary):
        return uses_metrics_function(node.operand)
    if isinstance(node, BinOp):
        return uses_metrics_function(node.left) or uses_metrics_function(node.right)
    return False


# -- evaluation -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Context:
    """What an expression can see: the values of other queries, the MetricStat queries
    (id, label, series) for ``METRICS()``, and the query's timestamp grid for ``FILL``."""

    values: Mapping[str, Value]
    metric_queries: Sequence[tuple[str, str, Series]]
    grid: Sequence[float]


def evaluate(node: Node, ctx: Context) -> Value:
    """Evaluate ``node``; raises :class:`MathError` on type or reference errors."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Str):
        raise MathError(f'A string ("{node.value}") is only allowed as a function argument')
    if isinstance(node, Ref):
        if node.name not in ctx.values:
            raise MathError(f"Unrecognized metric id {node.name}")
        return ctx.values[node.name]
    if isinstance(node, Unary):
        operand = evaluate(node.operand, ctx)
        if node.op == "-":
            return _map(operand, lambda x: -x)
        return _map(operand, lambda x: 0.0 if x else 1.0)
    if isinstance(node, BinOp):
        return _binary(node.op, evaluate(node.left, ctx), evaluate(node.right, ctx))
    return _call(node, ctx)


def _map(value: Value, fn: Callable[[float], float]) -> Value:
    if isinstance(value, float | int):
        return fn(float(value))
    if isinstance(value, SeriesArray):
        return SeriesArray(tuple((label, _map_series(s, fn)) for label, s in value.items))
    return _map_series(value, fn)


def _map_series(series: Series, fn: Callable[[float], float]) -> Series:
    out: Series = {}
    for ts, v in series.items():
        r = fn(v)
        if math.isfinite(r):
            out[ts] = r
    return out


def _apply(op: str, a: float, b: float) -> float | None:
    """One arithmetic step; ``None`` means the point is dropped (division by zero etc.)."""
    try:
        if op == "+":
            r = a + b
        elif op == "-":
            r = a - b
        elif op == "*":
            r = a * b
        elif op == "/":
            if b == 0.0:
                return None
            r = a / b
        elif op == "^":
            r = math.pow(a, b)
        elif op == "<":
            r = float(a < b)
        elif op == "<=":
            r = float(a <= b)
        elif op == ">":
            r = float(a > b)
        elif op == ">=":
            r = float(a >= b)
        elif op == "==":
            r = float(a == b)
        elif op == "!=":
            r = float(a != b)
        elif op == "AND":
            r = float(bool(a) and bool(b))
        elif op == "OR":
            r = float(bool(a) or bool(b))
        else:  # pragma: no cover - the parser only produces the operators above
            raise MathError(f"Unknown operator {op}")
    except (OverflowError, ValueError):
        return None
    return r if math.isfinite(r) else None


def _binary(op: str, left: Value, right: Value) -> Value:
    if isinstance(left, SeriesArray):
        return SeriesArray(tuple((lbl, _as_series(_binary(op, s, right))) for lbl, s in left.items))
    if isinstance(right, SeriesArray):
        return SeriesArray(tuple((lbl, _as_series(_binary(op, left, s))) for lbl, s in right.items))
    if isinstance(left, dict) or isinstance(right, dict):
        out: Series = {}
        if isinstance(left, dict) and isinstance(right, dict):
            stamps = sorted(set(left) | set(right))
            for ts in stamps:
                r = _apply(op, left.get(ts, 0.0), right.get(ts, 0.0))
                if r is not None:
                    out[ts] = r
        elif isinstance(left, dict):
            b = float(right)  # type: ignore[arg-type]
            for ts, a in left.items():
                r = _apply(op, a, b)
                if r is not None:
                    out[ts] = r
        else:
            assert isinstance(right, dict)
            a = float(left)
            for ts, b in right.items():
                r = _apply(op, a, b)
                if r is not None:
                    out[ts] = r
        return out
    result = _apply(op, float(left), float(right))
    if result is None:
        return math.nan
    return result


def _as_series(value: Value) -> Series:
    if isinstance(value, dict):
        return value
    raise MathError("Expected a time series")


def _aggregate(name: str, values: Sequence[float]) -> float:
    if name == "SUM":
        return math.fsum(values)
    if name == "AVG":
        return math.fsum(values) / len(values)
    if name == "MIN":
        return min(values)
    return max(values)


def _abs(x: float) -> float:
    return abs(x)


def _ceil(x: float) -> float:
    return float(math.ceil(x))


def _floor(x: float) -> float:
    return float(math.floor(x))


_UNARY_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "ABS": _abs,
    "CEIL": _ceil,
    "FLOOR": _floor,
}


def _call(node: Call, ctx: Context) -> Value:
    name = node.func
    if name == "METRICS":
        if len(node.args) > 1:
            raise MathError("METRICS takes at most one argument")
        text = ""
        if node.args:
            if not isinstance(node.args[0], Str):
                raise MathError("The argument of METRICS must be a string")
            text = node.args[0].value
        return SeriesArray(
            tuple(
                (label, series)
                for qid, label, series in ctx.metric_queries
                if text in qid or text in label
            )
        )
    if name in ("SUM", "AVG", "MIN", "MAX"):
        if len(node.args) != 1:
            raise MathError(f"{name} takes exactly one argument")
        arg = evaluate(node.args[0], ctx)
        if isinstance(arg, SeriesArray):
            stamps = sorted({ts for _, s in arg.items for ts in s})
            return {ts: _aggregate(name, [s[ts] for _, s in arg.items if ts in s]) for ts in stamps}
        if isinstance(arg, dict):
            return _aggregate(name, list(arg.values())) if arg else math.nan
        return float(arg)
    if name in ("ABS", "CEIL", "FLOOR"):
        if len(node.args) != 1:
            raise MathError(f"{name} takes exactly one argument")
        fn = _UNARY_FUNCTIONS[name]
        return _map(evaluate(node.args[0], ctx), fn)
    if name == "FILL":
        if len(node.args) != 2:
            raise MathError("FILL takes exactly two arguments")
        target = evaluate(node.args[0], ctx)
        how = node.args[1]
        if isinstance(target, SeriesArray):
            return SeriesArray(tuple((lbl, _fill(s, how, ctx)) for lbl, s in target.items))
        if not isinstance(target, dict):
            raise MathError("The first argument of FILL must be a time series")
        return _fill(target, how, ctx)
    if name == "IF":
        if len(node.args) not in (2, 3):
            raise MathError("IF takes two or three arguments")
        cond = evaluate(node.args[0], ctx)
        then = evaluate(node.args[1], ctx)
        other = evaluate(node.args[2], ctx) if len(node.args) == 3 else None
        return _if(cond, then, other)
    raise MathError(f"Function '{name}' not found")


def _fill(series: Series, how: Node, ctx: Context) -> Series:
    out = dict(series)
    if isinstance(how, Str) and how.value == "REPEAT":
        known = sorted(series)
        for ts in ctx.grid:
            if ts in out or not known:
                continue
            earlier = [k for k in known if k < ts]
            out[ts] = series[earlier[-1]] if earlier else series[known[0]]
        return dict(sorted(out.items()))
    value = evaluate(how, ctx)
    if not isinstance(value, float | int):
        raise MathError("The second argument of FILL must be a number or REPEAT")
    for ts in ctx.grid:
        out.setdefault(ts, float(value))
    return dict(sorted(out.items()))


def _if(cond: Value, then: Value, other: Value | None) -> Value:
    if isinstance(cond, float | int):
        chosen = then if cond else other
        return chosen if chosen is not None else {}
    if not isinstance(cond, dict):
        raise MathError("The condition of IF must be a time series or a scalar")
    out: Series = {}
    for ts, c in cond.items():
        source = then if c else other
        if source is None:
            continue
        if isinstance(source, dict):
            if ts in source:
                out[ts] = source[ts]
        elif isinstance(source, float | int):
            out[ts] = float(source)
        else:
            raise MathError("IF cannot return an array of time series")
    return out
