"""Load a plain CloudFormation template (hand-written, or synthesised by the CDK) into the same
specs as a SAM template, so provisioning, deploy, doctor and rollouts never tell them apart.

What is read (the rest is listed once in :attr:`Project.warnings`, never fatal):

* Lambda: ``Function``, ``Version``, ``Alias`` (``RoutingConfig``, CodeDeploy update policy),
  ``Permission`` — :mod:`apicanary.project.cfn_functions`, code from
  :mod:`apicanary.project.cfn_code`;
* API Gateway (REST): ``RestApi`` (``Body``, ``BodyS3Location``), ``Resource``, ``Method``,
  ``Deployment`` (``DeploymentCanarySettings``), ``Stage`` (``CanarySetting``, ``Variables``) —
  :mod:`apicanary.project.cfn_apis`;
* CodeDeploy: ``Application`` and ``DeploymentGroup``, as the function's deployment preference —
  :mod:`apicanary.project.cfn_codedeploy`;
* ``AWS::CloudWatch::Alarm`` — :mod:`apicanary.project.cw_alarm`;
* API Gateway HTTP APIs (``AWS::ApiGatewayV2::Api``, ``Route``, ``Integration``, ``Stage``,
  ``Deployment``) — :mod:`apicanary.project.cfn_httpapi`.

Other ``AWS::ApiGatewayV2::*`` types (authorizers, domain names...) are listed among the
warnings with the HTTP API prefix. A malformed resource of a type that is read raises
:class:`~apicanary.errors.TemplateError` naming the resource and property.
Names follow the SAM loader's local choices (a function or alarm without a name property is
named by its logical id; ``Ref`` to an API is its logical id).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from apicanary.project.assemble import alarms_of, project_of
from apicanary.project.cfn_apis import rest_apis
from apicanary.project.cfn_code import CodeLocator
from apicanary.project.cfn_functions import lambda_resources
from apicanary.project.cfn_httpapi import V2_READ_TYPES, http_apis
from apicanary.project.cfn_refs import (
    ALIAS,
    API_RESOURCE,
    CODEDEPLOY_APPLICATION,
    DEPLOYMENT,
    DEPLOYMENT_GROUP,
    FUNCTION,
    METHOD,
    PERMISSION,
    REST_API,
    STAGE,
    VERSION,
)
from apicanary.project.cfn_template import CfnTemplate
from apicanary.project.intrinsics import ALARM_TYPE, StackContext
from apicanary.project.specs import Project

READ_TYPES: Final = frozenset(
    {
        FUNCTION, VERSION, ALIAS, PERMISSION, REST_API, API_RESOURCE, METHOD, DEPLOYMENT, STAGE,
        CODEDEPLOY_APPLICATION, DEPLOYMENT_GROUP, ALARM_TYPE, *V2_READ_TYPES,
    }
)  # fmt: skip
#: Types that carry nothing the local engine could run or emulate, skipped without a word.
SILENT_TYPES: Final = frozenset({"AWS::CDK::Metadata"})
HTTP_API_PREFIX: Final = "AWS::ApiGatewayV2::"


def load_cloudformation(
    document: Any,
    path: Path,
    overrides: Mapping[str, str] | None,
    context: StackContext,
    *,
    kind: str = "cloudformation",
    code_cache: Path | None = None,
) -> Project:
    """The CloudFormation template ``document`` (parsed from ``path``) as a :class:`Project`.

    ``kind`` is ``cloudformation``, or ``cdk`` for a stack of a cloud assembly; ``code_cache``
    is where zips and inline code are unpacked (None: the user's cache, see
    :func:`~apicanary.project.cfn_code.default_cache_dir`).
    """
    template = CfnTemplate(document, path, overrides, context)
    lambdas = lambda_resources(template, CodeLocator(path, code_cache))
    alarms = alarms_of(template)
    warnings = list(lambdas.warnings)
    apis = rest_apis(template, lambdas.functions, warnings)
    http = http_apis(template, lambdas.functions, warnings)
    return project_of(
        template,
        lambdas.functions,
        apis,
        alarms,
        kind=kind,
        permissions=tuple(lambdas.permissions),
        http_apis=tuple(http),
        warnings=(*_unsupported(template), *warnings),
    )


def _unsupported(template: CfnTemplate) -> list[str]:
    """One line per group of resource types the engine does not emulate."""
    counts = Counter(
        r["Type"]
        for r in template.active.values()
        if r["Type"] not in READ_TYPES and r["Type"] not in SILENT_TYPES
    )
    http = sorted(t for t in counts if t.startswith(HTTP_API_PREFIX))
    other = sorted(t for t in counts if not t.startswith(HTTP_API_PREFIX))
    lines = []
    if http:
        lines.append(
            "HTTP API features not emulated locally (ignored): "
            + ", ".join(f"{t} ×{counts[t]}" for t in http)
        )
    if other:
        lines.append(
            "not emulated locally (ignored): " + ", ".join(f"{t} ×{counts[t]}" for t in other)
        )
    return lines
