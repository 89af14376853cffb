"""A CDK cloud assembly (``cdk.out``): its stacks, and the template of the one to run.

``cdk synth`` writes ``manifest.json`` with one artifact per stack (``type:
aws:cloudformation:stack``, ``properties.templateFile`` relative to the assembly) and, for CDK
stages, nested assemblies (``type: cdk:cloud-assembly``, ``properties.directoryName``), whose
stacks are named ``<Stage>/<Stack>`` as ``cdk ls`` shows them. Beside each template it writes
``<stack>.assets.json`` and the assets (``asset.<hash>`` directories or zips) that
:mod:`apicanary.project.cfn_code` reads.

A stack is picked by its artifact id, its display name (``cdk ls``) or its CloudFormation stack
name; without one, the assembly must hold exactly one stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from apicanary.errors import TemplateError

MANIFEST: Final = "manifest.json"
STACK_ARTIFACT: Final = "aws:cloudformation:stack"
NESTED_ASSEMBLY: Final = "cdk:cloud-assembly"


@dataclass(frozen=True)
class CdkStack:
    """One stack artifact of an assembly; ``template`` is its template file's absolute path."""

    artifact_id: str
    display_name: str
    stack_name: str
    template: Path

    def names(self) -> tuple[str, ...]:
        """Every name ``--stack`` may use for this stack."""
        return (self.artifact_id, self.display_name, self.stack_name)


def is_cloud_assembly(path: Path) -> bool:
    """Whether ``path`` is a directory holding a cloud assembly's ``manifest.json``."""
    return path.is_dir() and (path / MANIFEST).is_file()


def stacks(assembly: Path, prefix: str = "") -> list[CdkStack]:
    """The stacks of the assembly in directory ``assembly``, nested assemblies included."""
    manifest = assembly / MANIFEST
    try:
        document: Any = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TemplateError(f"{manifest}: not a cloud assembly manifest ({exc})") from None
    artifacts = document.get("artifacts") if isinstance(document, dict) else None
    if not isinstance(artifacts, dict):
        raise TemplateError(f"{manifest}: has no 'artifacts': not a cloud assembly manifest")
    found: list[CdkStack] = []
    for artifact_id, artifact in artifacts.items():
        if not isinstance(artifact, dict):
            continue
        properties = artifact.get("properties") or {}
        if artifact.get("type") == NESTED_ASSEMBLY:
            directory = properties.get("directoryName")
            if isinstance(directory, str):
                nested_prefix = f"{prefix}{artifact.get('displayName') or artifact_id}/"
                found += stacks(assembly / directory, nested_prefix)
            continue
        if artifact.get("type") != STACK_ARTIFACT:
            continue
        template = properties.get("templateFile")
        if not isinstance(template, str):
            raise TemplateError(
                f"{manifest}: artifacts.{artifact_id}.properties.templateFile is missing"
            )
        display = artifact.get("displayName") or artifact_id
        found.append(
            CdkStack(
                artifact_id=artifact_id,
                display_name=display if not prefix or "/" in display else prefix + display,
                stack_name=properties.get("stackName") or artifact_id,
                template=(assembly / template).resolve(),
            )
        )
    return found


def stack_template(assembly: Path, stack: str | None = None) -> Path:
    """The template file of ``stack`` (or of the only stack) of the assembly in ``assembly``."""
    found = stacks(assembly)
    listing = ", ".join(s.display_name for s in found) or "none"
    if stack is None:
        if len(found) == 1:
            return found[0].template
        if not found:
            raise TemplateError(f"{assembly}: the cloud assembly has no stack")
        raise TemplateError(
            f"{assembly}: the cloud assembly has {len(found)} stacks ({listing}): say which",
            hint=f"pass --stack {found[0].display_name}",
        )
    for candidate in found:
        if stack in candidate.names():
            if not candidate.template.is_file():
                raise TemplateError(f"{candidate.template}: the stack's template is missing")
            return candidate.template
    raise TemplateError(
        f"--stack {stack!r} is not a stack of {assembly} (stacks: {listing})",
        hint="run 'cdk synth' again if the stack is new",
    )
