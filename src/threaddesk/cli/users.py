"""`threaddesk users add|list|revoke`: who may call the HTTP service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from threaddesk.agent import OfflineChatModel
from threaddesk.cli.state import cli_state
from threaddesk.service import open_desk
from threaddesk.users import User, UserManager

T = TypeVar("T")

app = typer.Typer(help="Manage the users (and their tokens) of the HTTP service.", no_args_is_help=True)


def _with_users(ctx: typer.Context, action: Callable[[UserManager], Awaitable[T]]) -> T:
    """Run `action` on the users of the database the root options name (no turn runs: offline model)."""
    settings = cli_state(ctx).settings

    async def run() -> T:
        async with open_desk(settings, model=OfflineChatModel()) as desk:
            return await action(desk.users)

    return asyncio.run(run())


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The user's name; it owns their threads.")],
    ctx: typer.Context,
    admin: Annotated[bool, typer.Option("--admin", help="May see every thread and run cleanup.")] = False,
) -> None:
    """Create a user and print their token (the only time it is shown)."""
    user, token = _with_users(ctx, lambda users: users.add(name, admin=admin))
    typer.echo(
        f"Created {'admin ' if user.is_admin else ''}user {user.name!r}. Token (shown only now):", err=True
    )
    typer.echo(token)


@app.command("list")
def list_users(ctx: typer.Context) -> None:
    """List users (never their tokens)."""
    found: list[User] = _with_users(ctx, lambda users: users.list())
    for user in found:
        role = "admin" if user.is_admin else "user"
        typer.echo(f"{user.name}\t{role}\t{user.created_at.isoformat(timespec='seconds')}")


@app.command("revoke")
def revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The user to remove.")]) -> None:
    """Remove a user and their token at once; their threads stay (re-adding NAME gives them back)."""
    _with_users(ctx, lambda users: users.revoke(name))
    typer.echo(f"Revoked {name!r}.")
