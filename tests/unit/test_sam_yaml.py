from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from apicanary.errors import TemplateError
from apicanary.project.cfn_yaml import load_cfn_yaml


def test_short_form_tags_become_long_form_intrinsics() -> None:
    doc = load_cfn_yaml(
        """
        A: !Ref Param
        B: !GetAtt Fn.Arn
        C: !GetAtt [Fn, Arn]
        D: !Sub "${AWS::Region}-x"
        E: !Sub ["${a}", {a: !Ref P}]
        F: !Join [",", [a, b]]
        G: !If [Cond, a, b]
        H: !Condition IsProd
        I: !GetAtt Res.Nested.Attr
        """.replace("\n        ", "\n")
    )
    assert doc == {
        "A": {"Ref": "Param"},
        "B": {"Fn::GetAtt": ["Fn", "Arn"]},
        "C": {"Fn::GetAtt": ["Fn", "Arn"]},
        "D": {"Fn::Sub": "${AWS::Region}-x"},
        "E": {"Fn::Sub": ["${a}", {"a": {"Ref": "P"}}]},
        "F": {"Fn::Join": [",", ["a", "b"]]},
        "G": {"Fn::If": ["Cond", "a", "b"]},
        "H": {"Condition": "IsProd"},
        "I": {"Fn::GetAtt": ["Res", "Nested.Attr"]},
    }


def test_dates_stay_strings_and_json_parses() -> None:
    assert load_cfn_yaml("AWSTemplateFormatVersion: 2010-09-09") == {
        "AWSTemplateFormatVersion": "2010-09-09"
    }
    assert load_cfn_yaml('{"Resources": {"A": {"Type": "T"}}}') == {
        "Resources": {"A": {"Type": "T"}}
    }


def test_syntax_error_names_file_line_and_column() -> None:
    with pytest.raises(TemplateError) as info:
        load_cfn_yaml("a: 1\nb:\n  - [unclosed\nc: 2\n", "template.yaml")
    assert str(info.value) == (
        "template.yaml line 4, column 2: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence started on line 3)"
    )


def test_duplicate_key_is_an_error_naming_both_lines() -> None:
    text = "Resources:\n  A:\n    Type: X\n  A:\n    Type: Y\n"
    with pytest.raises(TemplateError) as info:
        load_cfn_yaml(text, "t.yaml")
    assert str(info.value) == "t.yaml line 4, column 3: duplicate key 'A' (first defined on line 2)"


def test_tab_indentation_error_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="line 2"):
        load_cfn_yaml("a:\n\tb: 1\n")


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.floats(allow_nan=False)
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_json)
def test_plain_yaml_round_trips(value: Any) -> None:
    assert load_cfn_yaml(yaml.safe_dump(value)) == value
