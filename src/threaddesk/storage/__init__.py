"""Open the backing store named by a database URL: every store of one backend, and what it can do.

Each backend lives in its own package (`storage/sqlite/`, `storage/postgres/`)
and implements the interfaces the core declares (`threads.interfaces`,
`users.interfaces`); this module is the only place that chooses one. Nothing in
the core imports from here, so imports point one way: storage -> core.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from threaddesk.agent.orders import OrderBook
from threaddesk.assistants.interfaces import AssistantStore
from threaddesk.config import is_postgres_url
from threaddesk.errors import StorageUnavailable
from threaddesk.ratelimit import MessageBudget, RateLimiter
from threaddesk.runs.cancel import CancelStore
from threaddesk.runs.events import EventLog
from threaddesk.runs.interfaces import RunStore
from threaddesk.threads.interfaces import MessageArchive, MessageIndex, PrunableSaver, ThreadRegistry
from threaddesk.users.interfaces import UserStore

__all__ = ["MEMORY_URLS", "Storage", "is_postgres_url", "open_storage", "sqlite_path"]

MEMORY_URLS = frozenset({"memory", ":memory:", "memory://"})


@dataclass
class Storage:
    """A registry, a checkpointer, user, archive and run stores over one database, closed together."""

    url: str
    registry: ThreadRegistry
    checkpointer: BaseCheckpointSaver
    users: UserStore
    migrations_applied: list[str] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[None] | None]] = field(default_factory=list)
    archive: MessageArchive | None = None
    # LangGraph's own store (SqliteStore / PostgresStore) in the same database: the `/store` API.
    store: BaseStore | None = None
    runs: RunStore | None = None
    # Cancel requests on the runs and the kept events of resumable runs (threaddesk.runs.cancel / .events).
    cancels: CancelStore | None = None
    run_events: EventLog | None = None
    assistants: AssistantStore | None = None
    search: MessageIndex | None = None
    # Budgets every process on this database shares; None: only this process's memory can hold them.
    shared_budget: Callable[[int], MessageBudget] | None = None
    # The demo shop's orders and the agent's tickets: what the support tools read and write.
    orders: OrderBook | None = None

    @property
    def supports_search(self) -> bool:
        """Whether questions and replies are indexed for full-text search (`SupportDesk.search`)."""
        return self.search is not None

    def message_budget(self, per_minute: int, *, redis_url: str | None = None) -> MessageBudget:
        """Per-user message budgets: in Redis if `redis_url` is given, else shared through the
        database where it can (PostgreSQL), else in this process (SQLite)."""
        if redis_url:
            try:
                from threaddesk.storage.redis.ratelimit import RedisRateLimiter
            except ImportError as exc:
                raise StorageUnavailable(
                    f"THREADDESK_REDIS_URL is set but {exc.name} is missing: pip install 'threaddesk[redis]'"
                ) from exc
            return RedisRateLimiter(redis_url, per_minute)
        if self.shared_budget is not None:
            return self.shared_budget(per_minute)
        return RateLimiter(per_minute)

    @property
    def supports_prune(self) -> bool:
        """Whether the checkpointer can drop superseded checkpoints (`THREADDESK_KEEP_CHECKPOINTS`)."""
        return isinstance(self.checkpointer, PrunableSaver)

    async def ping(self) -> None:
        """One cheap round trip to the database; `StorageUnavailable` if it does not answer."""
        await self.registry.ping()

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

    A path or `sqlite:///path` opens one SQLite file (WAL) for threads, users
    and checkpoints; `memory` (or `:memory:`) is the same in a SQLite database
    that lives and dies with this process; `postgresql://...` opens PostgreSQL
    for all of them, shared by any number of replicas (`pool_size` and
    `turn_pool_size` size its two connection pools, see
    `threaddesk.storage.postgres.database`).
    """
    if is_postgres_url(url):
        return await _open_postgres(url, pool_size=pool_size, turn_pool_size=turn_pool_size)
    path = sqlite_path(url)
    if path is None:
        raise StorageUnavailable(
            f"unsupported database URL {url!r}: use a file path, sqlite:///path,"
            " postgresql://user@host/dbname or 'memory'"
        )
    return await _open_sqlite(url, path)


async def _open_sqlite(url: str, path: Path) -> Storage:
    from threaddesk.storage.sqlite.archive import SqliteArchive
    from threaddesk.storage.sqlite.assistants import SqliteAssistantStore
    from threaddesk.storage.sqlite.checkpointer import ThreadedSqliteSaver
    from threaddesk.storage.sqlite.database import SqliteDatabase
    from threaddesk.storage.sqlite.migrations import migrate
    from threaddesk.storage.sqlite.orders import SqliteOrderBook
    from threaddesk.storage.sqlite.run_control import SqliteCancelStore, SqliteEventLog
    from threaddesk.storage.sqlite.runs import SqliteRunStore
    from threaddesk.storage.sqlite.search import SqliteMessageIndex
    from threaddesk.storage.sqlite.store import ThreadedSqliteStore
    from threaddesk.storage.sqlite.threads import SqliteRegistry
    from threaddesk.storage.sqlite.users import SqliteUserStore

    database = SqliteDatabase(path)
    try:
        applied = await database.run(migrate)
        checkpointer = ThreadedSqliteSaver(database)
        checkpointer.setup()
        store = ThreadedSqliteStore(database)
        store.setup()
    except Exception:
        database.close()
        raise
    return Storage(
        url,
        SqliteRegistry(database, checkpointer),
        checkpointer,
        SqliteUserStore(database),
        applied,
        [database.close],
        archive=SqliteArchive(database),
        search=SqliteMessageIndex(database),
        runs=SqliteRunStore(database),
        cancels=SqliteCancelStore(database),
        run_events=SqliteEventLog(database),
        assistants=SqliteAssistantStore(database),
        store=store,
        orders=SqliteOrderBook(database),
    )


async def _open_postgres(url: str, *, pool_size: int, turn_pool_size: int) -> Storage:
    try:
        from threaddesk.storage.postgres.archive import PostgresArchive
        from threaddesk.storage.postgres.assistants import PostgresAssistantStore
        from threaddesk.storage.postgres.checkpointer import PooledPostgresSaver
        from threaddesk.storage.postgres.database import PostgresDatabase
        from threaddesk.storage.postgres.orders import PostgresOrderBook
        from threaddesk.storage.postgres.ratelimit import PostgresRateLimiter
        from threaddesk.storage.postgres.run_control import PostgresCancelStore, PostgresEventLog
        from threaddesk.storage.postgres.runs import PostgresRunStore
        from threaddesk.storage.postgres.search import PostgresMessageIndex
        from threaddesk.storage.postgres.store import PooledPostgresStore
        from threaddesk.storage.postgres.threads import PostgresRegistry
        from threaddesk.storage.postgres.users import PostgresUserStore
    except ImportError as exc:
        raise StorageUnavailable(
            f"PostgreSQL support is not installed ({exc.name} is missing): pip install 'threaddesk[postgres]'"
        ) from exc

    database = PostgresDatabase(url, pool_size=pool_size, turn_pool_size=turn_pool_size)
    applied = await database.open()
    store = PooledPostgresStore(database)  # its tables are set up by the migrations
    saver = PooledPostgresSaver(database)
    return Storage(
        url,
        PostgresRegistry(database, saver),
        saver,
        PostgresUserStore(database),
        applied,
        [database.close],
        archive=PostgresArchive(database),
        shared_budget=lambda per_minute: PostgresRateLimiter(database, per_minute),
        search=PostgresMessageIndex(database),
        runs=PostgresRunStore(database),
        cancels=PostgresCancelStore(database),
        run_events=PostgresEventLog(database),
        assistants=PostgresAssistantStore(database),
        store=store,
        orders=PostgresOrderBook(database),
    )
