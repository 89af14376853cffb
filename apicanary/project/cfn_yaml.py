"""Parse CloudFormation YAML (or JSON) into plain Python data.

CloudFormation's short-form tags become their long JSON forms, exactly as CloudFormation
itself reads them: ``!Ref X`` → ``{"Ref": "X"}``, ``!GetAtt A.B`` → ``{"Fn::GetAtt": ["A",
"B"]}``, ``!Sub s`` → ``{"Fn::Sub": s}``, and any other ``!Name v`` → ``{"Fn::Name": v}``.

Two departures from PyYAML's ``safe_load``, both matching CloudFormation:

* timestamps stay strings (``AWSTemplateFormatVersion: 2010-09-09`` is not a date);
* a key repeated in one mapping is an error, not a silent overwrite.

Every syntax problem raises :class:`~apicanary.errors.TemplateError` naming the file, line
and column.
"""

from __future__ import annotations

from typing import Any

import yaml

from apicanary.errors import TemplateError


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader + CloudFormation tags, string timestamps, duplicate-key detection."""


# Drop the implicit timestamp resolver: CloudFormation has no date type.
_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{suffix}": value}


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a scalar", key_node.start_mark
            )
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first defined on line {first})",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=True)


_CfnLoader.add_multi_constructor("!", _construct_tag)
_CfnLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_cfn_yaml(text: str, source: str = "<template>") -> Any:
    """Parse ``text`` (YAML or JSON) into dicts, lists and scalars with long-form intrinsics.

    Raises TemplateError ``"<source> line L, column C: <problem>"`` on invalid YAML.
    """
    try:
        return yaml.load(text, Loader=_CfnLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source} line {mark.line + 1}, column {mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "invalid YAML"
        context = exc.context_mark
        if exc.problem and exc.context and context is not None and context is not mark:
            problem += f" ({exc.context} started on line {context.line + 1})"
        raise TemplateError(f"{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"{source}: invalid YAML: {exc}") from None
