"""``apicanary rollout ...``: start, watch and steer rollouts.

Local backend: the commands talk to a running ``apicanary serve`` (its controller does the
work; the CLI only writes intents). AWS backend: the controller runs right here, against AWS
through boto3, with its journal in ``--state-dir``; ``start`` therefore waits by default.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import yaml

from apicanary.cli import rollout_view
from apicanary.cli.backends import BACKENDS, RolloutBackend, open_backend
from apicanary.cli.output import emit, output_mode, output_option
from apicanary.errors import (
    ApicanaryError,
    BadInputError,
    ReleaseUnverified,
    RolloutEndedBadly,
)
from apicanary.platform.base import Mode
from apicanary.rollout.state import RolloutState, Status, ended_badly, ended_unverified


def backend_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--backend", type=click.Choice(list(BACKENDS)), default="local",
                     show_default=True, help="local: a running 'apicanary serve'; aws: boto3."),
        click.option("--control-url", default=None,
                     help="Local server (default $APICANARY_CONTROL_URL or http://127.0.0.1:3001)."),
        click.option("--region", default=None, help="AWS region (aws backend)."),
        click.option("--profile", default=None, help="AWS profile (aws backend)."),
        click.option("--endpoint-url", default=None, help="AWS-compatible endpoint (aws backend)."),
        click.option("--state-dir", type=click.Path(path_type=Path), default=Path(".apicanary"),
                     show_default=True, help="Journal location (aws backend)."),
        click.option("--telemetry-delay", type=click.FloatRange(0, 3600), default=None,
                     metavar="SECONDS", help="aws backend: how long after a minute ends its "
                     "CloudWatch data is taken as complete when no later minute has data yet "
                     "(default 180)."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def newest_or(backend: RolloutBackend, rollout_id: str | None) -> dict[str, Any]:
    """The rollout ``rollout_id``, or the newest one when no id is given."""
    if rollout_id is not None:
        return backend.get(rollout_id)
    rollouts = backend.list_all()
    if not rollouts:
        raise BadInputError("there are no rollouts yet", hint="apicanary rollout start ...")
    return rollouts[0]


def watch(backend: RolloutBackend, rollout_id: str) -> dict[str, Any]:
    """Draw live progress until the rollout ends; rich on a terminal, lines in a pipe."""
    if output_mode() == "json":
        return backend.drive(rollout_id, lambda _doc: None)
    if sys.stdout.isatty():
        from rich.live import Live

        with Live(refresh_per_second=4, transient=False) as live:
            return backend.drive(
                rollout_id, lambda doc: live.update(rollout_view.panel(rollout_view.view(doc)))
            )
    last: list[str] = []

    def print_changes(doc: dict[str, Any]) -> None:
        line = rollout_view.line(rollout_view.view(doc))
        if not last or line != last[-1]:
            last.append(line)
            click.echo(line)

    return backend.drive(rollout_id, print_changes)


def finish(document: dict[str, Any]) -> None:
    emit(document, lambda d: rollout_view.text(rollout_view.view(d)))
    if ended_badly(document):
        error: ApicanaryError = RolloutEndedBadly(
            f"rollout {document['id']} ended {document['status']}: {document.get('reason')}"
        )
        error.reported = output_mode() == "json"  # the document above says it all
        raise error
    if ended_unverified(document):
        error = ReleaseUnverified(
            f"rollout {document['id']} promoted an unverified release: {document.get('reason')}"
        )
        error.reported = output_mode() == "json"
        raise error


@click.group()
def rollout() -> None:
    """Start, watch and steer canary rollouts."""


@rollout.command()
@click.option("--function", "-f", required=True, help="Lambda function name.")
@click.option("--alias", "-a", required=True, help="Alias that serves the traffic (e.g. live).")
@click.option("--to-version", required=True, help="The published version to release.")
@click.option("--mode", type=click.Choice([m.value for m in Mode]), default=Mode.ALIAS.value,
              show_default=True)  # fmt: skip
@click.option("--api", default=None, help="REST API name or id (stage mode).")
@click.option("--stage", default=None, help="Stage name (stage mode).")
@click.option("--stage-variable", default="lambdaAlias", show_default=True,
              help="Stage variable naming the alias/version in the integration URI.")  # fmt: skip
@click.option("--strategy", "-s", default=None,
              help="A preset (e.g. Canary10Percent5Minutes) or a strategy file.")  # fmt: skip
@click.option("--time-scale", type=float, default=None,
              help="Strategy seconds per wall second (60: a 5-minute bake lasts 5 s).")  # fmt: skip
@click.option("--alarm", "alarms", multiple=True, help="Alarm that rolls back when in ALARM.")
@click.option("--force", is_flag=True, help="Start even if an alarm is in ALARM / a canary exists.")
@click.option("--wait/--no-wait", default=None,
              help="Block until it ends (default: yes with --backend aws).")  # fmt: skip
@backend_options
@output_option
def start(**options: Any) -> None:
    """Release a version through a canary rollout."""
    backend = open_backend(options)
    request: dict[str, Any] = {
        "function": options["function"],
        "alias": options["alias"],
        "toVersion": options["to_version"],
        "mode": options["mode"],
        "strategy": _strategy_reference(options["strategy"]),
    }
    for key, name in (("api", "api"), ("stage", "stage"), ("stageVariable", "stage_variable"),
                      ("timeScale", "time_scale")):  # fmt: skip
        if options[name] is not None:
            request[key] = options[name]
    if options["alarms"]:
        request["alarms"] = list(options["alarms"])
    if options["force"]:
        request["force"] = True
    document = backend.start(request)
    wait = options["wait"] if options["wait"] is not None else backend.waits_by_default
    if not wait:
        emit(document, lambda d: f"started rollout {d['id']}: {d['strategySummary']}")
        return
    finish(watch(backend, document["id"]))


@rollout.command()
@click.argument("rollout_id", required=False)
@click.option("--watch", "follow", is_flag=True, help="Follow live until the rollout ends.")
@click.option("--function", "-f", default=None,
              help="With --backend aws: read the rollout marker on its alias.")  # fmt: skip
@click.option("--alias", "-a", default="live", show_default=True)
@backend_options
@output_option
def status(
    rollout_id: str | None, follow: bool, function: str | None, alias: str, **options: Any
) -> None:
    """Show a rollout (the newest if no id is given)."""
    backend = open_backend(options)
    found = None
    if function is not None and rollout_id is None:
        found = backend.alias_marker(function, alias)
    if found is not None:
        emit(found, lambda f: f"{f['function']}:{f['alias']}: {f['state']} {f['reason']}".strip())
        return
    document = newest_or(backend, rollout_id)
    if follow:
        # waited on: exit 3 if it ended rolled back or aborted, even if it already had
        if not document.get("terminal"):
            document = watch(backend, document["id"])
        finish(document)
        return
    emit(document, lambda d: rollout_view.text(rollout_view.view(d)))


@rollout.command(name="list")
@backend_options
@output_option
def list_rollouts(**options: Any) -> None:
    """List rollouts, newest first."""
    rollouts = open_backend(options).list_all()

    def render(items: list[dict[str, Any]]) -> str:
        if not items:
            return "no rollouts"
        rows = []
        for state in map(RolloutState.from_dict, items):
            t = state.target
            rows.append(
                f"{state.id}  {state.status:<12} {t.function}:{t.alias} "
                f"{t.from_version}→{t.to_version} {t.mode:<5} {state.reason}"
            )
        return "\n".join(rows)

    emit({"rollouts": rollouts}, lambda d: render(d["rollouts"]))


def _intent_command(kind: str, help_text: str) -> click.Command:
    @click.command(name=kind, help=help_text)
    @click.argument("rollout_id")
    @backend_options
    @output_option
    def command(rollout_id: str, **options: Any) -> None:
        document = open_backend(options).intent(rollout_id, kind)
        emit(
            {"rolloutId": document.get("id", rollout_id), "intent": kind},
            f"{kind}: asked; the controller acts on its next tick",
        )

    return command


@rollout.command()
@click.argument("rollout_id", required=False)
@click.option("--function", "-f", default=None,
              help="With --backend aws and no id: abort the rollout on its alias.")  # fmt: skip
@click.option("--alias", "-a", default="live", show_default=True)
@backend_options
@output_option
def abort(rollout_id: str | None, function: str | None, alias: str, **options: Any) -> None:
    """Roll back now and end the rollout.

    With ``--backend aws --function F`` and no id, the rollout is found from the marker on the
    alias (from any machine, even if the one running it died) and rolled back at once.
    """
    backend = open_backend(options)
    if rollout_id is None:
        if function is None:
            raise BadInputError("give a ROLLOUT_ID (or --backend aws --function F --alias A)")
        result = backend.abort_by_alias(function, alias)
        emit(result, lambda r: f"rolled {r['function']}:{r['alias']} back to version "
                               f"{r['rolledBackTo']} (rollout {r['rolloutId']})")  # fmt: skip
        return
    backend.intent(rollout_id, "abort")
    emit(
        {"rolloutId": rollout_id, "intent": "abort"},
        "abort: asked; the controller acts on its next tick",
    )


rollout.add_command(_intent_command("pause", "Hold the rollout where it is."))


@rollout.command()
@click.argument("rollout_id", required=False)
@click.option(
    "--function",
    "-f",
    default=None,
    help="With --backend aws and no id: the rollout recorded on AWS for this alias.",
)
@click.option("--alias", "-a", default="live", show_default=True)
@click.option("--api", default=None, help="With --backend aws and no id: a stage-mode rollout.")
@click.option("--stage", default=None, help="The stage of --api.")
@click.option(
    "--wait/--no-wait",
    default=None,
    help="Drive it here until it ends (default: yes with --backend aws).",
)
@backend_options
@output_option
def resume(
    rollout_id: str | None,
    function: str | None,
    alias: str,
    api: str | None,
    stage: str | None,
    wait: bool | None,
    **options: Any,
) -> None:
    """Continue a paused or waiting rollout; or take over one recorded on AWS.

    With an id, the paused or waiting rollout continues (an intent, as for pause). With
    ``--backend aws`` and ``--function/--alias`` (or ``--api/--stage``) and no id, the
    rollout recorded on AWS is picked up on this machine, even without its journal (the
    machine that ran it died): its strategy, step and start time come from AWS, its evidence
    since the start is read again from CloudWatch Logs, and it is driven to its end here.
    """  # fmt: skip
    backend = open_backend(options)
    if rollout_id is not None:
        document = backend.intent(rollout_id, "resume")
        emit(
            {"rolloutId": document.get("id", rollout_id), "intent": "resume"},
            "resume: asked; the controller acts on its next tick",
        )
        return
    if function is None and not (api and stage):
        raise BadInputError(
            "give a ROLLOUT_ID, or --backend aws with --function/--alias or --api and --stage"
        )
    document = backend.adopt(function=function, alias=alias, api=api, stage=stage)
    if document.get("terminal"):
        finish(document)
        return
    if not (wait if wait is not None else backend.waits_by_default):
        emit(document, lambda d: f"rollout {d['id']} taken over: {d['status']}")
        return
    finish(watch(backend, document["id"]))


@rollout.command()
@click.argument("rollout_id")
@click.option("--full", is_flag=True, help="Skip every remaining step and promote now.")
@backend_options
@output_option
def promote(rollout_id: str, full: bool, **options: Any) -> None:
    """End the current step now (or, with --full, promote at once)."""
    kind = "promote-full" if full else "promote"
    open_backend(options).intent(rollout_id, kind)
    emit({"rolloutId": rollout_id, "intent": kind}, f"{kind}: asked")


@rollout.command()
@click.argument("rollout_id")
@click.option("--wait/--no-wait", default=False)
@backend_options
@output_option
def retry(rollout_id: str, wait: bool, **options: Any) -> None:
    """Start a rolled-back or aborted rollout again (same target and strategy)."""
    backend = open_backend(options)
    old = RolloutState.from_dict(backend.get(rollout_id))
    if not old.terminal or old.status is Status.PROMOTED:
        raise BadInputError(f"rollout {old.id} is {old.status}: only an ended, "
                            "rolled-back or aborted rollout can be retried")  # fmt: skip
    target = old.target
    request: dict[str, Any] = {
        "function": target.function,
        "alias": target.alias,
        "toVersion": target.to_version,
        "mode": target.mode.value,
        "strategy": old.strategy.to_dict(),
        "retryOf": old.id,
    }
    if target.mode is not Mode.ALIAS:
        request.update(api=target.api_id, stage=target.stage)
        request["stageVariable"] = next(iter(target.overrides), "lambdaAlias")
    document = backend.start(request)
    if wait:
        finish(watch(backend, document["id"]))
        return
    emit(document, lambda d: f"started rollout {d['id']} (retry of {old.id})")


@rollout.command()
@click.argument("rollout_id", required=False)
@backend_options
@output_option
def history(rollout_id: str | None, **options: Any) -> None:
    """The journal of a rollout: every step, weight, measurement and decision."""
    backend = open_backend(options)
    document = newest_or(backend, rollout_id)
    events = backend.events(document["id"])

    def render(items: list[dict[str, Any]]) -> str:
        start_at = items[0]["at"] if items else 0.0
        return "\n".join(
            f"+{e['at'] - start_at:7.1f}s  {e['kind']:<11} {e['message']}" for e in items
        )

    emit({"id": document["id"], "events": events}, lambda d: render(d["events"]))


def _strategy_reference(reference: str | None) -> Any:
    """A file is read here (the server may not see our working directory); names pass on."""
    if reference and Path(reference).is_file():
        try:
            return yaml.safe_load(Path(reference).read_text())
        except yaml.YAMLError as exc:
            raise BadInputError(f"--strategy {reference}: not valid YAML: {exc}") from exc
    return reference
