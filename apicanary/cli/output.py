"""How commands print: ``--output text|json`` on every command, one place for errors.

A command returns data and a text renderer; :func:`emit` prints JSON (machine-readable, stable
keys) or the text form. :func:`fail` turns an :class:`ApicanaryError` into one paragraph with a
suggestion on stderr (or a JSON error object on stdout) and the error's exit code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import orjson

from apicanary.errors import ApicanaryError

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_CHOICES = ("text", "json")


def output_option(func: F) -> F:
    """Add ``--output text|json`` to a command (stored on the context for :func:`emit`)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
        root = ctx.find_root()
        root.meta.setdefault("output", "text")
        if value is not None:
            root.meta["output"] = value
        return str(root.meta["output"])

    decorated = click.option(
        "--output",
        "-o",
        type=click.Choice(OUTPUT_CHOICES),
        default=None,
        expose_value=False,
        is_eager=True,
        callback=remember,
        help="Output format (default: text).",
    )(func)
    return decorated


def output_mode() -> str:
    ctx = click.get_current_context(silent=True)
    return str(ctx.find_root().meta.get("output", "text")) if ctx else "text"


def emit(data: Any, text: Callable[[Any], str] | str | None = None) -> None:
    """Print ``data`` as JSON (``--output json``) or as text (``text(data)`` or ``text``)."""
    if output_mode() == "json":
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif text is not None:
        rendered = text(data) if callable(text) else text
        if rendered:
            click.echo(rendered)
    sys.stdout.flush()


def fail(error: ApicanaryError) -> int:
    """Report ``error`` (unless it already was) and return the exit code to use."""
    if error.reported:
        return error.exit_code
    if output_mode() == "json":
        body = {
            "error": {
                "type": type(error).__name__,
                "code": getattr(error, "code", None),
                "message": error.message,
                "hint": error.hint,
            }
        }
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        paragraph = f"error: {error}"
        if error.hint:
            paragraph += f"\n  hint: {error.hint}"
        click.echo(paragraph, err=True)
    return error.exit_code
