"""A plain CloudFormation template's sections, checked once, as the loader reads its resources.

:class:`CfnTemplate` checks ``Resources`` (alphanumeric logical ids, a ``Type`` each), resolves
``Parameters``, evaluates ``Conditions`` (a resource whose ``Condition`` is false is left out,
as CloudFormation would not create it) and builds the
:class:`~apicanary.project.intrinsics.Resolver` every property goes through, answering ``Ref``
and ``Fn::GetAtt`` for the resource types of :mod:`apicanary.project.cfn_refs`.
``Outputs`` and ``Rules`` are not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apicanary.project.cfn_refs import FUNCTION, CfnReferences
from apicanary.project.fields import as_list, as_mapping, as_str, child, fail, show
from apicanary.project.intrinsics import Resolver, StackContext
from apicanary.project.parameters import resolve_parameters
from apicanary.project.props import Props
from apicanary.project.sam_template import SAM_TRANSFORM, resources_section, template_sections


class CfnTemplate:
    """The checked sections of one parsed CloudFormation template."""

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
        _check_transform(self.template)
        self.resources = resources_section(self.template)
        self.parameters = resolve_parameters(self.template.get("Parameters"), overrides)
        self.references = CfnReferences(self.resources)
        self.resolver = Resolver(
            context=context,
            parameters=self.parameters,
            resources=self.resources,
            function_properties={
                lid: self.local_properties(lid) for lid in self._ids_of_type(FUNCTION)
            },
            mappings=as_mapping(self.template.get("Mappings") or {}, "Mappings"),
            conditions=as_mapping(self.template.get("Conditions") or {}, "Conditions"),
            references=self.references,
        )
        self.references.bind(self.resolver)
        self.active = {lid: r for lid, r in self.resources.items() if self._created(lid, r)}

    def ids_of(self, resource_type: str) -> list[str]:
        """The logical ids of the created resources of ``resource_type``, in template order."""
        return [lid for lid, r in self.active.items() if r["Type"] == resource_type]

    def local_properties(self, logical_id: str) -> Mapping[str, Any]:
        """The resource's ``Properties`` as written (nothing resolved)."""
        props = self.resources[logical_id].get("Properties") or {}
        return as_mapping(props, f"Resources.{logical_id}.Properties")

    def props(self, logical_id: str) -> Props:
        """The resource's properties, read resolved."""
        base = f"Resources.{logical_id}.Properties"
        return Props(self.resolver, base, self.local_properties(logical_id))

    def metadata(self, logical_id: str) -> Mapping[str, Any]:
        """The resource's ``Metadata`` (CDK writes asset paths there)."""
        value = self.resources[logical_id].get("Metadata") or {}
        return as_mapping(value, f"Resources.{logical_id}.Metadata")

    def _ids_of_type(self, resource_type: str) -> list[str]:
        return [lid for lid, r in self.resources.items() if r["Type"] == resource_type]

    def _created(self, lid: str, resource: Mapping[str, Any]) -> bool:
        if "Condition" not in resource:
            return True
        path = f"Resources.{lid}.Condition"
        conditions = self.resolver.conditions
        assert conditions is not None  # the resolver was given the Conditions section
        return conditions.value(as_str(resource["Condition"], path), path)


def _check_transform(template: Mapping[str, Any]) -> None:
    """Only SAM's transform is expanded (by the SAM loader): any other cannot be run here."""
    raw = template.get("Transform")
    if raw is None:
        return
    names = [raw] if isinstance(raw, str) else as_list(raw, "Transform")
    where = "Transform" if isinstance(raw, str) else child("Transform", 0)
    raise fail(where, f"{show(names[0])} is not supported locally: allowed is {SAM_TRANSFORM}")
