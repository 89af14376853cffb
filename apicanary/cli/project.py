"""``apicanary init`` and ``apicanary deploy``: the project's lifecycle commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from apicanary.cli.backends.local import LocalBackend
from apicanary.cli.client import ControlClient
from apicanary.cli.output import emit, output_option
from apicanary.cli.rollout import watch
from apicanary.cli.template_options import resolve_template, template_options
from apicanary.errors import ApicanaryError, ReleaseUnverified, RolloutEndedBadly
from apicanary.project.scaffold import scaffold_project
from apicanary.rollout.state import ended_badly, ended_unverified


@click.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("."))
@output_option
def init(directory: Path) -> None:
    """Scaffold a sample SAM project (template.yaml + a Python handler) in DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    written = scaffold_project(directory)
    emit(
        {"directory": str(directory), "files": [str(p) for p in written]},
        lambda d: "\n".join(
            [f"created {f}" for f in d["files"]]
            + [
                "",
                "next:",
                f"  cd {directory}",
                "  apicanary serve            # the API on http://127.0.0.1:3000/Prod/hello",
                "  # edit src/app.py, then in another terminal:",
                "  apicanary deploy --wait    # publish it and roll it out as a canary",
            ]
        ),
    )


@click.command()
@template_options("(the one the server serves)")
@click.option("--time-scale", type=float, default=None,
              help="Strategy seconds per wall second for the rollouts started.")  # fmt: skip
@click.option("--wait/--no-wait", default=False, help="Block until every rollout ends.")
@click.option("--control-url", default=None, help="The running 'apicanary serve'.")
@output_option
def deploy(template: Path | None, cdk_out: Path | None, stack: str | None,
           time_scale: float | None, wait: bool, control_url: str | None) -> None:  # fmt: skip
    """Publish changed functions and start rollouts per their deployment preference.

    The running server re-reads the template it serves, which must be TEMPLATE (exit 2 naming
    both otherwise; after 'cdk synth' that is the stack's template in cdk.out); each function
    whose code or configuration changed gets a new version and a rollout per its SAM
    DeploymentPreference or CodeDeploy deployment group (exit 3 with --wait if any ends rolled
    back).
    """
    client = ControlClient(control_url)
    resolved = resolve_template(template, cdk_out, stack, required=False)
    # nothing here: name ./template.yaml anyway, so the server says which one it serves
    chosen = resolved if resolved is not None else Path("template.yaml").resolve()
    body: dict[str, Any] = {"template": str(chosen)}
    if time_scale is not None:
        body["timeScale"] = time_scale
    result = client.post("/_apicanary/deploy", body)
    rollouts = result["rollouts"]
    if not wait:
        emit(result, _deploy_text)
        return
    backend = LocalBackend(control_url)
    finals = [watch(backend, doc["id"]) for doc in rollouts]
    result["rollouts"] = finals
    emit(result, _deploy_text)
    bad = [d for d in finals if ended_badly(d)]
    if bad:
        error: ApicanaryError = RolloutEndedBadly(
            "; ".join(f"rollout {d['id']} ended {d['status']}: {d['reason']}" for d in bad)
        )
        error.reported = True
        raise error
    unverified = [d for d in finals if ended_unverified(d)]
    if unverified:
        error = ReleaseUnverified(
            "; ".join(f"rollout {d['id']} promoted unverified: {d['reason']}" for d in unverified)
        )
        error.reported = True
        raise error


def _deploy_text(result: dict[str, Any]) -> str:
    lines = []
    for function in result["provisioned"]["functions"]:
        pending = function["pending_version"]
        state = f"new version {pending}" if pending else "unchanged"
        lines.append(f"{function['name']}: {state} (alias {function['alias']} → "
                     f"{function['alias_version']})")  # fmt: skip
    for doc in result["rollouts"]:
        lines.append(f"rollout {doc['id']}: {doc['status']} {doc.get('strategySummary', '')} "
                     f"{doc.get('reason', '')}".rstrip())  # fmt: skip
    if not result["rollouts"]:
        lines.append("nothing to roll out: no function changed")
    return "\n".join(lines)
