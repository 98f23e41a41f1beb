"""`threaddesk serve`: the HTTP API and chat page under uvicorn."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from threaddesk.cli.state import cli_state
from threaddesk.config import Settings


async def _run(settings: Settings) -> None:
    import uvicorn

    from threaddesk.service import open_desk
    from threaddesk.web import create_app

    async with open_desk(settings) as desk:
        first = await desk.users.bootstrap_admin()
        if first is not None:
            user, token = first
            typer.echo(f"No users yet: created admin user {user.name!r}. Its token (shown only now):")
            typer.echo(f"\n    {token}\n")
            typer.echo("Add users with `threaddesk users add NAME`.")
        app = create_app(settings, desk=desk)
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info")
        await uvicorn.Server(config).serve()


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on [default: 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8000].")] = None,
) -> None:
    """Serve the HTTP API (docs at /docs) and the web chat page (at /)."""
    overrides = {"host": host, "port": port}
    settings = cli_state(ctx).settings.model_copy(
        update={key: value for key, value in overrides.items() if value is not None}
    )
    try:
        asyncio.run(_run(settings))
    except KeyboardInterrupt:
        pass
