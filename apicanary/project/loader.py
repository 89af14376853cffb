"""Find a project's template and load it with the right loader: SAM, CloudFormation or CDK.

* A directory that holds a cloud assembly (``manifest.json``, what ``cdk synth`` writes to
  ``cdk.out``), or a CDK app directory whose ``cdk.out`` holds one: the template of its only
  stack, or of ``stack`` (:mod:`apicanary.project.cdk`).
* Another directory: its ``template.yaml`` (``.yml``, ``.json``).
* A file: itself.

The file is then loaded as SAM when its ``Transform`` names ``AWS::Serverless-2016-10-31`` (or
it declares ``AWS::Serverless::*`` resources, which the SAM loader then asks the transform for),
else as plain CloudFormation; a template inside a cloud assembly is a ``cdk`` project.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from apicanary.errors import BadInputError, TemplateError
from apicanary.project.cdk import MANIFEST, is_cloud_assembly, stack_template
from apicanary.project.cfn_yaml import load_cfn_yaml
from apicanary.project.cloudformation import load_cloudformation
from apicanary.project.intrinsics import StackContext
from apicanary.project.sam import load_sam
from apicanary.project.sam_template import SAM_TRANSFORM
from apicanary.project.specs import Project

TEMPLATE_NAMES: Final = ("template.yaml", "template.yml", "template.json")
CDK_OUT: Final = "cdk.out"


def load_project(
    template_path: Path,
    *,
    stack: str | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
) -> Project:
    """Load the project at ``template_path`` (a template, its directory or a ``cdk.out``).

    ``stack`` picks a stack of a cloud assembly; ``parameter_overrides`` replace parameter
    defaults; ``region`` and ``account_id`` are the local stack's pseudo parameters (they
    appear in ARNs). Raises TemplateError for anything the local engine cannot run faithfully
    (the message starts with the file name), BadInputError for a bad region or account id.
    """
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise BadInputError(f"region {region!r} is not valid: expected e.g. us-east-1")
    if not re.fullmatch(r"\d{12}", account_id):
        raise BadInputError(f"account id {account_id!r} is not valid: must be 12 digits")
    path = template_file(Path(template_path), stack=stack)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from None
    document = load_cfn_yaml(text, path.name)
    context = StackContext(region, account_id)
    try:
        if _is_sam(document):
            return load_sam(document, path, parameter_overrides, context)
        kind = "cdk" if (path.parent / MANIFEST).is_file() else "cloudformation"
        return load_cloudformation(document, path, parameter_overrides, context, kind=kind)
    except TemplateError as exc:
        raise TemplateError(f"{path.name}: {exc.message}", hint=exc.hint) from None


def template_file(path: Path, *, stack: str | None = None) -> Path:
    """The absolute template file ``path`` names (see the module docstring).

    Raises TemplateError when there is none, or when ``stack`` is given for a plain template.
    """
    path = path.expanduser().resolve()
    if path.is_dir():
        for assembly in (path, path / CDK_OUT):
            if is_cloud_assembly(assembly) and not _sam_template_in(path):
                return stack_template(assembly, stack)
        found = _sam_template_in(path)
        if found is None:
            raise TemplateError(
                f"no template in {path}: expected one of {', '.join(TEMPLATE_NAMES)}, or a "
                f"CDK cloud assembly ({CDK_OUT}/{MANIFEST})",
                hint="run `apicanary init` to create a sample project, or `cdk synth`",
            )
        path = found
    elif not path.is_file():
        raise TemplateError(
            f"template {path} does not exist", hint="pass --template or run `apicanary init`"
        )
    if stack is not None:
        raise TemplateError(
            f"--stack {stack}: {path.name} is a template, not a CDK cloud assembly",
            hint=f"pass the {CDK_OUT} directory as the template",
        )
    return path


def default_template(directory: Path) -> Path | None:
    """The project in ``directory`` when no template is named: a template, or a ``cdk.out``."""
    found = _sam_template_in(directory)
    if found is not None:
        return found
    assembly = directory / CDK_OUT
    return assembly if is_cloud_assembly(assembly) else None


def _sam_template_in(directory: Path) -> Path | None:
    for name in TEMPLATE_NAMES:
        if (directory / name).is_file():
            return directory / name
    return None


def _is_sam(document: object) -> bool:
    if not isinstance(document, Mapping):
        return False
    transform = document.get("Transform")
    names = transform if isinstance(transform, list) else [transform]
    if SAM_TRANSFORM in names:
        return True
    resources = document.get("Resources")
    return isinstance(resources, Mapping) and any(
        isinstance(r, Mapping) and str(r.get("Type", "")).startswith("AWS::Serverless::")
        for r in resources.values()
    )
