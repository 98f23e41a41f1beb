"""`threaddesk db upgrade|reindex|seed-demo`: bring the schema up to date, rebuild the search index,
put the demo shop's orders in for the support tools.

Every process also migrates when it opens the database (idempotent, and on
PostgreSQL under an advisory lock so replicas starting together do not race);
running this first, e.g. as a deploy step, keeps schema changes out of start-up.
Messages stored before the search index existed are found once `reindex` has run.
"""

from __future__ import annotations

import typer

from threaddesk.cli.state import asyncio_run, cli_state

app = typer.Typer(help="Manage the database schema and the search index.", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations (threads, users, LangGraph checkpoints)."""
    from threaddesk.service import upgrade_database

    applied = asyncio_run(upgrade_database(cli_state(ctx).settings.database_url))
    for name in applied:
        typer.echo(f"applied {name}")
    typer.echo("database schema is up to date")


@app.command()
def reindex(ctx: typer.Context) -> None:
    """Put every stored message in the full-text search index (messages stored before it existed)."""
    with cli_state(ctx).open_admin_desk() as desk:
        done = desk.reindex()
    typer.echo(f"indexed the messages of {done} thread{'' if done == 1 else 's'}")


@app.command("seed-demo")
def seed_demo(ctx: typer.Context) -> None:
    """Put the demo shop's orders (#1042 to #1047, #2001) in, for the agent's support tools."""
    with cli_state(ctx).open_admin_desk() as desk:
        written = desk.seed_demo_orders()
    typer.echo(f"seeded {written} demo orders")
