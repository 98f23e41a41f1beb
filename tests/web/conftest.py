"""Fixtures of the web tests: an app over a fresh desk, users with tokens, an ASGI client."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from threaddesk import Settings, SupportDesk, open_desk
from threaddesk.web import create_app


@dataclass
class Caller:
    """A user and the headers that authenticate them."""

    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


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


@dataclass
class LiveServer:
    """A real uvicorn on 127.0.0.1 over a SQLite file, and its users by name."""

    url: str
    users: dict[str, Caller]

    def __getattr__(self, name: str) -> Caller:
        try:
            return self.users[name]
        except KeyError:
            raise AttributeError(name) from None


def _add_users(database: Path, names: list[str]) -> dict[str, Caller]:
    from threaddesk.storage import open_storage
    from threaddesk.users import UserManager

    async def add() -> dict[str, Caller]:
        storage = await open_storage(str(database))
        try:
            users = UserManager(storage.users)
            return {name: Caller(name, (await users.add(name, admin=name == "root"))[1]) for name in names}
        finally:
            await storage.aclose()

    # In a thread of its own: the caller may already run an event loop (Playwright's sync API does).
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(add())).result()


@contextmanager
def serve_live(database: Path, names: list[str]) -> Iterator[LiveServer]:
    """uvicorn in a background thread on a free port; the app opens its desk in its lifespan."""
    import uvicorn

    users = _add_users(database, names)
    settings = Settings(database_url=str(database), max_message_bytes=1024)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", users)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


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

        def start(names: list[str]) -> LiveServer:
            database = tmp_path_factory.mktemp("live") / "desk.sqlite"
            return stack.enter_context(serve_live(database, names))

        yield start
