"""A template's ``Conditions`` section, evaluated the way CloudFormation does.

``Fn::If`` picks one of two values by a named condition (:meth:`Conditions.choose`). A
condition is ``Fn::Equals``, ``Fn::And``, ``Fn::Or``, ``Fn::Not`` or ``{"Condition": name}``
(another condition), over values that may use ``Ref`` (parameters, pseudo parameters) and
``Fn::FindInMap``. ``Fn::Equals`` compares the resolved values as CloudFormation does: scalars
as their string forms (``Ref`` of a Number parameter is a string), lists item by item.
``Fn::And``/``Fn::Or`` take 2 to 10 conditions.

Conditions are evaluated on demand and once each; a condition that refers to itself, directly
or not, is an error naming the chain. Values are resolved by the caller's resolver (passed in
as a function), so this module knows no intrinsic but the condition functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from apicanary.project.fields import as_list, as_mapping, as_str, as_text_value, child, fail, show

_FUNCTIONS: Final = ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition")

Resolve = Callable[[Any, str], Any]


class Conditions:
    """The named conditions of one template; ``resolve(value, path)`` resolves operands."""

    def __init__(self, section: Any, resolve: Resolve) -> None:
        self._section = as_mapping(section if section is not None else {}, "Conditions")
        self._resolve = resolve
        self._values: dict[str, bool] = {}
        self._in_progress: list[str] = []

    def __contains__(self, name: object) -> bool:
        return name in self._section

    def value(self, name: str, path: str) -> bool:
        """Whether condition ``name`` holds; ``path`` is where it was named (for errors)."""
        if name in self._values:
            return self._values[name]
        if name not in self._section:
            known = ", ".join(self._section) or "none"
            raise fail(path, f"condition {show(name)} is not in Conditions (conditions: {known})")
        if name in self._in_progress:
            chain = " -> ".join([*self._in_progress[self._in_progress.index(name) :], name])
            raise fail(child("Conditions", name), f"refers to itself ({chain})")
        self._in_progress.append(name)
        try:
            result = self.evaluate(self._section[name], child("Conditions", name))
        finally:
            self._in_progress.pop()
        self._values[name] = result
        return result

    def choose(self, arg: Any, path: str) -> tuple[Any, str]:
        """``Fn::If [condition, value if true, value if false]`` at ``path``: the chosen value
        (unresolved) and where it is written."""
        parts = as_list(arg, path)
        if len(parts) != 3:
            raise fail(
                path, f"Fn::If needs [condition, value if true, value if false], got {show(arg)}"
            )
        name = as_str(parts[0], child(path, 0))
        chosen = 1 if self.value(name, child(path, 0)) else 2
        return parts[chosen], child(path, chosen)

    def evaluate(self, expression: Any, path: str) -> bool:
        """The truth of one condition expression written at ``path``."""
        body = as_mapping(expression, path)
        if len(body) != 1 or next(iter(body)) not in _FUNCTIONS:
            raise fail(
                path,
                f"{show(expression)} is not a condition: expected one of {', '.join(_FUNCTIONS)}",
            )
        ((function, arg),) = body.items()
        inner = child(path, function)
        if function == "Condition":
            return self.value(as_str(arg, inner), inner)
        if function == "Fn::Equals":
            operands = as_list(arg, inner)
            if len(operands) != 2:
                raise fail(inner, f"Fn::Equals needs [value, value], got {show(arg)}")
            left, right = (self._comparable(v, child(inner, i)) for i, v in enumerate(operands))
            return bool(left == right)
        if function == "Fn::Not":
            operands = as_list(arg, inner)
            if len(operands) != 1:
                raise fail(inner, f"Fn::Not needs [condition], got {show(arg)}")
            return not self.evaluate(operands[0], child(inner, 0))
        operands = as_list(arg, inner)
        if not 2 <= len(operands) <= 10:
            raise fail(inner, f"{function} needs 2 to 10 conditions, got {len(operands)}")
        results = (self.evaluate(c, child(inner, i)) for i, c in enumerate(operands))
        return all(results) if function == "Fn::And" else any(results)

    def _comparable(self, value: Any, path: str) -> Any:
        resolved = self._resolve(value, path)
        if isinstance(resolved, list):
            return [as_text_value(item, child(path, i)) for i, item in enumerate(resolved)]
        return as_text_value(resolved, path)
