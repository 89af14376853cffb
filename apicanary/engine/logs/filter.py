"""CloudWatch Logs filter patterns, compiled to a predicate over one event message (pure).

Supported, as CloudWatch documents them:

* the empty pattern (or only blanks): every event;
* **terms**: ``ERROR timeout`` matches messages containing every term (case-sensitive);
  ``"Task timed out"`` is one term with its spaces; ``-DEBUG`` excludes messages containing
  ``DEBUG``; ``?ERROR ?WARN`` matches messages containing any of the ``?`` terms;
* **JSON**: ``{ $.level = "ERROR" }``, ``{ $.record.status != "success" }``,
  ``{ $.record.metrics.durationMs > 100 }`` (``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``;
  strings quoted or bare, ``*`` a wildcard in strings; numbers compare numerically),
  ``{ $.x IS NULL }``, ``{ $.x NOT EXISTS }``, ``{ $.x EXISTS }``, ``{ $.ok IS TRUE }`` /
  ``IS FALSE``, joined by ``&&`` / ``||`` with parentheses; ``$.a[0].b`` indexes arrays.
  A message that is not a JSON object never matches a JSON pattern.

Not supported (raise :class:`FilterPatternError`): space-delimited ``[a, b, ...]`` patterns
and regular expressions (``%...%``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

Predicate = Callable[[str], bool]
MAX_PATTERN = 1024


class FilterPatternError(ValueError):
    """The pattern is not valid (CloudWatch answers ``InvalidParameterException``)."""


def compile_pattern(pattern: str | None) -> Predicate:
    """A predicate telling whether one message matches ``pattern``."""
    text = (pattern or "").strip()
    if len(text) > MAX_PATTERN:
        raise FilterPatternError(
            f"filterPattern is {len(text)} characters long; the limit is {MAX_PATTERN}"
        )
    if not text:
        return _always
    if text.startswith("{"):
        return _compile_json(text)
    if text.startswith("[") or text.startswith("%"):
        raise FilterPatternError(
            f"Invalid filter pattern {text!r}: space-delimited and regular-expression "
            "patterns are not supported by the apicanary engine (use terms or { $.field ... })"
        )
    return _compile_terms(text)


def _always(message: str) -> bool:
    return True


# --- terms ----------------------------------------------------------------------------------

_TERM = re.compile(r'([-?]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def _compile_terms(text: str) -> Predicate:
    required: list[str] = []
    excluded: list[str] = []
    optional: list[str] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        match = _TERM.match(text, position)
        if match is None:  # an unterminated quote
            raise FilterPatternError(f"Invalid filter pattern {text!r}: unbalanced quotes")
        sign, quoted, bare = match.groups()
        term = quoted.replace('\\"', '"') if quoted is not None else bare
        if bare is not None and '"' in bare:
            raise FilterPatternError(f"Invalid filter pattern {text!r}: unbalanced quotes")
        {"-": excluded, "?": optional, "": required}[sign].append(term)
        position = match.end()

    def matches(message: str) -> bool:
        if any(term in message for term in excluded):
            return False
        if not all(term in message for term in required):
            return False
        return not optional or any(term in message for term in optional)

    return matches


# --- JSON -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<sel>\$(?:\.[A-Za-z0-9_@\-]+|\[\d+\])+)
    | (?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\)|\{|\})
    | "(?P<str>(?:[^"\\]|\\.)*)"
    | (?P<word>[^\s()&|{}=!<>"]+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # sel, op, str, word
    text: str


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterPatternError(f"Invalid filter pattern {text!r} at character {position}")
        kind = match.lastgroup or "word"
        tokens.append(_Token(kind, match.group(kind)))
        position = match.end()
    return tokens


_MISSING = object()
JsonTest = Callable[[Any], bool]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def fail(self, why: str) -> FilterPatternError:
        return FilterPatternError(f"Invalid filter pattern {self.text!r}: {why}")

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise self.fail("it ends too early")
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.kind != "op" or token.text != text:
            raise self.fail(f"expected {text!r}, found {token.text!r}")

    def parse(self) -> JsonTest:
        self.expect("{")
        test = self.disjunction()
        self.expect("}")
        if self.peek() is not None:
            raise self.fail("text after the closing '}'")
        return test

    def disjunction(self) -> JsonTest:
        tests = [self.conjunction()]
        while (token := self.peek()) is not None and token.text == "||":
            self.at += 1
            tests.append(self.conjunction())
        return tests[0] if len(tests) == 1 else (lambda doc: any(t(doc) for t in tests))

    def conjunction(self) -> JsonTest:
        tests = [self.primary()]
        while (token := self.peek()) is not None and token.text == "&&":
            self.at += 1
            tests.append(self.primary())
        return tests[0] if len(tests) == 1 else (lambda doc: all(t(doc) for t in tests))

    def primary(self) -> JsonTest:
        token = self.take()
        if token.kind == "op" and token.text == "(":
            test = self.disjunction()
            self.expect(")")
            return test
        if token.kind != "sel":
            raise self.fail(f"expected a $.selector, found {token.text!r}")
        path = _selector(token.text)
        operator = self.take()
        if operator.kind == "word":
            return self.keyword(path, operator.text)
        if operator.kind != "op" or operator.text not in _COMPARISONS:
            raise self.fail(f"expected a comparison after {token.text}, found {operator.text!r}")
        value = self.take()
        if value.kind not in ("str", "word"):
            raise self.fail(f"expected a value after {operator.text}, found {value.text!r}")
        return _comparison(path, operator.text, value, self)

    def keyword(self, path: tuple[str | int, ...], word: str) -> JsonTest:
        upper = word.upper()
        if upper == "EXISTS":
            return lambda doc: _lookup(doc, path) is not _MISSING
        if upper == "NOT":
            if self.take().text.upper() != "EXISTS":
                raise self.fail("NOT must be followed by EXISTS")
            return lambda doc: _lookup(doc, path) is _MISSING
        if upper == "IS":
            what = self.take().text.upper()
            expected = {"NULL": None, "TRUE": True, "FALSE": False}
            if what not in expected:
                raise self.fail(f"IS must be followed by NULL, TRUE or FALSE, found {what!r}")
            wanted = expected[what]
            return lambda doc: _lookup(doc, path) is wanted
        raise self.fail(f"unknown operator {word!r}")


_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")


def _selector(text: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for name, index in re.findall(r"\.([A-Za-z0-9_@\-]+)|\[(\d+)\]", text):
        parts.append(int(index) if index else name)
    return tuple(parts)


def _lookup(doc: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(doc, list) or part >= len(doc):
                return _MISSING
            doc = doc[part]
        else:
            if not isinstance(doc, dict) or part not in doc:
                return _MISSING
            doc = doc[part]
    return doc


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _comparison(
    path: tuple[str | int, ...], operator: str, value: _Token, parser: _Parser
) -> JsonTest:
    number = _number(value.text) if value.kind == "word" else None
    if operator in ("<", "<=", ">", ">="):
        if number is None:
            raise parser.fail(f"{operator} needs a number, found {value.text!r}")
        limit = number
        compare: Callable[[float], bool] = {
            "<": lambda a: a < limit,
            "<=": lambda a: a <= limit,
            ">": lambda a: a > limit,
            ">=": lambda a: a >= limit,
        }[operator]

        def numeric(doc: Any) -> bool:
            found = _lookup(doc, path)
            return isinstance(found, int | float) and not isinstance(found, bool) and compare(found)

        return numeric

    def equal(found: Any) -> bool:
        if found is _MISSING or isinstance(found, dict | list):
            return False
        if number is not None and isinstance(found, int | float) and not isinstance(found, bool):
            return float(found) == number
        shown = _as_text(found)
        if "*" in value.text:
            return fnmatch.fnmatchcase(shown, value.text)
        return shown == value.text

    if operator == "=":
        return lambda doc: equal(_lookup(doc, path))
    return lambda doc: _lookup(doc, path) is not _MISSING and not equal(_lookup(doc, path))


def _as_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compile_json(text: str) -> Predicate:
    test = _Parser(text).parse()

    def matches(message: str) -> bool:
        try:
            doc = orjson.loads(message)
        except orjson.JSONDecodeError:
            return False
        return isinstance(doc, dict) and test(doc)

    return matches
