"""PostgreSQL holds the thread registry, the users and LangGraph's checkpoints for many replicas.

Two psycopg connection pools per process: `pool` runs the queries (registry,
users, checkpointer); `turn_pool` gives each running turn one connection that
holds the thread's advisory lock for the turn's duration, and carries the
turn's own reads and writes (see `locked_session`): the lock, the registry row
and the latest checkpoint in one round trip, the turn's writes in one
transaction on the session that holds the lock. Keeping the pools apart means
turns holding locks can never starve the other queries those turns need (a
first run's metadata stamp, run rows, a graph's own checkpoint reads).
A process therefore runs at most `turn_pool_size` turns at once (the rest
queue for a connection), and opens at most `pool_size + turn_pool_size`
connections to the server.

Advisory locks are session-level: if a replica dies, the server ends its
sessions and every lock it held is released.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncClientCursor, AsyncConnection
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from threaddesk.errors import StorageUnavailable
from threaddesk.storage.postgres import turnfence
from threaddesk.storage.postgres.migrations import migrate
from threaddesk.storage.postgres.pool import FailFastPool, Reachability

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
DEFAULT_SCHEMA = "public"


def turn_key(schema: str, thread_id: str) -> int:
    """The advisory lock key of `thread_id`'s turns for the deployment whose tables are in `schema`.

    Advisory locks belong to the whole database, not to a schema: two deployments in two schemas
    of one database (or two test runs) would otherwise hold each other's threads of the same id.
    In the default schema the key stays `advisory_key(thread_id)`, as before schemas counted, so
    replicas of older and newer versions there still exclude each other.
    """
    if schema == DEFAULT_SCHEMA:
        return advisory_key(thread_id)
    return advisory_key(f"schema:{schema}\x00{thread_id}")  # no identifier holds a NUL


class Batch:
    """Statements bound on the client and sent as ONE simple query: one message, one round trip,
    one transaction (PostgreSQL runs a multi-statement query as a single implicit transaction, so
    an error in any statement rolls back every one: no BEGIN, COMMIT or ROLLBACK to send).

    Cheaper for the driver than the same statements pipelined (measured: 0.12 vs 0.3-0.5 ms of CPU
    for a dozen): psycopg sends and accounts for a pipelined statement one at a time. Values are
    quoted by psycopg (`mogrify`), as its client-side cursors do. The first statement's rows are
    the cursor's after `run()`.
    """

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.cursor = AsyncClientCursor(conn, row_factory=dict_row)
        self.statements: list[str] = []

    def add(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> None:
        self.statements.append(self.cursor.mogrify(sql, params))

    async def run(self) -> AsyncClientCursor[DictRow]:
        await self.cursor.execute(";\n".join(self.statements), prepare=False)
        return self.cursor


class PostgresDatabase:
    """The pools a process uses, opened (and the schema migrated) by `open()`."""

    def __init__(self, url: str, *, pool_size: int = 10, turn_pool_size: int = 10) -> None:
        self.url = url
        # Both pools fail fast while the server is down, and recover fast after (see pool.py).
        # Typed as what CONNECTION_KWARGS makes of its connections (dict rows).
        self.reachability = Reachability()
        self.pool: AsyncConnectionPool[DictConnection] = FailFastPool[DictConnection](
            url,
            reachability=self.reachability,
            min_size=1,
            max_size=pool_size,
            kwargs=CONNECTION_KWARGS,
            open=False,
            name="threaddesk",
        )
        self.turn_pool: AsyncConnectionPool[DictConnection] = FailFastPool[DictConnection](
            url,
            reachability=self.reachability,
            min_size=1,
            max_size=turn_pool_size,
            kwargs=CONNECTION_KWARGS,  # a turn's registry and checkpoint statements run on it too
            open=False,
            name="threaddesk-turns",
            # A turn queues here while other turns run: wait as long as a turn may take.
            timeout=600,
        )
        self.migrations_applied: list[str] = []
        self.schema = DEFAULT_SCHEMA  # where the tables are (`current_schema()`), read by `open()`

    def turn_key(self, thread_id: str) -> int:
        """The advisory lock key of `thread_id`'s turns on this database (see `turn_key`)."""
        return turn_key(self.schema, thread_id)

    def unavailable(self, exc: Exception, doing: str = "PostgreSQL") -> StorageUnavailable:
        """The driver's error `exc` as threaddesk's, saying what failed and where (password redacted).

        A lost connection (an error with no SQLSTATE: the server did not answer)
        also marks the server unreachable, so the requests after it fail fast.
        """
        if (
            isinstance(exc, psycopg.OperationalError)
            and not isinstance(exc, PoolTimeout)
            and not exc.sqlstate
        ):
            self.reachability.failed()
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
                row = await (await conn.execute("SELECT current_schema() AS name")).fetchone()
                self.schema = row["name"] if row and row["name"] else DEFAULT_SCHEMA
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

    @contextmanager
    def on_lock_session(self, conn: DictConnection, doing: str = "PostgreSQL") -> Iterator[None]:
        """Statements on the session holding a turn's lock: errors leave as `StorageUnavailable`, and
        one that ended the session says the turn lost its lock (PostgreSQL released it with the
        session, so another replica may be in a turn on the thread now)."""
        try:
            yield
        except (psycopg.Error, PoolTimeout, StorageUnavailable) as exc:
            error = exc if isinstance(exc, StorageUnavailable) else self.unavailable(exc, doing)
            if conn.closed:
                raise StorageUnavailable(
                    f"the turn lost its lock (its connection ended: {one_line(exc)}); not written"
                ) from exc
            if error is exc:
                raise
            raise error from exc

    @asynccontextmanager
    async def _advisory_session(
        self,
        take: Callable[[DictConnection], Awaitable[T]],
        give_back: Callable[[DictConnection, T], Awaitable[object]],
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
    async def locked_session(
        self,
        key: int,
        *,
        wait: bool,
        read: Callable[[Batch], object],
    ) -> AsyncIterator[tuple[DictConnection, AsyncClientCursor[DictRow]] | None]:
        """Hold advisory lock `key` on a turn connection, and the statements `read` adds to the lock's
        `Batch` read there in the same round trip.

        The server runs the reads only once the lock is granted, so they see
        every write the previous holder committed. Yields the session (for the
        holder's writes, which then need no separate check that the lock is
        still held: a write on a lost session fails) and the cursor, on the
        first read's result (`nextset()` for the next); or None, if `wait` is
        off and another session holds the lock (what was read is then dropped).
        """

        async def take(conn: DictConnection) -> tuple[DictConnection, AsyncClientCursor[DictRow]] | None:
            batch = Batch(conn)
            if wait:
                batch.add("SELECT pg_advisory_lock(%s) AS held", (key,))
            else:
                batch.add("SELECT pg_try_advisory_lock(%s) AS held", (key,))
            read(batch)
            cur = await batch.run()
            row = await cur.fetchone()  # pg_advisory_lock's void is NULL: it returned, so it is held
            if not wait and not (row is not None and row["held"]):
                return None
            cur.nextset()
            return conn, cur

        async def give_back(conn: DictConnection, taken: object) -> None:
            if taken is not None:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

        async with self._advisory_session(take, give_back) as taken:
            if taken is None:
                yield None
                return
            with turnfence.holding(taken[0]):  # other checkpoint writes check this session is alive
                yield taken

    @asynccontextmanager
    async def session_lock(self, key: int, *, wait: bool) -> AsyncIterator[bool]:
        """Hold advisory lock `key` on its own connection; yield False if `wait` is off and it is taken."""

        async with self.locked_session(key, wait=wait, read=lambda batch: None) as taken:
            yield taken is not None

    @asynccontextmanager
    async def session_try_locks(self, keys: list[int]) -> AsyncIterator[set[int]]:
        """Try advisory locks `keys` without waiting, on one connection; yield the ones taken.

        For batch jobs (cleanup): one connection and two round trips for a whole
        batch instead of one connection per lock.
        """

        if not keys:
            yield set()
            return

        async def take(conn: DictConnection) -> set[int]:
            cur = await conn.execute(
                "SELECT k FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_lock(k)", (keys,)
            )
            return {row["k"] for row in await cur.fetchall()}

        async def give_back(conn: DictConnection, held: set[int]) -> None:
            if held:
                await conn.execute(
                    "SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k", (list(held),)
                )

        async with self._advisory_session(take, give_back) as held:
            yield held
