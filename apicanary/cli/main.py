"""The ``apicanary`` command: thin commands over the engine, the platforms and the controller.

Exit codes (the public contract): 0 success, 2 bad input, 1 other failure, 3 a rollout that
was waited on (or rehearsed) ended rolled back or aborted.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from apicanary import __version__
from apicanary.cli.output import fail, output_option
from apicanary.errors import ApicanaryError


class _Group(click.Group):
    """A click group that turns apicanary errors into one paragraph and the right exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApicanaryError as error:
            sys.exit(fail(error))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="apicanary")
@output_option
def cli() -> None:
    """Canary deployments for serverless APIs (API Gateway + Lambda), locally and on AWS."""


def _register() -> None:
    from apicanary.cli import demo as demo_cmd
    from apicanary.cli import doctor as doctor_cmd
    from apicanary.cli import observe as observe_cmd
    from apicanary.cli import project as project_cmd
    from apicanary.cli import rehearse as rehearse_cmd
    from apicanary.cli import rollout as rollout_cmd
    from apicanary.cli import serve as serve_cmd

    cli.add_command(serve_cmd.serve)
    cli.add_command(observe_cmd.metrics)
    cli.add_command(observe_cmd.alarms)
    cli.add_command(rollout_cmd.rollout)
    cli.add_command(demo_cmd.demo)
    cli.add_command(project_cmd.init)
    cli.add_command(project_cmd.deploy)
    cli.add_command(rehearse_cmd.rehearse)
    cli.add_command(doctor_cmd.doctor)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="apicanary")
