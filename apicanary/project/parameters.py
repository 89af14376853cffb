"""Template ``Parameters``: their values from overrides or defaults, validated.

A parameter's value is the override if one was given, else its ``Default``. List types
(``CommaDelimitedList``, ``List<...>``) resolve to lists of strings, every other type to a
string (CloudFormation passes numbers to ``Ref`` as strings too). A parameter with neither
an override nor a default is only an error when something refers to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apicanary.errors import TemplateError
from apicanary.project.fields import as_mapping, as_str, as_text_value, child, fail, show

ParamValue = str | list[str]


@dataclass(frozen=True)
class ParameterSet:
    """Resolved parameter values; ``unresolved`` maps names to why they have no value."""

    values: Mapping[str, ParamValue] = field(default_factory=dict)
    unresolved: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str, path: str) -> ParamValue:
        """The value of parameter ``name``; TemplateError (naming ``path``) if it has none."""
        if name in self.values:
            return self.values[name]
        raise fail(path, f"parameter {name!r} has no value: {self.unresolved[name]}")

    def __contains__(self, name: object) -> bool:
        return name in self.values or name in self.unresolved

    def as_strings(self) -> dict[str, str]:
        """Every resolved value as a string (lists joined with commas)."""
        return {k: v if isinstance(v, str) else ",".join(v) for k, v in self.values.items()}


def resolve_parameters(
    section: Any, overrides: Mapping[str, str] | None, path: str = "Parameters"
) -> ParameterSet:
    """Validate the ``Parameters`` section and pick each parameter's value."""
    declared = as_mapping(section if section is not None else {}, path)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        names = ", ".join(sorted(declared)) or "none"
        raise TemplateError(
            f"parameter override {unknown[0]!r} is not a parameter of the template "
            f"(parameters: {names})"
        )
    values: dict[str, ParamValue] = {}
    unresolved: dict[str, str] = {}
    for name, spec_value in declared.items():
        spec_path = child(path, name)
        spec = as_mapping(spec_value, spec_path)
        kind = as_str(spec.get("Type", "String"), child(spec_path, "Type"))
        if name in overrides:
            raw = overrides[name]
            source = "override"
        elif "Default" in spec and not kind.startswith("AWS::SSM::Parameter::Value<"):
            raw = as_text_value(spec["Default"], child(spec_path, "Default"))
            source = "Default"
        else:
            unresolved[name] = (
                "SSM parameters are not looked up locally; pass it in parameter overrides"
                if kind.startswith("AWS::SSM::Parameter::Value<")
                else "it has no Default; pass it in parameter overrides"
            )
            continue
        _check_allowed(spec, spec_path, raw, source)
        if kind == "Number" and not re.fullmatch(r"-?\d+(\.\d+)?", raw.strip()):
            raise fail(spec_path, f"{source} {show(raw)} is not a number (Type: Number)")
        is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
        values[name] = [part.strip() for part in raw.split(",")] if is_list else raw
    return ParameterSet(values, unresolved)


def _check_allowed(spec: Mapping[str, Any], path: str, raw: str, source: str) -> None:
    if "AllowedValues" in spec:
        allowed = [as_text_value(v, path) for v in spec["AllowedValues"] or []]
        if raw not in allowed:
            raise fail(
                path, f"{source} {show(raw)} is not allowed: must be one of {', '.join(allowed)}"
            )
    if "AllowedPattern" in spec:
        pattern = as_str(spec["AllowedPattern"], child(path, "AllowedPattern"))
        if not re.fullmatch(pattern, raw):
            raise fail(path, f"{source} {show(raw)} does not match AllowedPattern {pattern}")
