"""``apicanary demo``: the whole story on the bundled example, on the embedded engine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from apicanary.cli import rollout_view
from apicanary.cli.loop import run_event_loop
from apicanary.cli.output import emit, output_mode, output_option
from apicanary.demo.story import DemoOptions, DemoRun, ending
from apicanary.errors import PlatformError


@click.command()
@click.option("--rate", type=float, default=60.0, show_default=True,
              help="Synthetic traffic, requests per second.")  # fmt: skip
@click.option("--time-scale", type=float, default=30.0, show_default=True,
              help="Strategy seconds per wall second.")  # fmt: skip
@click.option("--strategy", default="Canary10Percent5Minutes", show_default=True)
@click.option("--report", "report_path", type=click.Path(path_type=Path),
              default=Path("demo-report.html"), show_default=True)  # fmt: skip
@click.option("--keep-dir", type=click.Path(path_type=Path), default=None,
              help="Keep the scratch project and engine state here.")  # fmt: skip
@output_option
def demo(rate: float, time_scale: float, strategy: str, report_path: Path,
         keep_dir: Path | None) -> None:  # fmt: skip
    """Serve the example API, release a good and a bad version, and report what happened."""
    options = DemoOptions(
        rate=rate, strategy=strategy, time_scale=time_scale, report_path=report_path,
        keep_dir=keep_dir,
    )  # fmt: skip
    show = _Display()
    try:
        summary = run_event_loop(DemoRun(options, show).run())
    finally:
        show.close()
    emit(summary, _summary_text)
    if summary["goodRelease"] != "promoted" or summary["badRelease"] != "rolled_back":
        raise PlatformError(
            f"the demo's story did not happen: good release {summary['goodRelease']}, "
            f"bad release {summary['badRelease']}"
        )


class _Display:
    """Live progress: rich on a terminal, a line per change in a pipe, nothing for JSON."""

    def __init__(self) -> None:
        self.mode = (
            "quiet" if output_mode() == "json" else "live" if sys.stdout.isatty() else "lines"
        )
        self._last = ""
        self._live: Any = None
        if self.mode == "live":
            from rich.live import Live

            self._live = Live(refresh_per_second=8)
            self._live.start()

    def __call__(self, document: dict[str, Any] | None, message: str) -> None:
        if self.mode == "quiet":
            return
        if message:
            if self._live is not None:
                self._live.console.print(f"[bold]›[/bold] {message}")
            else:
                click.echo(f"> {message}")
        if document is None:
            return
        view = rollout_view.view(document)
        if self._live is not None:
            self._live.update(rollout_view.panel(view))
        else:
            line = rollout_view.line(view)
            if line != self._last:
                self._last = line
                click.echo(f"  {line}")

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()


def _summary_text(summary: dict[str, Any]) -> str:
    lines = [
        "",
        "apicanary demo: what happened",
        f"  requests served             {summary['requestsServed']}",
        f"  failed requests users saw   {summary['failedRequests']} "
        f"({summary['failedRequestsPercent']:.2f}%)",
    ]
    for api in summary.get("apis", []):
        lines.append(f"  {api['kind']} API {api['name']} ({api['id']}), stage {api['stage']}")
    for release in summary["releases"]:
        outcome = ending(release["status"], release["reason"], release["durationS"])
        lines.append(f"  {release['name']:<5} release v{release['version']}     {outcome}")
    lines += [
        f"  bad canary: rolled back after {summary['secondsToRollback']:.1f}s and "
        f"{summary['failedCanaryRequestsBeforeRollback']} failed canary requests "
        f"(of {summary['canaryRequestsBeforeRollback']})",
        "  decisions:",
    ]
    for decision in summary["decisions"]:
        lines.append(f"    +{decision['at']:6.1f}s {decision['rollout']:<4} {decision['kind']:<11} "
                     f"{decision['message']}")  # fmt: skip
    lines.append(f"  report: {summary['report']}")
    return "\n".join(lines)
