"""Open the backing store named by a database URL: registry and checkpointer together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver

from threaddesk.errors import StorageUnavailable
from threaddesk.threads.registry.base import ThreadRegistry
from threaddesk.users.store.base import UserStore

MEMORY_URLS = frozenset({"memory", ":memory:", "memory://"})


@dataclass
class Storage:
    """A registry, a checkpointer and a user store over the same database, closed together."""

    url: str
    registry: ThreadRegistry
    checkpointer: BaseCheckpointSaver
    users: UserStore
    _closers: list[Callable[[], Awaitable[None] | None]] = field(default_factory=list)

    async def aclose(self) -> None:
        await self.registry.close()
        for close in reversed(self._closers):
            result = close()
            if result is not None:
                await result


def sqlite_path(url: str) -> Path | None:
    """The file path of a SQLite URL or plain path; None for anything else."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if "://" in url or url in MEMORY_URLS:
        return None
    return Path(url).expanduser()


async def open_storage(url: str) -> Storage:
    """Open (creating and migrating if needed) the store at `url`.

    `memory` keeps everything in this process; a path or `sqlite:///path`
    opens one SQLite file (WAL) for both threads and checkpoints.
    """
    if url in MEMORY_URLS:
        from langgraph.checkpoint.memory import InMemorySaver

        from threaddesk.threads.registry.memory import MemoryRegistry
        from threaddesk.users.store.memory import MemoryUserStore

        return Storage(url, MemoryRegistry(), InMemorySaver(), MemoryUserStore())
    path = sqlite_path(url)
    if path is None:
        raise StorageUnavailable(
            f"unsupported database URL {url!r}: use a file path, sqlite:///path or 'memory'"
        )
    from threaddesk.storage.sqlite import SqliteDatabase, ThreadedSqliteSaver
    from threaddesk.threads.registry.sqlite import SqliteRegistry
    from threaddesk.users.store.sqlite import SqliteUserStore

    database = SqliteDatabase(path)
    try:
        registry = SqliteRegistry(database)
        await registry.setup()
        checkpointer = ThreadedSqliteSaver(database)
        checkpointer.setup()
    except Exception:
        database.close()
        raise
    return Storage(url, registry, checkpointer, SqliteUserStore(database), [database.close])
