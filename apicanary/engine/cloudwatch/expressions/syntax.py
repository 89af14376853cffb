"""CloudWatch metric math, the language: tokenizer, syntax tree and a small safe parser (no
``eval``).

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

``ID`` is another query's id (starts lower-case); ``FUNC`` is upper-case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


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

    def left_associative(self, operand: Callable[[], Node], *operators: str) -> Node:
        """``operand (operator operand)*``, grouped from the left."""
        node = operand()
        while op := self.accept(*operators):
            node = BinOp(op, node, operand())
        return node

    def or_(self) -> Node:
        return self.left_associative(self.and_, "OR")

    def and_(self) -> Node:
        return self.left_associative(self.not_, "AND")

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
        return self.left_associative(self.mul, "+", "-")

    def mul(self) -> Node:
        return self.left_associative(self.unary, "*", "/")

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
