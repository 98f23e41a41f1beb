"""Option types shared by several commands."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer

from threaddesk.durations import parse_duration
from threaddesk.errors import InvalidArgument, InvalidDuration


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except InvalidDuration as error:
        raise typer.BadParameter(str(error)) from None


def duration_option(*names: str, help: str) -> Any:
    """A `--idle-for`-style option: parsed by `parse_duration`; a bad one is a usage error (exit 2)."""
    return typer.Option(*names, parser=_duration, metavar="DURATION", help=f"{help} (90s, 15m, 12h, 7d, 2w)")


def check_user(user: str) -> str:
    """`user` if it is a well-formed user id, else exit 2 saying why.

    The command line names users as the HTTP service does (`users add NAME`):
    letters, digits and `. _ @ -`, so an id typed here is one a token can own.
    """
    from threaddesk.cli.errors import fail
    from threaddesk.users.manager import validate_user_name

    try:
        return validate_user_name(user)
    except InvalidArgument as error:
        fail(str(error))


def _user_option(value: str | None) -> str | None:
    return None if value is None else check_user(value)


UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        "-u",
        show_default=False,
        callback=_user_option,
        help="Act as this user id [default: $THREADDESK_USER, else your login name].",
    ),
]
UserFilterOption = Annotated[
    str | None,
    typer.Option("--user", "-u", show_default=False, callback=_user_option, help="Only this user's threads."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ThreadIdArg = Annotated[str, typer.Argument(metavar="ID", help="The thread id.", show_default=False)]
