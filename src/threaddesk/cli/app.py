"""The `threaddesk` command: global options, and where every command is registered.

Commands live in their own modules; registering one here is one line.
Errors from the core become exit codes in one place (`cli.errors`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from threaddesk import __version__
from threaddesk.cli import assistants, chat, db, serve, threads, users
from threaddesk.cli.errors import ThreadDeskGroup
from threaddesk.cli.state import CliState, cli_state

app = typer.Typer(
    name="threaddesk",
    cls=ThreadDeskGroup,
    help="A support agent that keeps each conversation's memory isolated by thread id.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"threaddesk {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            show_default=False,
            help="SQLite file, postgresql://... or 'memory'"
            " [default: $THREADDESK_DATABASE_URL, else in your user data dir].",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="SPEC",
            show_default=False,
            help="'offline' or provider:model [default: $THREADDESK_MODEL, else offline].",
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            metavar="FILE",
            show_default=False,
            help="A langgraph.json naming your own graphs to serve"
            " [default: $THREADDESK_CONFIG, else the built-in agent].",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """threaddesk: many customers, one agent, one isolated memory per thread.

    Settings also come from THREADDESK_* environment variables (see the README).
    """
    ctx.obj = CliState({"database_url": db, "model": model, "config": config})


@app.command()
def demo(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            show_default=False,
            help="Where the demo keeps its threads, like the global --db [default: a throwaway database].",
        ),
    ] = None,
) -> None:
    """Run the multi-thread support exercise: parallel threads, isolation, switching.

    It runs on a throwaway in-memory database unless --db names one (before or
    after `demo`), and talks to the model --model or $THREADDESK_MODEL names.
    """
    from threaddesk.demo import main as run_demo

    state = cli_state(ctx)
    database_url = db or (state.settings.database_url if state.given("database_url") else "memory")
    raise typer.Exit(run_demo(database_url=database_url, settings=state.settings))


app.command()(chat.chat)
app.add_typer(threads.app)
app.command()(serve.serve)
app.add_typer(users.app, name="users")
app.add_typer(assistants.app, name="assistants")
app.add_typer(db.app, name="db")


def main() -> None:
    app(prog_name="threaddesk")
