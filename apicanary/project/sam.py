"""Load a SAM template into the frozen specs the engine runs.

:func:`load_sam` reads ``AWS::Serverless::Function``, ``AWS::Serverless::Api`` (and SAM's
implicit ``ServerlessRestApi``), ``AWS::Serverless::HttpApi`` (and ``ServerlessHttpApi``:
:mod:`~apicanary.project.sam_httpapi`) and ``AWS::CloudWatch::Alarm`` resources, merges ``Globals``
the way SAM does, resolves intrinsics for the local stack (see
:mod:`apicanary.project.intrinsics`) and validates what the engine relies on. Other resource
types are ignored. Every problem raises :class:`~apicanary.errors.TemplateError` worded
``<property path>: <value> <problem>: <what is allowed>`` (:mod:`apicanary.project.loader`
reads the file and puts its name in front).

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

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apicanary.project.assemble import alarms_of, check_unique, project_of
from apicanary.project.intrinsics import API_TYPE, StackContext
from apicanary.project.sam_apis import api_spec, implicit_api_spec
from apicanary.project.sam_functions import function_spec
from apicanary.project.sam_httpapi import http_api_specs
from apicanary.project.sam_template import SamTemplate
from apicanary.project.specs import Project


def load_sam(
    document: Any, path: Path, overrides: Mapping[str, str] | None, context: StackContext
) -> Project:
    """The SAM template ``document`` (parsed from ``path``) as a :class:`Project`."""
    template = SamTemplate(document, path, overrides, context)
    functions = tuple(function_spec(template, lid) for lid in template.function_ids)
    check_unique([f.function_name for f in functions], "FunctionName", functions)
    alarms = alarms_of(template)
    apis = [api_spec(template, lid, functions) for lid in template.ids_of(API_TYPE)]
    if template.implicit:
        apis.append(implicit_api_spec(template, functions))
    http_apis = tuple(http_api_specs(template, functions))
    return project_of(template, functions, apis, alarms, kind="sam", http_apis=http_apis)
