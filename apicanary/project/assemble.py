"""What every loader does last: alarms read, names checked unique, the :class:`Project` built.

Both template readers (:class:`~apicanary.project.sam_template.SamTemplate` and
:class:`~apicanary.project.cfn_template.CfnTemplate`) fit :class:`LoadedTemplate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from apicanary.project.cw_alarm import alarm_spec
from apicanary.project.fields import fail, show
from apicanary.project.intrinsics import ALARM_TYPE, Resolver, StackContext
from apicanary.project.parameters import ParameterSet
from apicanary.project.specs import AlarmSpec, ApiSpec, FunctionSpec, Project


class LoadedTemplate(Protocol):
    """The parts of a checked template the last step needs."""

    path: Path
    root: Path
    context: StackContext
    parameters: ParameterSet
    resolver: Resolver

    def ids_of(self, resource_type: str) -> list[str]: ...

    def local_properties(self, logical_id: str) -> Mapping[str, Any]: ...


def alarms_of(template: LoadedTemplate) -> tuple[AlarmSpec, ...]:
    """The template's ``AWS::CloudWatch::Alarm`` resources, their names unique."""
    alarms = tuple(
        alarm_spec(template.resolver, lid, template.local_properties(lid))
        for lid in template.ids_of(ALARM_TYPE)
    )
    check_unique([a.alarm_name for a in alarms], "AlarmName", alarms)
    return alarms


def project_of(
    template: LoadedTemplate,
    functions: Sequence[FunctionSpec],
    apis: Sequence[ApiSpec],
    alarms: tuple[AlarmSpec, ...],
    **fields: Any,
) -> Project:
    """The :class:`Project` of ``template`` (``fields``: ``kind``, ``warnings``...)."""
    check_unique([f.function_name for f in functions], "FunctionName", tuple(functions))
    return Project(
        template_path=template.path,
        root=template.root,
        functions=tuple(functions),
        apis=tuple(apis),
        alarms=alarms,
        parameters=template.parameters.as_strings(),
        region=template.context.region,
        account_id=template.context.account_id,
        **fields,
    )


def check_unique(names: list[str], field: str, specs: tuple[Any, ...]) -> None:
    """Raise naming the second of two ``specs`` (with ``logical_id``) that share a name."""
    for i, name in enumerate(names):
        if name in names[:i]:
            first = specs[names.index(name)].logical_id
            raise fail(
                f"Resources.{specs[i].logical_id}.Properties.{field}",
                f"{show(name)} is already the name of {first}: names must be unique",
            )
