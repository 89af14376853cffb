"""A SAM template's sections, checked once, as the loader reads its resources.

:class:`SamTemplate` checks ``Resources`` (logical ids, types, no ``Condition`` on what the
engine runs) and ``Transform``, resolves ``Parameters``, reads ``Globals``, decides whether SAM's
implicit API exists, and builds the :class:`~apicanary.project.intrinsics.Resolver` every
property goes through. Each resource's properties are read through a
:class:`~apicanary.project.props.Props` with its Globals merged in.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Final, Literal

from apicanary.errors import TemplateError
from apicanary.project.fields import as_list, as_mapping, as_str, child, fail, show
from apicanary.project.intrinsics import (
    ALARM_TYPE,
    API_TYPE,
    FUNCTION_TYPE,
    Resolver,
    StackContext,
)
from apicanary.project.parameters import resolve_parameters
from apicanary.project.props import Props
from apicanary.project.sam_globals import globals_section, merge_globals
from apicanary.project.specs import IMPLICIT_API_ID

SAM_TRANSFORM: Final = "AWS::Serverless-2016-10-31"


class SamTemplate:
    """The checked sections of one parsed template (see the module docstring).

    ``implicit`` is :data:`IMPLICIT_API_ID` when a function's ``Api`` event names no
    ``RestApiId`` (SAM then creates ``ServerlessRestApi``), else None.
    """

    def __init__(
        self,
        document: Any,
        path: Path,
        overrides: Mapping[str, str] | None,
        context: StackContext,
    ) -> None:
        self.template = template_sections(document)
        self.path = path
        self.root = path.parent
        self.context = context
        self.resources = resources_section(self.template, (FUNCTION_TYPE, API_TYPE, ALARM_TYPE))
        _check_transform(self.template, self.resources)
        self.parameters = resolve_parameters(self.template.get("Parameters"), overrides)
        self.function_globals = globals_section(self.template, "Function")
        self.api_globals = globals_section(self.template, "Api")
        self.http_api_globals = globals_section(self.template, "HttpApi")
        self.function_ids = self.ids_of(FUNCTION_TYPE)
        merged = {
            lid: merge_globals(self.function_globals, self.local_properties(lid))
            for lid in self.function_ids
        }
        self.implicit = IMPLICIT_API_ID if _uses_implicit_api(merged) else None
        if self.implicit and self.implicit in self.resources:
            raise fail(
                f"Resources.{IMPLICIT_API_ID}",
                "is the logical id SAM gives the implicit API; rename this resource",
            )
        self.resolver = Resolver(
            context=context,
            parameters=self.parameters,
            resources=self.resources,
            function_properties=merged,
            implicit_apis=[self.implicit] if self.implicit else [],
            mappings=as_mapping(self.template.get("Mappings") or {}, "Mappings"),
        )

    def ids_of(self, resource_type: str) -> list[str]:
        """The logical ids of the resources of ``resource_type``, in template order."""
        return [lid for lid, r in self.resources.items() if r["Type"] == resource_type]

    def local_properties(self, logical_id: str) -> Mapping[str, Any]:
        """The resource's own ``Properties`` (Globals not merged, nothing resolved)."""
        props = self.resources[logical_id].get("Properties") or {}
        return as_mapping(props, f"Resources.{logical_id}.Properties")

    def props(self, logical_id: str, section: Literal["Function", "Api"]) -> Props:
        """The resource's properties with the ``Globals.<section>`` merged in.

        The implicit API is no resource of the template: its properties are Globals.Api only.
        """
        local = {} if logical_id not in self.resources else self.local_properties(logical_id)
        global_props = self.function_globals if section == "Function" else self.api_globals
        return Props(
            self.resolver,
            f"Resources.{logical_id}.Properties",
            local,
            global_props,
            f"Globals.{section}",
        )


def template_sections(document: Any) -> Mapping[str, Any]:
    """The parsed template as a mapping (an empty document is an error)."""
    if document is None:
        raise TemplateError("the template is empty")
    return as_mapping(document, "template")


def resources_section(
    template: Mapping[str, Any], unconditional: Collection[str] = ()
) -> dict[str, Mapping[str, Any]]:
    """``Resources``: alphanumeric logical ids, a ``Type`` each; a ``Condition`` on a resource
    whose type is in ``unconditional`` is refused (the SAM loader does not evaluate them)."""
    section = as_mapping(template.get("Resources") or {}, "Resources")
    resources: dict[str, Mapping[str, Any]] = {}
    for lid, value in section.items():
        path = child("Resources", lid)
        if not re.fullmatch(r"[A-Za-z0-9]+", lid):
            raise fail(path, "a logical id must be alphanumeric (A-Z, a-z, 0-9)")
        resource = as_mapping(value, path)
        kind = as_str(resource.get("Type"), child(path, "Type"))
        if "Condition" in resource and kind in unconditional:
            raise fail(
                child(path, "Condition"),
                "conditions are not evaluated by the local engine; remove the Condition",
            )
        resources[lid] = resource
    return resources


def _check_transform(template: Mapping[str, Any], resources: Mapping[str, Any]) -> None:
    raw = template.get("Transform")
    transforms = [] if raw is None else [raw] if isinstance(raw, str) else raw
    for i, name in enumerate(as_list(transforms, "Transform")):
        if name != SAM_TRANSFORM:
            where = "Transform" if isinstance(raw, str) else child("Transform", i)
            raise fail(where, f"{show(name)} is not supported locally: allowed is {SAM_TRANSFORM}")
    serverless = [lid for lid, r in resources.items() if r["Type"].startswith("AWS::Serverless::")]
    if serverless and SAM_TRANSFORM not in transforms:
        raise fail(
            "Transform",
            f"{SAM_TRANSFORM} is required for {resources[serverless[0]]['Type']} "
            f"(Resources.{serverless[0]})",
        )


def _uses_implicit_api(function_props: Mapping[str, Mapping[str, Any]]) -> bool:
    for props in function_props.values():
        events = props.get("Events")
        if not isinstance(events, Mapping):
            continue
        for event in events.values():
            if isinstance(event, Mapping) and event.get("Type") == "Api":
                event_props = event.get("Properties")
                if not isinstance(event_props, Mapping) or "RestApiId" not in event_props:
                    return True
    return False
