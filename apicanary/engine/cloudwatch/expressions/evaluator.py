"""CloudWatch metric math, the meaning: evaluation of a syntax tree over time series.

Values are scalars, time series (``{timestamp: value}``) or arrays of series (``METRICS()``).

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from apicanary.engine.cloudwatch.expressions.syntax import (
    BinOp,
    Call,
    MathError,
    Node,
    Num,
    Ref,
    Str,
    Unary,
)

Series = dict[float, float]


@dataclass(frozen=True, slots=True)
class SeriesArray:
    """An array of labelled time series (what ``METRICS()`` returns)."""

    items: tuple[tuple[str, Series], ...]


Value = float | Series | SeriesArray


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
