"""``--template`` / ``--cdk-out`` / ``--stack``: how a command names the project it reads.

``--template`` takes a SAM or CloudFormation template, its directory, or a CDK ``cdk.out``;
``--cdk-out DIR`` says the directory is a cloud assembly, and ``--stack NAME`` picks one of its
stacks. Without any of them the project in the working directory is used: ``template.yaml``
(``.yml``, ``.json``), else ``cdk.out``. Every command resolves the options to the one
template file it loads, so a server and a ``deploy`` aimed at it compare the same path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from apicanary.errors import BadInputError
from apicanary.project.cdk import MANIFEST, is_cloud_assembly
from apicanary.project.loader import default_template, template_file

F = TypeVar("F", bound=Callable[..., Any])


def template_options(what: str) -> Callable[[F], F]:
    """The three options, with ``what`` the command does with the project (for --help)."""

    def decorate(command: F) -> F:
        command = click.option(
            "--stack", default=None, help="The stack of a CDK cloud assembly (cdk ls names)."
        )(command)
        command = click.option(
            "--cdk-out", type=click.Path(path_type=Path), default=None,
            help="A CDK cloud assembly directory (what 'cdk synth' writes).",
        )(command)  # fmt: skip
        return click.option(
            "--template", "-t", type=click.Path(path_type=Path), default=None,
            help=f"SAM/CloudFormation template, its directory, or a CDK cdk.out {what} "
            "(default: ./template.yaml, else ./cdk.out).",
        )(command)  # fmt: skip

    return decorate


def resolve_template(
    template: Path | None, cdk_out: Path | None, stack: str | None, *, required: bool
) -> Path | None:
    """The absolute template file the options name (None: none given, none here, not required).

    Raises BadInputError (exit 2) for conflicting options or a path that holds no project.
    """
    if template is not None and cdk_out is not None:
        raise BadInputError("--template and --cdk-out name the project twice: pass one")
    if cdk_out is not None:
        if not is_cloud_assembly(cdk_out.expanduser()):
            raise BadInputError(
                f"--cdk-out {cdk_out}: no {MANIFEST} there, so not a CDK cloud assembly",
                hint="run 'cdk synth' first",
            )
        template = cdk_out
    if template is None:
        template = default_template(Path.cwd())
        if template is None:
            if stack is not None or required:
                raise BadInputError(
                    "no project here: no template.yaml and no cdk.out in the working directory",
                    hint="pass --template (a template, its directory or a cdk.out)",
                )
            return None
    return template_file(template, stack=stack)
