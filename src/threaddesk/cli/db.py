"""`threaddesk db upgrade`: bring the database schema up to date, explicitly.

Every process also migrates when it opens the database (idempotent, and on
PostgreSQL under an advisory lock so replicas starting together do not race);
running this first, e.g. as a deploy step, keeps schema changes out of start-up.
"""

from __future__ import annotations

import asyncio

import typer

from threaddesk.cli.state import cli_state
from threaddesk.service import upgrade_database

app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations (threads, users, LangGraph checkpoints)."""
    applied = asyncio.run(upgrade_database(cli_state(ctx).settings.database_url))
    for name in applied:
        typer.echo(f"applied {name}")
    typer.echo("database schema is up to date")
