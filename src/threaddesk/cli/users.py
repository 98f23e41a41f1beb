"""`threaddesk users add|list|revoke`: who may call the HTTP service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from threaddesk.cli.errors import fail
from threaddesk.cli.options import JsonOption
from threaddesk.cli.output import console, describe_database, echo_json
from threaddesk.cli.state import asyncio_run, cli_state
from threaddesk.cli.tables import Column, fit_table, print_table

if TYPE_CHECKING:
    from threaddesk.users import User, UserManager

T = TypeVar("T")


class UserRole(StrEnum):
    """`threaddesk.users.Role`, repeated here so `--help` needs no import of the core."""

    CUSTOMER = "customer"
    AGENT = "agent"
    ADMIN = "admin"


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
    admin: Annotated[
        bool, typer.Option("--admin", help="May see every thread and run cleanup (same as --role admin).")
    ] = False,
    role: Annotated[
        UserRole | None,
        typer.Option(
            "--role",
            help="customer (their own threads), agent (reads every thread, answers handed-over ones)"
            " or admin (everything). [default: customer]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a user and print their token (the only time it is shown)."""
    if admin and role not in (None, UserRole.ADMIN):
        fail(f"--admin contradicts --role {role.value}")
    chosen = role.value if role is not None else ("admin" if admin else "customer")
    where = describe_database(cli_state(ctx).settings.database_url)
    user, token = _with_users(ctx, lambda users: users.add(name, role=chosen))
    typer.echo(f"Database: {where}", err=True)
    kind = "" if user.role == "customer" else f"{user.role} "
    typer.echo(f"Created {kind}user {user.name!r}. Token (shown only now):", err=True)
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
    rows = [[user.name, str(user.role), f"{user.created_at:%Y-%m-%d %H:%M:%S} UTC"] for user in found]
    columns = [Column("name"), Column("role"), Column("created")]
    print_table(out, fit_table(columns, rows, out.width))


@app.command("revoke")
def revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The user to remove.")]) -> None:
    """Remove a user and their token at once; their threads stay (re-adding NAME gives them back)."""
    _with_users(ctx, lambda users: users.revoke(name))
    typer.echo(f"Revoked {name!r}.")
