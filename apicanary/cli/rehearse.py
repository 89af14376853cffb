"""``apicanary rehearse``: would this release, on this traffic, have been rolled back?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from apicanary.cli.output import emit, output_mode, output_option
from apicanary.cli.rehearse_text import render_text
from apicanary.cli.template_options import resolve_template, template_options
from apicanary.errors import BadInputError, RolloutEndedBadly, RolloutError
from apicanary.local.faults import parse_fault
from apicanary.local.rehearse import RehearsalRequest
from apicanary.local.rehearse import rehearse as run_rehearsal
from apicanary.local.rehearse.html import render_html

MAX_RATE = 1000.0


@click.command()
@template_options("whose release is rehearsed")
@click.option("--function", "-f", required=True, help="The function to rehearse a release of.")
@click.option("--baseline", "-b", metavar="REF|DIR|live", default=None,
              help="What the release replaces: a git revision (HEAD, origin/main, a tag), a "
                   "directory, or 'live' (what the alias serves on a running serve). Default: "
                   "HEAD when the function's code has uncommitted changes.")  # fmt: skip
@click.option("--control-url", default=None,
              help="The running serve that --baseline live reads (default "
                   "$APICANARY_CONTROL_URL or http://127.0.0.1:3001).")  # fmt: skip
@click.option("--replay", type=click.Path(path_type=Path), default=None,
              help="Replay recorded traffic: a 'serve --record' capture, an access log or a "
                   "HAR file (detected).")  # fmt: skip
@click.option("--requests", "requests_file", type=click.Path(path_type=Path), default=None,
              help="Send requests listed by hand, one per line: 'GET /path?q=1' or a JSON "
                   "object.")  # fmt: skip
@click.option("--api", "apis", multiple=True, metavar="NAME",
              help="Rehearse on this API only (its name or logical id; REST or HTTP API). "
                   "Repeatable. Default: every API whose routes invoke the function's "
                   "alias.")  # fmt: skip
@click.option("--compare-bodies", is_flag=True,
              help="Also compare responses field by field (baseline, canary, baseline again; "
                   "fields that differ between the two baselines are ignored).")  # fmt: skip
@click.option("--fault", "faults", multiple=True,
              help="KIND=VALUE[@ROUTE]: error-rate=0.2, latency=300ms, timeout=0.1, crash=0.05; "
                   "@GET /orders/{id} limits it to one route. Overlaid on the release. "
                   "Repeatable.")  # fmt: skip
@click.option("--rate", type=float, default=None,
              help="Requests per (virtual) second [default: the recorded pace of a replay, "
                   "else 20].")  # fmt: skip
@click.option("--strategy", "-s", default=None,
              help="Preset or file (default: the function's DeploymentPreference).")  # fmt: skip
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--max-minutes", type=float, default=240.0, show_default=True,
              help="Virtual minutes after which the rehearsal gives up.")  # fmt: skip
@click.option("--report", "report_file", type=click.Path(path_type=Path), default=None,
              help="Also write a self-contained HTML report to this file.")  # fmt: skip
@output_option
def rehearse(template: Path | None, cdk_out: Path | None, stack: str | None, function: str,
             baseline: str | None, control_url: str | None,
             replay: Path | None, requests_file: Path | None, apis: tuple[str, ...],
             compare_bodies: bool,
             faults: tuple[str, ...], rate: float | None, strategy: str | None, seed: int,
             max_minutes: float, report_file: Path | None) -> None:  # fmt: skip
    """Rehearse the release (the working tree) against its baseline under a virtual clock.

    The real strategy and analysis decide; a report per route shows where the release
    differs. Exit 3 when the rollout would have been rolled back, 0 when promoted, 1 when it
    had not decided within --max-minutes.
    """
    resolved = resolve_template(template, cdk_out, stack, required=True)
    assert resolved is not None  # required=True raises instead
    if rate is not None and not 0 < rate <= MAX_RATE:
        raise BadInputError(f"--rate {rate:g} must be > 0 and at most {MAX_RATE:g}")
    if max_minutes <= 0:
        raise BadInputError(f"--max-minutes {max_minutes:g} must be > 0")
    request = RehearsalRequest(
        template=resolved,
        function=function,
        faults=tuple(parse_fault(f) for f in faults),
        strategy=_strategy(strategy),
        rate=rate,
        seed=seed,
        max_seconds=max(1, int(max_minutes * 60)),
        baseline=baseline,
        control_url=control_url,
        replay=replay,
        requests_file=requests_file,
        compare_bodies=compare_bodies,
        apis=apis,
    )
    result = run_rehearsal(request)
    if report_file is not None:
        report_file.write_text(render_html(result), encoding="utf-8")
    emit({k: v for k, v in result.items() if k != "rollout"}, render_text)
    if result["verdict"] in ("rolled_back", "aborted"):
        error = RolloutEndedBadly(f"the rollout would have been rolled back: {result['reason']}")
        error.reported = True
        raise error
    if result["verdict"] != "promoted":
        # neither answer: a CI check must not pass on a rehearsal that never decided
        undecided = RolloutError(
            f"the rollout had not decided after {max_minutes:g} virtual minutes "
            f"(status {result['verdict']})",
            hint="send more traffic (--rate) or allow more time (--max-minutes)",
        )
        undecided.reported = output_mode() == "json"
        raise undecided


def _strategy(reference: str | None) -> Any:
    from apicanary.cli.rollout import _strategy_reference

    return _strategy_reference(reference)
