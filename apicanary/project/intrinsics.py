"""Resolve CloudFormation intrinsic functions the way a local stack would.

Supported: ``Ref``, ``Fn::Sub`` (both forms, ``${!Literal}`` escapes), ``Fn::GetAtt``,
``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap``, ``Fn::Base64``, the pseudo
parameters and ``AWS::NoValue`` (the key or list item disappears). ``Fn::If`` is resolved when
the resolver is given the template's ``Conditions`` (:mod:`apicanary.project.conditions`; the
CloudFormation loader does, the SAM loader does not); otherwise it, and cross-stack functions,
raise :class:`~apicanary.errors.TemplateError`.

What a reference resolves to on the local stack:

* ``Ref`` to an ``AWS::Serverless::Function`` → its function name (``FunctionName`` or the
  logical id, see :mod:`apicanary.project.sam`); ``Ref Fn.Alias`` / ``Ref FnAlias<alias>``
  (the SAM-generated alias) → the alias ARN;
* ``Ref`` to an ``AWS::CloudWatch::Alarm`` → its alarm name (``AlarmName`` or logical id);
* ``Ref`` to any other resource (an API, a table, a queue…) → its logical id, which is the
  readable local stand-in for the physical id AWS would generate;
* ``Fn::GetAtt Fn.Arn`` → ``arn:<partition>:lambda:<region>:<account>:function:<name>``,
  ``Fn::GetAtt Alarm.Arn`` → the alarm ARN; other attributes are refused;
* a loader may pass :class:`ResourceReferences` that answer ``Ref`` and ``Fn::GetAtt`` for the
  resource types it reads (the CloudFormation loader does for Lambda versions and aliases, API
  Gateway and CodeDeploy resources); it is asked before the generic answers above.

Inside ``Fn::Sub``, ``${stageVariables.x}`` is kept as written: API Gateway substitutes it
per request (and CloudFormation users often forget the ``${!...}`` escape).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION, alarm_arn, function_arn, partition_of
from apicanary.project.conditions import Conditions
from apicanary.project.fields import (
    as_int,
    as_list,
    as_mapping,
    as_str,
    as_text_value,
    child,
    fail,
    show,
)
from apicanary.project.parameters import ParameterSet

STACK_NAME: Final = "apicanary-local"
FUNCTION_TYPE: Final = "AWS::Serverless::Function"
ALARM_TYPE: Final = "AWS::CloudWatch::Alarm"
API_TYPE: Final = "AWS::Serverless::Api"
SUPPORTED: Final = (
    "Ref",
    "Fn::Sub",
    "Fn::GetAtt",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::FindInMap",
    "Fn::Base64",
)
_CONDITIONAL: Final = frozenset({"Fn::If", "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"})
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _NoValue:
    """The value of ``Ref: AWS::NoValue``: the enclosing key or list item is dropped."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()


class ResourceReferences(Protocol):
    """What ``Ref`` and ``Fn::GetAtt`` yield for the resource types a loader knows.

    Each method returns None for a resource or attribute it does not answer for, and raises
    TemplateError (naming ``path``) for one it knows to be unusable locally.
    """

    def ref(self, logical_id: str, path: str) -> Any | None: ...

    def get_att(self, logical_id: str, attribute: str, path: str) -> Any | None: ...


@dataclass(frozen=True)
class StackContext:
    """Where the local stack lives: the values of the pseudo parameters."""

    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT
    stack_name: str = STACK_NAME

    def pseudo(self, name: str) -> Any:
        """The value of pseudo parameter ``name`` (``AWS::Region``…), or KeyError."""
        partition = partition_of(self.region)
        values: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{partition}:cloudformation:{self.region}:{self.account_id}:stack/"
                f"{self.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::Partition": partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        return values[name]


class Resolver:
    """Resolves intrinsics against one template's parameters, resources and mappings.

    ``function_properties`` are the functions' properties after Globals were merged (the
    resolver reads ``FunctionName`` and ``AutoPublishAlias`` from them); ``implicit_apis``
    are SAM-generated API logical ids (``ServerlessRestApi``) that ``Ref`` may name.
    ``conditions`` (the template's ``Conditions`` section) turns on ``Fn::If``;
    ``references`` answers ``Ref``/``Fn::GetAtt`` for more resource types.
    """

    def __init__(
        self,
        *,
        context: StackContext,
        parameters: ParameterSet,
        resources: Mapping[str, Mapping[str, Any]],
        function_properties: Mapping[str, Mapping[str, Any]],
        implicit_apis: Collection[str] = (),
        mappings: Mapping[str, Any] | None = None,
        conditions: Mapping[str, Any] | None = None,
        references: ResourceReferences | None = None,
    ) -> None:
        self.context = context
        self._parameters = parameters
        self._resources = resources
        self._functions = function_properties
        self._implicit_apis = frozenset(implicit_apis)
        self._mappings = mappings or {}
        self._names: dict[str, str] = {}
        self._in_progress: set[str] = set()
        self.conditions = None if conditions is None else Conditions(conditions, self.resolve)
        self._references = references

    # --- public -------------------------------------------------------------------------

    def resolve(self, value: Any, path: str) -> Any:
        """``value`` with every intrinsic replaced; ``NO_VALUE`` if it is ``AWS::NoValue``."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
                    return self._intrinsic(key, arg, path)
            resolved = {k: self.resolve(v, child(path, k)) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            items = [self.resolve(v, child(path, i)) for i, v in enumerate(value)]
            return [v for v in items if v is not NO_VALUE]
        return value

    def function_name(self, logical_id: str) -> str:
        """The local name of function ``logical_id``: ``FunctionName`` or the logical id."""
        return self._name_of(logical_id, "FunctionName", self._functions[logical_id])

    def alarm_name(self, logical_id: str) -> str:
        """The name of alarm ``logical_id``: ``AlarmName`` or the logical id."""
        props = self._resources[logical_id].get("Properties") or {}
        return self._name_of(logical_id, "AlarmName", as_mapping(props, f"Resources.{logical_id}"))

    def function_alias(self, logical_id: str) -> str | None:
        """The resolved ``AutoPublishAlias`` of function ``logical_id``, if any."""
        raw = self._functions[logical_id].get("AutoPublishAlias")
        if raw is None:
            return None
        path = f"Resources.{logical_id}.Properties.AutoPublishAlias"
        return as_str(
            self.resolve(raw, path),
            path,
            pattern=r"(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}",
            allowed="an alias name is 1-128 letters, digits, '-' or '_', not all digits",
        )

    # --- intrinsic dispatch -------------------------------------------------------------

    def _intrinsic(self, key: str, arg: Any, path: str) -> Any:
        if key == "Ref":
            return self._ref(as_str(arg, child(path, "Ref")), path)
        if key == "Fn::Sub":
            return self._sub(arg, path)
        if key == "Fn::GetAtt":
            return self._get_att(arg, path)
        if key == "Fn::Join":
            return self._join(arg, path)
        if key == "Fn::Select":
            return self._select(arg, path)
        if key == "Fn::Split":
            return self._split(arg, path)
        if key == "Fn::FindInMap":
            return self._find_in_map(arg, path)
        if key == "Fn::Base64":
            text = as_text_value(self.resolve(arg, path), path)
            return base64.b64encode(text.encode()).decode()
        if key == "Fn::If" and self.conditions is not None:
            return self.resolve(*self.conditions.choose(arg, path))
        supported = SUPPORTED if self.conditions is None else (*SUPPORTED, "Fn::If")
        why = "not supported"
        if key in _CONDITIONAL:
            why = "Conditions are not evaluated locally" if self.conditions is None else (
                "condition functions belong in the Conditions section"
            )  # fmt: skip
        raise fail(
            path,
            f"{key} is not supported by the local engine ({why}); supported: "
            f"{', '.join(supported)}",
        )

    def _ref(self, name: str, path: str) -> Any:
        if name.startswith("AWS::"):
            try:
                return self.context.pseudo(name)
            except KeyError:
                raise fail(path, f"Ref to unknown pseudo parameter {name!r}") from None
        if name in self._parameters:
            return self._parameters.get(name, path)
        if name in self._functions:
            return self.function_name(name)
        kind = self._type_of(name)
        if kind == ALARM_TYPE:
            return self.alarm_name(name)
        if kind is not None and self._references is not None:
            answer = self._references.ref(name, path)
            if answer is not None:
                return answer
        if kind is not None:
            return name
        base, _, suffix = name.partition(".")
        if suffix and base in self._functions:
            return self._function_attribute(base, suffix, path)
        for fn in self._functions:
            alias = self.function_alias(fn)
            if alias is not None and name == f"{fn}Alias{alias}":
                return self._alias_arn(fn, alias)
        raise fail(
            path, f"Ref to {name!r}: not a parameter, resource or pseudo parameter of this template"
        )

    def _get_att(self, arg: Any, path: str) -> Any:
        if isinstance(arg, str):
            resource, _, attribute = arg.partition(".")
        else:
            parts = as_list(arg, path)
            if len(parts) != 2:
                raise fail(path, f"Fn::GetAtt needs [resource, attribute], got {show(arg)}")
            resource = as_str(parts[0], child(path, 0))
            attribute = as_str(self.resolve(parts[1], child(path, 1)), child(path, 1))
        kind = self._type_of(resource)
        if resource in self._functions:
            return self._function_attribute(resource, attribute, path)
        if kind is not None and self._references is not None:
            answer = self._references.get_att(resource, attribute, path)
            if answer is not None:
                return answer
        if kind == ALARM_TYPE and attribute == "Arn":
            ctx = self.context
            return alarm_arn(self.alarm_name(resource), region=ctx.region, account=ctx.account_id)
        if kind is None:
            raise fail(path, f"Fn::GetAtt {resource}.{attribute}: no resource {resource!r}")
        raise fail(
            path,
            f"Fn::GetAtt {resource}.{attribute} ({kind}) is not supported by the local engine; "
            "supported: <Function>.Arn, <Function>.Alias, <Alarm>.Arn",
        )

    def _function_attribute(self, logical_id: str, attribute: str, path: str) -> str:
        if attribute == "Arn":
            ctx = self.context
            return function_arn(
                self.function_name(logical_id), region=ctx.region, account=ctx.account_id
            )
        if attribute == "Alias":
            alias = self.function_alias(logical_id)
            if alias is None:
                raise fail(path, f"{logical_id}.Alias needs AutoPublishAlias on {logical_id}")
            return self._alias_arn(logical_id, alias)
        raise fail(
            path,
            f"{logical_id}.{attribute} is not supported by the local engine; supported: Arn, Alias",
        )

    def _alias_arn(self, logical_id: str, alias: str) -> str:
        ctx = self.context
        return function_arn(
            self.function_name(logical_id), alias, region=ctx.region, account=ctx.account_id
        )

    # --- Fn::Sub and friends ------------------------------------------------------------

    def _sub(self, arg: Any, path: str) -> str:
        variables: dict[str, Any] = {}
        if isinstance(arg, list):
            if len(arg) != 2:
                raise fail(path, f"Fn::Sub needs a string or [string, variables], got {show(arg)}")
            template = as_str(arg[0], child(path, 0))
            for name, value in as_mapping(arg[1], child(path, 1)).items():
                variables[name] = self.resolve(value, child(child(path, 1), name))
        else:
            template = as_str(arg, path)

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name.startswith("stageVariables."):
                return match.group(0)
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                value = self._get_att(name, path)
            else:
                value = self._ref(name, path)
            if isinstance(value, list | dict) or value is NO_VALUE:
                raise fail(path, f"Fn::Sub variable ${{{name}}} is {show(value)}, not a string")
            return as_text_value(value, path)

        return _SUB_VARIABLE.sub(replace, template)

    def _join(self, arg: Any, path: str) -> str:
        parts = as_list(arg, path)
        if len(parts) != 2:
            raise fail(path, f"Fn::Join needs [delimiter, list], got {show(arg)}")
        delimiter = as_str(parts[0], child(path, 0))
        items = as_list(self.resolve(parts[1], child(path, 1)), child(path, 1))
        return delimiter.join(as_text_value(item, child(path, 1)) for item in items)

    def _select(self, arg: Any, path: str) -> Any:
        parts = as_list(arg, path)
        if len(parts) != 2:
            raise fail(path, f"Fn::Select needs [index, list], got {show(arg)}")
        items = as_list(self.resolve(parts[1], child(path, 1)), child(path, 1))
        index = as_int(self.resolve(parts[0], child(path, 0)), child(path, 0), low=0)
        if index >= len(items):
            raise fail(path, f"Fn::Select index {index} is out of range for {len(items)} items")
        return items[index]

    def _split(self, arg: Any, path: str) -> list[str]:
        parts = as_list(arg, path)
        if len(parts) != 2:
            raise fail(path, f"Fn::Split needs [delimiter, string], got {show(arg)}")
        delimiter = as_str(parts[0], child(path, 0))
        source = as_str(self.resolve(parts[1], child(path, 1)), child(path, 1))
        return source.split(delimiter)

    def _find_in_map(self, arg: Any, path: str) -> Any:
        parts = as_list(arg, path)
        if len(parts) != 3:
            raise fail(path, f"Fn::FindInMap needs [map, key, key], got {show(arg)}")
        keys = [
            as_str(self.resolve(p, child(path, i)), child(path, i)) for i, p in enumerate(parts)
        ]
        node: Any = self._mappings
        for depth, key in enumerate(keys):
            if not isinstance(node, Mapping) or key not in node:
                trail = ".".join(["Mappings", *keys[: depth + 1]])
                raise fail(path, f"Fn::FindInMap: {trail} does not exist")
            node = node[key]
        return node

    # --- names --------------------------------------------------------------------------

    def _type_of(self, logical_id: str) -> str | None:
        if logical_id in self._implicit_apis:
            return API_TYPE
        resource = self._resources.get(logical_id)
        if not isinstance(resource, Mapping):
            return None
        kind = resource.get("Type")
        return kind if isinstance(kind, str) else None

    def _name_of(self, logical_id: str, prop: str, props: Mapping[str, Any]) -> str:
        if logical_id in self._names:
            return self._names[logical_id]
        if logical_id in self._in_progress:
            raise fail(f"Resources.{logical_id}.Properties.{prop}", "refers to itself")
        raw = props.get(prop)
        if raw is None:
            name = logical_id
        else:
            self._in_progress.add(logical_id)
            try:
                path = f"Resources.{logical_id}.Properties.{prop}"
                name = as_str(self.resolve(raw, path), path)
            finally:
                self._in_progress.discard(logical_id)
        self._names[logical_id] = name
        return name
