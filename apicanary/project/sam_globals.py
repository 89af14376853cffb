"""SAM ``Globals``: merge a section's properties into each resource, as SAM does.

SAM's rules (``samtranslator/plugins/globals``): when both sides are plain mappings they are
merged key by key, recursively (``Environment.Variables`` combine); when both are lists the
global items come first, then the resource's; in every other case (scalars, intrinsic
functions, differing types) the resource's value wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apicanary.project.fields import as_mapping


def merge_globals(
    global_props: Mapping[str, Any], local_props: Mapping[str, Any]
) -> dict[str, Any]:
    """The resource's properties with the Globals section merged in (neither is modified)."""
    merged = _merge(dict(global_props), dict(local_props))
    assert isinstance(merged, dict)
    return merged


def globals_section(template: Mapping[str, Any], section: str) -> dict[str, Any]:
    """``Globals.<section>`` of ``template`` as a mapping (empty when absent)."""
    all_globals = as_mapping(template.get("Globals") or {}, "Globals")
    return dict(as_mapping(all_globals.get(section) or {}, f"Globals.{section}"))


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    if len(value) != 1:
        return False
    key = next(iter(value))
    return isinstance(key, str) and (key == "Ref" or key.startswith("Fn::"))


def _merge(global_value: Any, local_value: Any) -> Any:
    if _is_plain_mapping(global_value) and _is_plain_mapping(local_value):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge(merged[key], value) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def _is_plain_mapping(value: Any) -> bool:
    return isinstance(value, Mapping) and not _is_intrinsic(value)
