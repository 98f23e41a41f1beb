"""Fixtures of the web tests: an app over a fresh desk, users with tokens, an ASGI client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack

import httpx
import pytest
from fastapi import FastAPI
from support.live import Caller, LiveServer, serve_live

from threaddesk import Settings, SupportDesk, open_desk
from threaddesk.web import create_app

__all__ = ["Caller", "LiveServer"]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, max_message_bytes=1024, max_request_bytes=16 * 1024)


@pytest.fixture(params=["memory"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Most web tests need one backend; storage backends have their own suites."""
    return request.param


@pytest.fixture
async def web_desk(settings: Settings, clock) -> AsyncIterator[SupportDesk]:
    async with open_desk(settings, clock=clock) as desk:
        yield desk


@pytest.fixture
def app(settings: Settings, web_desk: SupportDesk) -> FastAPI:
    return create_app(settings, desk=web_desk)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://threaddesk.test") as client:
        yield client


async def _caller(desk: SupportDesk, name: str, admin: bool = False) -> Caller:
    _, token = await desk.users.add(name, admin=admin)
    return Caller(name, token)


@pytest.fixture
async def alice(web_desk: SupportDesk) -> Caller:
    return await _caller(web_desk, "alice")


@pytest.fixture
async def bob(web_desk: SupportDesk) -> Caller:
    return await _caller(web_desk, "bob")


@pytest.fixture
async def admin(web_desk: SupportDesk) -> Caller:
    return await _caller(web_desk, "root", admin=True)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server for the session's API-level tests (each test uses fresh thread ids)."""
    with serve_live(tmp_path_factory.mktemp("live") / "desk.sqlite", ["alice", "bob", "root"]) as server:
        yield server


@pytest.fixture(scope="module")
def fresh_live_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[list[str]], LiveServer]]:
    """`fresh_live_server(names)`: a live server on a new database, stopped with the module."""
    with ExitStack() as stack:

        def start(names: list[str], **overrides: object) -> LiveServer:
            database = tmp_path_factory.mktemp("live") / "desk.sqlite"
            return stack.enter_context(serve_live(database, names, **overrides))

        yield start
