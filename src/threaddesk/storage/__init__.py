"""Open the backing store named by a database URL: registry and checkpointer together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver

from threaddesk.errors import StorageUnavailable
from threaddesk.ratelimit import MessageBudget, RateLimiter
from threaddesk.threads.archive.base import MessageArchive
from threaddesk.threads.registry.base import ThreadRegistry
from threaddesk.users.store.base import UserStore

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
    # Budgets every process on this database shares; None: only this process's memory can hold them.
    shared_budget: Callable[[int], MessageBudget] | None = None

    def message_budget(self, per_minute: int) -> MessageBudget:
        """Per-user message budgets: shared through the database where it can, else in this process."""
        if self.shared_budget is not None:
            return self.shared_budget(per_minute)
        return RateLimiter(per_minute)

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


async def open_storage(url: str, *, pool_size: int = 10, turn_pool_size: int = 10) -> Storage:
    """Open (creating and migrating if needed) the store at `url`.

    `memory` keeps everything in this process; a path or `sqlite:///path`
    opens one SQLite file (WAL) for threads, users and checkpoints;
    `postgresql://...` opens PostgreSQL for all three, shared by any number of
    replicas (`pool_size` and `turn_pool_size` size its two connection pools,
    see `threaddesk.storage.postgres`).
    """
    if is_postgres_url(url):
        return await _open_postgres(url, pool_size=pool_size, turn_pool_size=turn_pool_size)
    if url in MEMORY_URLS:
        from langgraph.checkpoint.memory import InMemorySaver

        from threaddesk.threads.archive.memory import MemoryArchive
        from threaddesk.threads.registry.memory import MemoryRegistry
        from threaddesk.users.store.memory import MemoryUserStore

        return Storage(url, MemoryRegistry(), InMemorySaver(), MemoryUserStore(), archive=MemoryArchive())
    path = sqlite_path(url)
    if path is None:
        raise StorageUnavailable(
            f"unsupported database URL {url!r}: use a file path, sqlite:///path,"
            " postgresql://user@host/dbname or 'memory'"
        )
    from threaddesk.storage.sqlite import SqliteDatabase, ThreadedSqliteSaver, migrate
    from threaddesk.threads.archive.sqlite import SqliteArchive
    from threaddesk.threads.registry.sqlite import SqliteRegistry
    from threaddesk.users.store.sqlite import SqliteUserStore

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
        from threaddesk.storage.postgres import PooledPostgresSaver, PostgresDatabase
    except ImportError as exc:
        raise StorageUnavailable(
            f"PostgreSQL support is not installed ({exc.name} is missing): pip install 'threaddesk[postgres]'"
        ) from exc
    from threaddesk.storage.postgres_ratelimit import PostgresRateLimiter
    from threaddesk.threads.archive.postgres import PostgresArchive
    from threaddesk.threads.registry.postgres import PostgresRegistry
    from threaddesk.users.store.postgres import PostgresUserStore

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
        shared_budget=lambda per_minute: PostgresRateLimiter(database, per_minute),
    )
