"""A real threaddesk (uvicorn on 127.0.0.1 over a SQLite file) with users and their tokens, for live tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from threaddesk import Settings
from threaddesk.web import create_app


@dataclass
class Caller:
    """A user and the headers that authenticate them."""

    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


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


def _role(name: str) -> str:
    """`root` is an admin, a name starting with `agent` an agent (a person of the support team)."""
    return "admin" if name == "root" else "agent" if name.startswith("agent") else "customer"


def _add_users(database: Path, names: list[str]) -> dict[str, Caller]:
    from threaddesk.storage import open_storage
    from threaddesk.users import UserManager

    async def add() -> dict[str, Caller]:
        storage = await open_storage(str(database))
        try:
            users = UserManager(storage.users)
            return {name: Caller(name, (await users.add(name, role=_role(name)))[1]) for name in names}
        finally:
            await storage.aclose()

    # In a thread of its own: the caller may already run an event loop (Playwright's sync API does).
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(add())).result()


@contextmanager
def serve_live(
    database: Path, names: list[str] | dict[str, Caller], **overrides: object
) -> Iterator[LiveServer]:
    """uvicorn in a background thread on a free port; the app opens its desk in its lifespan.

    `names`: the users to add, or the users another live server on the same database already
    added (a second replica). `overrides` are settings (e.g. `keep_checkpoints=0`).
    """
    import uvicorn

    users = names if isinstance(names, dict) else _add_users(database, names)
    settings = Settings(database_url=str(database), max_message_bytes=1024, **overrides)  # type: ignore[arg-type]
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
