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

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from threaddesk.errors import StorageUnavailable
from threaddesk.storage.postgres.migrations import migrate

T = TypeVar("T")

# A connection of the query pool: rows come back as dicts.
DictConnection = AsyncConnection[DictRow]

# What LangGraph's saver needs from its connections (see AsyncPostgresSaver.from_conn_string).
CONNECTION_KWARGS: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
CONNECT_TIMEOUT_S = 10


def redact(url: str) -> str:
    """Where the database is, without its password, for error messages and logs.

    libpq's own parser reads the URL (or `key=value` string), so a password
    in the query string (`?password=...`) goes too; the rest comes back as
    `key=value` pairs (`user=postgres host=db dbname=desk`).
    """
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "an unparsable PostgreSQL URL"
    params.pop("password", None)
    return make_conninfo("", **params)


def one_line(exc: Exception) -> str:
    """libpq's multi-line messages on one line (the CLI prints errors as one line)."""
    return " ".join(str(exc).split())


def advisory_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key: the first 8 bytes of sha256(name).

    Python's `hash()` is salted per process, so replicas would disagree on it.
    """
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


MIGRATION_LOCK = advisory_key("threaddesk:migrations")


class PostgresDatabase:
    """The pools a process uses, opened (and the schema migrated) by `open()`."""

    def __init__(self, url: str, *, pool_size: int = 10, turn_pool_size: int = 10) -> None:
        self.url = url
        # Typed as what CONNECTION_KWARGS makes of its connections (dict rows); the class stays the
        # pool's own (passing `AsyncConnection[DictRow]` as `connection_class` would change it).
        self.pool: AsyncConnectionPool[DictConnection] = cast(
            "AsyncConnectionPool[DictConnection]",
            AsyncConnectionPool(
                url, min_size=1, max_size=pool_size, kwargs=CONNECTION_KWARGS, open=False, name="threaddesk"
            ),
        )
        self.turn_pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=turn_pool_size,
            kwargs={"autocommit": True},
            open=False,
            name="threaddesk-turns",
            # A turn queues here while other turns run: wait as long as a turn may take.
            timeout=600,
        )
        self.migrations_applied: list[str] = []

    def unavailable(self, exc: Exception, doing: str = "PostgreSQL") -> StorageUnavailable:
        """The driver's error `exc` as threaddesk's, saying what failed and where (password redacted)."""
        return StorageUnavailable(f"{doing} at {redact(self.url)}: {one_line(exc)}")

    async def open(self) -> list[str]:
        """Connect, migrate, open the pools; return the migrations applied."""
        try:
            conn = await AsyncConnection.connect(
                self.url,
                connect_timeout=CONNECT_TIMEOUT_S,
                autocommit=True,
                prepare_threshold=0,
                row_factory=dict_row,
            )
        except psycopg.Error as exc:
            raise self.unavailable(exc, "cannot connect to PostgreSQL") from exc
        try:
            async with conn:
                self.migrations_applied = await migrate(conn, MIGRATION_LOCK)
            await self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            await self.turn_pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except (psycopg.Error, PoolTimeout) as exc:
            await self.close()
            raise self.unavailable(exc) from exc
        return self.migrations_applied

    async def close(self) -> None:
        await self.turn_pool.close()
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[DictConnection]:
        """A pooled connection (autocommit, dict rows); connection failures become StorageUnavailable."""
        try:
            async with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise self.unavailable(exc) from exc

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
            raise self.unavailable(exc) from exc
        try:
            try:
                held = await take(conn)
            except BaseException as exc:
                await conn.close()
                if isinstance(exc, psycopg.OperationalError):
                    raise self.unavailable(exc) from exc
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

        async def take(conn: AsyncConnection) -> bool:
            if wait:
                await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
                return True
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            row = await cur.fetchone()
            return row is not None and bool(row[0])

        async def give_back(conn: AsyncConnection, held: bool) -> None:
            if held:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

        async with self._advisory_session(take, give_back) as held:
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
