"""PostgreSQL holds the thread registry, the users and LangGraph's checkpoints for many replicas.

Two psycopg connection pools per process: `pool` runs the queries (registry,
users, checkpointer); `turn_pool` gives each running turn one connection that
holds the thread's advisory lock for the turn's duration. Keeping them apart
means turns holding locks can never starve the queries those turns need.
A process therefore runs at most `turn_pool_size` turns at once (the rest
queue for a connection), and opens at most `pool_size + turn_pool_size`
connections to the server.

Advisory locks are session-level: if a replica dies, the server ends its
sessions and every lock it held is released.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from threaddesk.errors import StorageUnavailable
from threaddesk.storage import postgres_turnfence
from threaddesk.storage.postgres_pool import FailFastPool, Reachability

T = TypeVar("T")

# What LangGraph's saver needs from its connections (see AsyncPostgresSaver.from_conn_string).
CONNECTION_KWARGS: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
CONNECT_TIMEOUT_S = 10


def redact(url: str) -> str:
    """The URL without its password, for error messages and logs."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def one_line(exc: Exception) -> str:
    """libpq's multi-line messages on one line (the CLI prints errors as one line)."""
    return " ".join(str(exc).split())


def advisory_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key: the first 8 bytes of sha256(name).

    Python's `hash()` is salted per process, so replicas would disagree on it.
    """
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


MIGRATION_LOCK = advisory_key("threaddesk:migrations")

# Each migration is a list of statements (psycopg sends one statement per execute).
_M001_THREADS = [
    """
    CREATE TABLE threaddesk_threads (
        thread_id TEXT COLLATE "C" PRIMARY KEY,
        user_id TEXT NOT NULL,
        title TEXT,
        metadata JSONB NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'idle',
        created_at TIMESTAMPTZ NOT NULL,
        last_active_at TIMESTAMPTZ NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX threaddesk_threads_by_user"
    " ON threaddesk_threads (user_id, last_active_at DESC, thread_id DESC)",
    "CREATE INDEX threaddesk_threads_by_activity ON threaddesk_threads (last_active_at DESC, thread_id DESC)",
]

_M002_USERS = [
    """
    CREATE TABLE threaddesk_users (
        name TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        is_admin BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TIMESTAMPTZ NOT NULL
    )
    """,
]

_M003_MESSAGES = [
    """
    CREATE TABLE threaddesk_messages (
        thread_id TEXT COLLATE "C" NOT NULL,
        position INTEGER NOT NULL,
        type TEXT NOT NULL,
        message BYTEA NOT NULL,
        PRIMARY KEY (thread_id, position)
    )
    """,
]

# threaddesk's own tables, beside LangGraph's `checkpoints`, `checkpoint_blobs` and
# `checkpoint_writes`. Append only; the names match storage/sqlite.py's MIGRATIONS.
MIGRATIONS: list[tuple[str, list[str]]] = [
    ("001_threads", _M001_THREADS),
    ("002_users", _M002_USERS),
    ("003_messages", _M003_MESSAGES),
]


async def migrate(conn: AsyncConnection) -> list[str]:
    """Set up LangGraph's tables, then apply pending migrations; return the names applied.

    Idempotent, and safe when several replicas start at once: everything runs
    under one session advisory lock. Waiters poll `pg_try_advisory_lock`
    rather than block in `pg_advisory_lock`, because a blocked statement holds
    a snapshot that the checkpointer's `CREATE INDEX CONCURRENTLY` would wait
    for, a deadlock. `conn` must be in autocommit mode, outside a transaction.
    """
    while not (
        await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (MIGRATION_LOCK,))).fetchone()
    )["ok"]:
        await asyncio.sleep(0.05)
    try:
        await AsyncPostgresSaver(conn).setup()
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS threaddesk_migrations"
            " (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {
            row["name"]
            for row in await (await conn.execute("SELECT name FROM threaddesk_migrations")).fetchall()
        }
        applied = []
        async with conn.transaction():
            for name, statements in MIGRATIONS:
                if name not in done:
                    for sql in statements:
                        await conn.execute(sql)
                    await conn.execute("INSERT INTO threaddesk_migrations (name) VALUES (%s)", (name,))
                    applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


class PooledPostgresSaver(AsyncPostgresSaver):
    """LangGraph's `AsyncPostgresSaver` that uses its pool concurrently.

    The stock saver takes one `asyncio.Lock` around every operation, even over a
    pool, so a process runs one checkpoint query at a time (langgraph#7259). A
    semaphore as wide as the pool keeps the bound without the serialisation.
    """

    def __init__(self, pool: AsyncConnectionPool, **kwargs: Any) -> None:
        super().__init__(pool, **kwargs)
        self.lock = asyncio.Semaphore(pool.max_size)  # type: ignore[assignment]

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        await postgres_turnfence.check_lock_held()  # see postgres_turnfence
        return await super().aput(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        await postgres_turnfence.check_lock_held()
        await super().aput_writes(config, writes, task_id, task_path)


class PostgresDatabase:
    """The pools a process uses, opened (and the schema migrated) by `open()`."""

    def __init__(self, url: str, *, pool_size: int = 10, turn_pool_size: int = 10) -> None:
        self.url = url
        # Both pools fail fast while the server is down, recover fast after (see postgres_pool).
        self.reachability = Reachability()
        self.pool = FailFastPool(
            url,
            reachability=self.reachability,
            min_size=1,
            max_size=pool_size,
            kwargs=CONNECTION_KWARGS,
            open=False,
            name="threaddesk",
        )
        self.turn_pool = FailFastPool(
            url,
            reachability=self.reachability,
            min_size=1,
            max_size=turn_pool_size,
            kwargs={"autocommit": True},
            open=False,
            name="threaddesk-turns",
            # A turn queues here while other turns run: wait as long as a turn may take.
            timeout=600,
        )
        self.migrations_applied: list[str] = []

    def _unavailable(self, exc: Exception, doing: str = "PostgreSQL") -> StorageUnavailable:
        return StorageUnavailable(f"{doing} at {redact(self.url)}: {one_line(exc)}")

    async def open(self) -> list[str]:
        """Connect, migrate, open the pools; return the migrations applied."""
        try:
            conn = await AsyncConnection.connect(
                self.url, connect_timeout=CONNECT_TIMEOUT_S, **CONNECTION_KWARGS
            )
        except psycopg.Error as exc:
            raise self._unavailable(exc, "cannot connect to PostgreSQL") from exc
        try:
            async with conn:
                self.migrations_applied = await migrate(conn)
            await self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            await self.turn_pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except (psycopg.Error, PoolTimeout) as exc:
            await self.close()
            raise self._unavailable(exc) from exc
        return self.migrations_applied

    async def close(self) -> None:
        await self.turn_pool.close()
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection (autocommit, dict rows); connection failures become StorageUnavailable."""
        try:
            async with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            if not isinstance(exc, PoolTimeout) and exc.sqlstate is None:  # the connection, not the query
                self.reachability.failed()
            raise self._unavailable(exc) from exc

    @asynccontextmanager
    async def _advisory_session(
        self,
        take: Callable[[AsyncConnection], Awaitable[T]],
        give_back: Callable[[AsyncConnection, T], Awaitable[object]],
    ) -> AsyncIterator[T]:
        """`take(conn)` advisory locks on a dedicated connection, and `give_back` them after.

        Should anything go wrong between asking for a lock and giving it back
        (a cancelled wait may have been granted; an unlock may fail), the
        connection is closed instead of reused: ending the session is what
        releases its locks for sure.
        """
        try:
            conn = await self.turn_pool.getconn()
        except PoolTimeout as exc:
            raise self._unavailable(exc) from exc
        try:
            try:
                held = await take(conn)
            except BaseException as exc:
                await conn.close()
                if isinstance(exc, psycopg.OperationalError):
                    raise self._unavailable(exc) from exc
                raise
            try:
                yield held
            finally:
                try:
                    await give_back(conn, held)
                except Exception:
                    await conn.close()  # the session's end released the locks
                except BaseException:
                    await conn.close()
                    raise
        finally:
            await self.turn_pool.putconn(conn)

    @asynccontextmanager
    async def session_lock(self, key: int, *, wait: bool) -> AsyncIterator[bool]:
        """Hold advisory lock `key` on its own connection; yield False if `wait` is off and it is taken."""

        session: list[AsyncConnection] = []

        async def take(conn: AsyncConnection) -> bool:
            session.append(conn)
            if wait:
                await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
                return True
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            return bool((await cur.fetchone())[0])

        async def give_back(conn: AsyncConnection, held: bool) -> None:
            if held:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

        async with self._advisory_session(take, give_back) as held:
            if not held:
                yield held
                return
            with postgres_turnfence.holding(session[0]):
                yield held

    @asynccontextmanager
    async def session_try_locks(self, keys: list[int]) -> AsyncIterator[set[int]]:
        """Try advisory locks `keys` without waiting, on one connection; yield the ones taken.

        For batch jobs (cleanup): one connection and two round trips for a whole
        batch instead of one connection per lock.
        """

        if not keys:
            yield set()
            return

        async def take(conn: AsyncConnection) -> set[int]:
            cur = await conn.execute(
                "SELECT k FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_lock(k)", (keys,)
            )
            return {key for (key,) in await cur.fetchall()}

        async def give_back(conn: AsyncConnection, held: set[int]) -> None:
            if held:
                await conn.execute(
                    "SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k", (list(held),)
                )

        async with self._advisory_session(take, give_back) as held:
            yield held
