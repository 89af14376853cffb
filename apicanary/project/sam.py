"""Load a SAM/CloudFormation template into the frozen specs the engine runs.

``load_project(path)`` reads ``AWS::Serverless::Function``, ``AWS::Serverless::Api`` (and
SAM's implicit ``ServerlessRestApi``) and ``AWS::CloudWatch::Alarm`` resources, merges
``Globals`` the way SAM does, resolves intrinsics for the local stack (see
:mod:`apicanary.project.intrinsics`) and validates what the engine relies on. Other resource
types are ignored. Every problem raises :class:`~apicanary.errors.TemplateError` worded
``<file>: <property path>: <value> <problem>: <what is allowed>``.

Local choices where AWS would generate something:

* a function's name is its ``FunctionName`` or else its **logical id** (CloudFormation would
  generate ``<stack>-<LogicalId>-<random>``; the logical id is the readable local choice);
* an alarm's name is its ``AlarmName`` or else its logical id;
* ``Ref`` to an API (or any other resource) yields its logical id;
* the implicit API is named ``ServerlessRestApi`` (unless ``Globals.Api.Name`` says otherwise)
  with stage ``Prod``; its routes invoke each function's ``AutoPublishAlias`` if it has one;
* a method defined both in an API's ``DefinitionBody`` and by a function event keeps the
  ``DefinitionBody`` integration (as SAM does); the same method from two events is an error.

The work is split by what is read: :mod:`~apicanary.project.sam_template` (sections, Globals,
the resolver), :mod:`~apicanary.project.sam_functions`, :mod:`~apicanary.project.sam_apis`
and :mod:`~apicanary.project.cw_alarm` (alarms).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from apicanary.errors import BadInputError, TemplateError
from apicanary.project.cfn_yaml import load_cfn_yaml
from apicanary.project.cw_alarm import put_metric_alarm_input
from apicanary.project.fields import as_mapping, as_str, child, fail, show
from apicanary.project.intrinsics import ALARM_TYPE, API_TYPE, StackContext
from apicanary.project.sam_apis import api_spec, implicit_api_spec
from apicanary.project.sam_functions import function_spec
from apicanary.project.sam_template import SamTemplate
from apicanary.project.specs import AlarmSpec, Project

TEMPLATE_NAMES: Final = ("template.yaml", "template.yml", "template.json")


def load_project(
    template_path: Path,
    *,
    parameter_overrides: Mapping[str, str] | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
) -> Project:
    """Load the SAM template at ``template_path`` (or the ``template.yaml`` in that directory).

    ``parameter_overrides`` replace parameter defaults; ``region`` and ``account_id`` are the
    local stack's pseudo parameters (they appear in ARNs). Raises TemplateError for anything
    the local engine cannot run faithfully, BadInputError for a bad region or account id.
    """
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise BadInputError(f"region {region!r} is not valid: expected e.g. us-east-1")
    if not re.fullmatch(r"\d{12}", account_id):
        raise BadInputError(f"account id {account_id!r} is not valid: must be 12 digits")
    path = template_file(Path(template_path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from None
    document = load_cfn_yaml(text, path.name)
    try:
        template = SamTemplate(
            document, path, parameter_overrides, StackContext(region, account_id)
        )
        return _project(template)
    except TemplateError as exc:
        raise TemplateError(f"{path.name}: {exc.message}", hint=exc.hint) from None


def template_file(path: Path) -> Path:
    """The absolute template file ``path`` names: itself, or the template in that directory.

    Raises TemplateError when there is none.
    """
    path = path.expanduser().resolve()
    if path.is_dir():
        for name in TEMPLATE_NAMES:
            if (path / name).is_file():
                return path / name
        raise TemplateError(
            f"no template in {path}: expected one of {', '.join(TEMPLATE_NAMES)}",
            hint="run `apicanary init` to create a sample project",
        )
    if not path.is_file():
        raise TemplateError(
            f"template {path} does not exist", hint="pass --template or run `apicanary init`"
        )
    return path


def _project(template: SamTemplate) -> Project:
    functions = tuple(function_spec(template, lid) for lid in template.function_ids)
    _check_unique([f.function_name for f in functions], "FunctionName", functions)
    alarms = tuple(_alarm(template, lid) for lid in template.ids_of(ALARM_TYPE))
    _check_unique([a.alarm_name for a in alarms], "AlarmName", alarms)
    apis = [api_spec(template, lid, functions) for lid in template.ids_of(API_TYPE)]
    if template.implicit:
        apis.append(implicit_api_spec(template, functions))
    return Project(
        template_path=template.path,
        root=template.root,
        functions=functions,
        apis=tuple(apis),
        alarms=alarms,
        parameters=template.parameters.as_strings(),
        region=template.context.region,
        account_id=template.context.account_id,
    )


def _alarm(template: SamTemplate, lid: str) -> AlarmSpec:
    base = f"Resources.{lid}.Properties"
    name = template.resolver.alarm_name(lid)
    as_str(name, child(base, "AlarmName"), pattern=r".{1,255}", allowed="1-255 characters")
    props = as_mapping(template.resolver.resolve(template.local_properties(lid), base), base)
    return AlarmSpec(lid, name, put_metric_alarm_input(props, name, base))


def _check_unique(names: list[str], field: str, specs: tuple[Any, ...]) -> None:
    for i, name in enumerate(names):
        if name in names[:i]:
            first = specs[names.index(name)].logical_id
            raise fail(
                f"Resources.{specs[i].logical_id}.Properties.{field}",
                f"{show(name)} is already the name of {first}: names must be unique",
            )
