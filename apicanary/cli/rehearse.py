"""``apicanary rehearse``: would this strategy catch this fault? Answered in seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from apicanary.cli.output import emit, output_option
from apicanary.errors import RolloutEndedBadly
from apicanary.local.faults import parse_fault
from apicanary.local.rehearse import RehearsalRequest
from apicanary.local.rehearse import rehearse as run_rehearsal


@click.command()
@click.option("--template", "-t", type=click.Path(path_type=Path), default=Path("template.yaml"),
              show_default=True)  # fmt: skip
@click.option("--function", "-f", required=True, help="The function to rehearse a release of.")
@click.option("--fault", "faults", multiple=True,
              help="KIND=VALUE[@ROUTE]: error-rate=0.2, latency=300ms, timeout=0.1, crash=0.05; "
                   "@GET /orders/{id} limits it to one route. Repeatable.")  # fmt: skip
@click.option("--rate", type=float, default=20.0, show_default=True,
              help="Synthetic requests per (virtual) second.")  # fmt: skip
@click.option("--strategy", "-s", default=None,
              help="Preset or file (default: the function's DeploymentPreference).")  # fmt: skip
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--max-minutes", type=float, default=240.0, show_default=True,
              help="Virtual minutes after which the rehearsal gives up.")  # fmt: skip
@output_option
def rehearse(template: Path, function: str, faults: tuple[str, ...], rate: float,
             strategy: str | None, seed: int, max_minutes: float) -> None:  # fmt: skip
    """Run a strategy against the real handlers with injected faults under a virtual clock.

    Exit 3 when the rollout would have been rolled back, 0 when it would have been promoted.
    """
    if not template.is_file():
        from apicanary.errors import BadInputError

        raise BadInputError(f"--template {template}: no such file")
    if rate <= 0:
        from apicanary.errors import BadInputError

        raise BadInputError(f"--rate {rate:g} must be > 0")
    request = RehearsalRequest(
        template=template,
        function=function,
        faults=tuple(parse_fault(f) for f in faults),
        strategy=_strategy(strategy),
        rate=rate,
        seed=seed,
        max_seconds=int(max_minutes * 60),
    )
    result = run_rehearsal(request)
    emit({k: v for k, v in result.items() if k != "rollout"}, _text)
    if result["verdict"] in ("rolled_back", "aborted"):
        error = RolloutEndedBadly(f"the rollout would have been rolled back: {result['reason']}")
        error.reported = True
        raise error


def _strategy(reference: str | None) -> Any:
    from apicanary.cli.rollout import _strategy_reference

    return _strategy_reference(reference)


def _text(result: dict[str, Any]) -> str:
    faults = ", ".join(result["faults"]) or "none"
    minutes = result["decidedAfterSeconds"] / 60
    lines = [
        f"rehearsal of v{result['canaryVersion']} against v{result['stableVersion']}: "
        f"{result['verdict']}{' (unverified)' if result['unverified'] else ''}",
        f"  strategy        {result['strategy']}",
        f"  faults          {faults} ({result['injectedFaults']} injected)",
        f"  decided after   {result['decidedAfterSeconds']:.0f} virtual seconds "
        f"({minutes:.1f} min)",
        f"  requests        {result['requests']} ({result['failed']} failed, "
        f"{result['canaryRequests']} to the canary, {result['canaryFailed']} of them failed)",
        f"  reason          {result['reason']}",
    ]
    stable = result["requests"] - result["canaryRequests"]
    if stable and result["stableFailed"] > stable / 2:
        lines.append(
            f"  warning         the stable version itself failed {result['stableFailed']} of "
            f"{stable} requests: a canary is only judged against it, so fix stable first"
        )
    return "\n".join(lines)
