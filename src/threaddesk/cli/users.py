"""`threaddesk users add|list|revoke`: who may call the HTTP service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from threaddesk.cli.options import JsonOption
from threaddesk.cli.output import console, describe_database, echo_json
from threaddesk.cli.state import asyncio_run, cli_state
from threaddesk.cli.tables import Column, fit_table, print_table

if TYPE_CHECKING:
    from threaddesk.users import User, UserManager

T = TypeVar("T")

app = typer.Typer(help="Manage the users (and their tokens) of the HTTP service.", no_args_is_help=True)


def _with_users(ctx: typer.Context, action: Callable[[UserManager], Awaitable[T]]) -> T:
    """Run `action` on the users of the database the root options name (no turn runs: offline model)."""
    from threaddesk.agent import OfflineChatModel
    from threaddesk.service import open_desk

    settings = cli_state(ctx).settings

    async def run() -> T:
        async with open_desk(settings, model=OfflineChatModel(), run_workers=0) as desk:
            return await action(desk.users)

    return asyncio_run(run())


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The user's name; it owns their threads.")],
    ctx: typer.Context,
    admin: Annotated[bool, typer.Option("--admin", help="May see every thread and run cleanup.")] = False,
) -> None:
    """Create a user and print their token (the only time it is shown)."""
    where = describe_database(cli_state(ctx).settings.database_url)
    user, token = _with_users(ctx, lambda users: users.add(name, admin=admin))
    typer.echo(f"Database: {where}", err=True)
    typer.echo(
        f"Created {'admin ' if user.is_admin else ''}user {user.name!r}. Token (shown only now):", err=True
    )
    typer.echo(token)


@app.command("list")
def list_users(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List users (never their tokens)."""
    found: list[User] = _with_users(ctx, lambda users: users.list())
    if as_json:
        echo_json([user.to_dict() for user in found])
        return
    out = console()
    if not found:
        out.print("No users.")
        return
    rows = [
        [user.name, "admin" if user.is_admin else "user", f"{user.created_at:%Y-%m-%d %H:%M:%S} UTC"]
        for user in found
    ]
    columns = [Column("name"), Column("role"), Column("created")]
    print_table(out, fit_table(columns, rows, out.width))


@app.command("revoke")
def revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The user to remove.")]) -> None:
    """Remove a user and their token at once; their threads stay (re-adding NAME gives them back)."""
    _with_users(ctx, lambda users: users.revoke(name))
    typer.echo(f"Revoked {name!r}.")
