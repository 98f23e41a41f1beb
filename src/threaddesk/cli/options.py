"""Option types shared by several commands."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer

from threaddesk.durations import parse_duration
from threaddesk.errors import InvalidDuration


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except InvalidDuration as error:
        raise typer.BadParameter(str(error)) from None


def duration_option(*names: str, help: str) -> Any:
    """A `--idle-for`-style option: parsed by `parse_duration`; a bad one is a usage error (exit 2)."""
    return typer.Option(*names, parser=_duration, metavar="DURATION", help=f"{help} (90s, 15m, 12h, 7d, 2w)")


UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        "-u",
        show_default=False,
        help="Act as this user id [default: $THREADDESK_USER, else your login name].",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ThreadIdArg = Annotated[str, typer.Argument(metavar="ID", help="The thread id.", show_default=False)]
