from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from apicanary.project.sam_globals import merge_globals

_keys = st.sampled_from(["Timeout", "Runtime", "Environment", "Layers", "Tags", "X"])
_scalar = st.one_of(st.integers(), st.text(max_size=5), st.booleans())
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=10,
)
_props = st.dictionaries(_keys, _value, max_size=5)


def test_sam_rules_by_example() -> None:
    merged = merge_globals(
        {
            "Runtime": "python3.11",
            "Timeout": 3,
            "Environment": {"Variables": {"A": "1", "B": "2"}},
            "Layers": ["l1"],
            "CodeUri": {"Ref": "Code"},
        },
        {
            "Timeout": 10,
            "Environment": {"Variables": {"B": "x", "C": "3"}},
            "Layers": ["l2"],
            "CodeUri": {"Bucket": "b", "Key": "k"},
        },
    )
    assert merged == {
        "Runtime": "python3.11",
        "Timeout": 10,
        "Environment": {"Variables": {"A": "1", "B": "x", "C": "3"}},
        "Layers": ["l1", "l2"],
        "CodeUri": {"Bucket": "b", "Key": "k"},  # an intrinsic never merges: local wins
    }


def test_intrinsic_local_value_replaces_a_global_mapping() -> None:
    merged = merge_globals(
        {"Environment": {"Variables": {"A": "1"}}}, {"Environment": {"Ref": "E"}}
    )
    assert merged == {"Environment": {"Ref": "E"}}


@given(_props, _props)
def test_merge_properties(global_props: dict[str, Any], local: dict[str, Any]) -> None:
    snapshot = (repr(global_props), repr(local))
    merged = merge_globals(global_props, local)
    assert set(merged) == set(global_props) | set(local)
    for key, value in merged.items():
        if key not in local:
            assert value == global_props[key]
        elif key not in global_props or type(local[key]) is not type(global_props[key]):
            assert value == local[key]
        elif isinstance(local[key], list):
            assert value == global_props[key] + local[key]
        elif not isinstance(local[key], dict):
            assert value == local[key]
    assert (repr(global_props), repr(local)) == snapshot  # inputs untouched


@given(_props)
def test_empty_globals_is_identity(local: dict[str, Any]) -> None:
    assert merge_globals({}, local) == local
    assert merge_globals(local, {}) == local
