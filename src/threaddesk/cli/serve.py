"""`threaddesk serve`: the HTTP API and chat page under uvicorn, in one process or several."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from threaddesk.cli.errors import fail
from threaddesk.cli.output import describe_database
from threaddesk.cli.state import asyncio_run, cli_state

if TYPE_CHECKING:
    from threaddesk.config import Settings
    from threaddesk.service import SupportDesk

# The app factory every worker process calls: it reads its settings from THREADDESK_*.
APP_FACTORY = "threaddesk.web.app:create_served_app"


async def _announce_first_admin(desk: SupportDesk) -> None:
    first = await desk.users.bootstrap_admin()
    if first is not None:
        user, token = first
        typer.echo(f"No users yet: created admin user {user.name!r}. Its token (shown only now):")
        typer.echo(f"\n    {token}\n")
        typer.echo("Add users with `threaddesk users add NAME`.")


async def _run(settings: Settings) -> None:
    import uvicorn

    from threaddesk.service import open_desk
    from threaddesk.web import create_app
    from threaddesk.web.server import freeze_after_startup, server_config

    async with open_desk(settings) as desk:
        await _announce_first_admin(desk)
        if settings.config is not None:
            typer.echo(f"Graphs: {', '.join(desk.graphs)} (from {settings.config})")
        app = freeze_after_startup(create_app(settings, desk=desk))
        await uvicorn.Server(server_config(app, settings)).serve()


def _run_one(settings: Settings) -> None:
    """One server process, on the event loop uvicorn would pick (`THREADDESK_EVENT_LOOP`)."""
    import asyncio

    from threaddesk.web.server import loop_factory

    try:
        factory = loop_factory(settings)
    except ImportError as exc:
        fail(f"THREADDESK_EVENT_LOOP={settings.event_loop}: {exc} (pip install uvloop)")
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_run(settings))


async def _prepare(settings: Settings) -> None:
    """Once, before the workers start: migrate the database and create the first admin."""
    from threaddesk.agent import OfflineChatModel
    from threaddesk.service import open_desk

    async with open_desk(settings, model=OfflineChatModel(), run_workers=0) as desk:
        await _announce_first_admin(desk)


def _export(settings: Settings) -> None:
    """Hand the effective settings (command-line options included) to the worker processes."""
    for name, value in settings.model_dump().items():
        if value is not None:
            secret = getattr(value, "get_secret_value", None)
            os.environ[f"THREADDESK_{name.upper()}"] = str(secret() if secret else value)


def _run_workers(settings: Settings, workers: int) -> None:
    from uvicorn.supervisors import Multiprocess

    from threaddesk.config import is_postgres_url
    from threaddesk.web.server import server_config

    if not is_postgres_url(settings.database_url):
        fail(
            f"--workers {workers} needs PostgreSQL (--db postgresql://...): each worker is a process,"
            " and only PostgreSQL shares threads, users and turn locks between processes"
        )
    asyncio_run(_prepare(settings))
    _export(settings)
    # What `uvicorn.run(..., workers=N)` does, with our configuration class (its limits reach each worker).
    config = server_config(APP_FACTORY, settings, factory=True, workers=workers)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def _absolute(path: str | None) -> str | None:
    """The config file's absolute path, so worker processes started elsewhere find it."""
    from pathlib import Path

    return None if path is None else str(Path(path).expanduser().resolve())


def _with_config_auth(settings: Settings) -> Settings:
    """The `auth.path` of the `--config` file, unless `THREADDESK_AUTH_PATH` names one already."""
    if settings.auth_path or settings.config is None:
        return settings
    from threaddesk.graphs.config import GraphConfigError, read_config

    try:
        auth_path = read_config(settings.config).auth_path
    except GraphConfigError as exc:
        fail(str(exc))
    return settings if auth_path is None else settings.model_copy(update={"auth_path": auth_path})


def _check_auth(settings: Settings) -> None:
    """A custom auth file that cannot load stops `serve` now (exit 2), not at the first request."""
    if not settings.auth_path:
        return
    from threaddesk.web.custom_auth import CustomAuthError, load_auth

    try:
        load_auth(settings.auth_path, os.getcwd())
    except CustomAuthError as exc:
        fail(str(exc))


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on [default: 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8000].")] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            metavar="FILE",
            show_default=False,
            help="A langgraph.json naming your own graphs to serve (like the global --config).",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Worker processes sharing the port; more than 1 needs a PostgreSQL database."
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (docs at /docs) and the web chat page (at /).

    With --config (a langgraph.json), serve the graphs it names instead of the
    built-in agent; a graph that cannot be loaded stops it here (exit code 2).
    """
    overrides = {"host": host, "port": port, "config": _absolute(config)}
    settings = cli_state(ctx).settings.model_copy(
        update={key: value for key, value in overrides.items() if value is not None}
    )
    typer.echo(f"Database: {describe_database(settings.database_url)}")
    settings = _with_config_auth(settings)
    _check_auth(settings)
    try:
        if workers > 1:
            _run_workers(settings, workers)
        else:
            _run_one(settings)
    except KeyboardInterrupt:
        pass
