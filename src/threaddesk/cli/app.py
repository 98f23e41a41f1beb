"""Entry point of the `threaddesk` command."""

from __future__ import annotations

from typing import Annotated

import typer

from threaddesk import __version__

app = typer.Typer(
    name="threaddesk",
    help="A support agent that keeps each conversation's memory isolated by thread id.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"threaddesk {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """threaddesk: many customers, one agent, one isolated memory per thread."""


@app.command()
def demo(
    db: Annotated[
        str, typer.Option("--db", help="Where the demo keeps its threads ('memory' or a SQLite path).")
    ] = "memory",
) -> None:
    """Run the multi-thread support exercise: parallel threads, isolation, switching."""
    from threaddesk.demo import main as run_demo

    raise typer.Exit(run_demo(database_url=db))


# The HTTP service commands.
from threaddesk.cli import serve as _serve  # noqa: E402
from threaddesk.cli import users as _users  # noqa: E402

app.command("serve")(_serve.serve)
app.add_typer(_users.app, name="users")


def main() -> None:
    app()
