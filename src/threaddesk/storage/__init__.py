"""Open the backing store named by a database URL: registry and checkpointer together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver

from threaddesk.errors import StorageUnavailable
from threaddesk.threads.archive import MessageArchive
from threaddesk.threads.interfaces import ThreadRegistry
from threaddesk.users.interfaces import UserStore

MEMORY_URLS = frozenset({"memory", ":memory:", "memory://"})
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL database (the only store several processes can share)."""
    return url.startswith(POSTGRES_SCHEMES)


@dataclass
class Storage:
    """A registry, a checkpointer, a user store and a message archive over one database, closed together."""

    url: str
    registry: ThreadRegistry
    checkpointer: BaseCheckpointSaver
    users: UserStore
    migrations_applied: list[str] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[None] | None]] = field(default_factory=list)
    archive: MessageArchive | None = None

    async def aclose(self) -> None:
        await self.registry.close()
        for close in reversed(self._closers):
            result = close()
            if result is not None:
                await result


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL or plain path (`:memory:` for the memory URLs); None for anything else."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if url in MEMORY_URLS:
        return Path(":memory:")
    if "://" in url:
        return None
    return Path(url).expanduser()


async def open_storage(url: str, *, pool_size: int = 10, turn_pool_size: int = 10) -> Storage:
    """Open (creating and migrating if needed) the store at `url`.

    `memory` keeps everything in this process (a SQLite `:memory:` database); a path or `sqlite:///path`
    opens one SQLite file (WAL) for threads, users and checkpoints;
    `postgresql://...` opens PostgreSQL for all three, shared by any number of
    replicas (`pool_size` and `turn_pool_size` size its two connection pools,
    see `threaddesk.storage.postgres`).
    """
    if is_postgres_url(url):
        return await _open_postgres(url, pool_size=pool_size, turn_pool_size=turn_pool_size)
    path = sqlite_path(url)
    if path is None:
        raise StorageUnavailable(
            f"unsupported database URL {url!r}: use a file path, sqlite:///path,"
            " postgresql://user@host/dbname or 'memory'"
        )
    from threaddesk.storage.sqlite.archive import SqliteArchive
    from threaddesk.storage.sqlite.database import SqliteDatabase, ThreadedSqliteSaver, migrate
    from threaddesk.storage.sqlite.threads import SqliteRegistry
    from threaddesk.storage.sqlite.users import SqliteUserStore

    database = SqliteDatabase(path)
    try:
        applied = await database.run(migrate)
        checkpointer = ThreadedSqliteSaver(database)
        checkpointer.setup()
    except Exception:
        database.close()
        raise
    return Storage(
        url,
        SqliteRegistry(database),
        checkpointer,
        SqliteUserStore(database),
        applied,
        [database.close],
        archive=SqliteArchive(database),
    )


async def _open_postgres(url: str, *, pool_size: int, turn_pool_size: int) -> Storage:
    try:
        from threaddesk.storage.postgres.database import PooledPostgresSaver, PostgresDatabase
    except ImportError as exc:
        raise StorageUnavailable(
            f"PostgreSQL support is not installed ({exc.name} is missing): pip install 'threaddesk[postgres]'"
        ) from exc
    from threaddesk.storage.postgres.archive import PostgresArchive
    from threaddesk.storage.postgres.threads import PostgresRegistry
    from threaddesk.storage.postgres.users import PostgresUserStore

    database = PostgresDatabase(url, pool_size=pool_size, turn_pool_size=turn_pool_size)
    applied = await database.open()
    return Storage(
        url,
        PostgresRegistry(database),
        PooledPostgresSaver(database.pool),
        PostgresUserStore(database),
        applied,
        [database.close],
        archive=PostgresArchive(database),
    )
