"""The registry as a table in PostgreSQL, beside LangGraph's checkpoint tables."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from threaddesk.errors import ThreadBusy
from threaddesk.storage.postgres import turnfence
from threaddesk.storage.postgres.checkpointer import _PRUNE_KEEP_N, PooledPostgresSaver
from threaddesk.storage.postgres.database import Batch, PostgresDatabase
from threaddesk.storage.postgres.purge import delete_orphans, delete_threads
from threaddesk.threads.interfaces import ThreadRegistry, TurnBatching, merge_metadata
from threaddesk.threads.models import PageCursor, Thread, ThreadQuery, ThreadStatus
from threaddesk.threads.search import IndexedMessage

COLUMNS = "thread_id, user_id, title, metadata, status, created_at, last_active_at, message_count"


_INSERT_TEXT = (
    "INSERT INTO threaddesk_message_text (thread_id, message_id, role, body)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (thread_id, message_id) DO NOTHING"
)


async def insert_text(conn: AsyncConnection[Any], thread_id: str, said: Sequence[IndexedMessage]) -> None:
    """Put messages in the search index (`storage.postgres.search`); one already there stays as it is."""
    async with conn.cursor() as cur:
        await cur.executemany(_INSERT_TEXT, [(thread_id, m.message_id, m.role, m.content) for m in said])


def like_escape(text: str) -> str:
    """`text` matched literally by (I)LIKE ... ESCAPE '\\' (its `%` and `_` are not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def thread_from_row(row: dict[str, Any]) -> Thread:
    return Thread(
        thread_id=row["thread_id"],
        user_id=row["user_id"],
        title=row["title"],
        metadata=row["metadata"],
        status=ThreadStatus(row["status"]),
        created_at=row["created_at"].astimezone(UTC),
        last_active_at=row["last_active_at"].astimezone(UTC),
        message_count=row["message_count"],
    )


def _filters(
    user_id: str | None,
    status: ThreadStatus | None,
    metadata: Mapping[str, Any] | None,
    ids: Sequence[str] | None = None,
) -> tuple[list[str], list[Any]]:
    """WHERE conditions (and their parameters) shared by list, search and count."""
    where: list[str] = []
    params: list[Any] = []
    if ids is not None:
        where.append("thread_id = ANY(%s)")
        params.append(list(ids))
    if user_id is not None:
        where.append("user_id = %s")
        params.append(user_id)
    if status is not None:
        where.append("status = %s")
        params.append(str(status))
    for key, value in (metadata or {}).items():
        # jsonb equality: structural (key order ignored), typed ('3' is not 3), not containment.
        where.append("metadata -> %s = %s")
        params.extend([key, Jsonb(value)])
    return where, params


_GET = f"SELECT {COLUMNS} FROM threaddesk_threads WHERE thread_id = %s"
_RECORD = (
    "UPDATE threaddesk_threads SET last_active_at = %s, message_count = %s, status = %s"
    f" WHERE thread_id = %s RETURNING {COLUMNS}"
)

# In a turn's write transaction, after `_RECORD`: an error (division by zero) if the thread's row is
# gone, which rolls the whole transaction back, since its result is read only once the transaction
# has been sent whole (one round trip).
_REQUIRE = "SELECT 1 / count(*) AS present FROM threaddesk_threads WHERE thread_id = %s"


class _Gone(Exception):
    """The thread's row vanished before its turn was recorded: roll the transaction back."""


class PostgresRegistry(ThreadRegistry, TurnBatching):
    """Schema comes from `threaddesk.storage.postgres.migrations.MIGRATIONS` (run when the database opens).

    With `saver` (the checkpointer on the same database), a turn (`held_turn`) runs on the one
    connection that holds its advisory lock: the lock, the registry row and the latest checkpoint
    in one round trip; the checkpoint, registry update, search index and prune in one transaction
    in one more (`TurnBatching`, each a `Batch`); the unlock. Three round trips, one connection.
    """

    def __init__(self, database: PostgresDatabase, saver: PooledPostgresSaver | None = None) -> None:
        self.db = database
        self.saver = saver
        self._sessions: dict[str, AsyncConnection[Any]] = {}  # a thread in `held_turn`: its lock's session

    def batches_for(self, checkpointer: object) -> bool:
        return self.saver is not None and checkpointer is self.saver

    @asynccontextmanager
    async def held_turn(self, thread_id: str, *, wait: bool) -> AsyncIterator[Thread | None]:
        """The turn on the session holding the thread's advisory lock: fewer round trips, and its
        writes fenced by the lock itself (a write on a session that has ended fails)."""
        saver = self.saver
        assert saver is not None

        def read(batch: Batch) -> None:
            batch.add(_GET, (thread_id,))
            saver.add_latest(batch, thread_id)

        async with self.db.locked_session(self.db.turn_key(thread_id), wait=wait, read=read) as taken:
            if taken is None:
                raise ThreadBusy(thread_id)
            conn, cur = taken
            with self.db.on_lock_session(conn), saver.translated("read"):
                row = await cur.fetchone()
                cur.nextset()
                latest = await saver.latest_from(conn, await cur.fetchone(), thread_id)
            saver.open_turn(thread_id, latest)
            self._sessions[thread_id] = conn
            completed = False
            try:
                yield thread_from_row(row) if row else None
                completed = True
            finally:
                try:
                    await self.close_turn(thread_id, keep_held=completed)
                finally:
                    self._sessions.pop(thread_id, None)

    async def begin_turn(self, thread_id: str) -> Thread | None:
        saver = self.saver
        assert saver is not None
        with saver.translated("read"):
            async with self.db.connection() as conn:
                batch = Batch(conn)  # one round trip for both
                batch.add(_GET, (thread_id,))
                saver.add_latest(batch, thread_id)
                cur = await batch.run()
                row = await cur.fetchone()
                cur.nextset()
                latest = await saver.latest_from(conn, await cur.fetchone(), thread_id)
        saver.open_turn(thread_id, latest)
        return thread_from_row(row) if row else None

    async def end_turn(
        self,
        thread_id: str,
        *,
        at: datetime,
        message_count: int,
        status: ThreadStatus,
        said: Sequence[IndexedMessage],
        keep_checkpoints: int,
    ) -> Thread | None:
        saver = self.saver
        assert saver is not None
        puts, _ = saver.held(thread_id)
        session = self._sessions.get(thread_id)
        try:
            if session is not None:  # the lock's own session: the write is the fence
                with self.db.on_lock_session(session, "checkpoint write failed on PostgreSQL"):
                    row = await self._end_on(
                        session, thread_id, puts, at, message_count, status, said, keep_checkpoints
                    )
            else:
                if puts:
                    await turnfence.check_lock_held()  # never write a turn whose lock was lost
                with saver.translated("write"):
                    async with self.db.connection() as conn:
                        row = await self._end_on(
                            conn, thread_id, puts, at, message_count, status, said, keep_checkpoints
                        )
        except _Gone:
            return None
        saver.written(thread_id, puts)
        return thread_from_row(row)

    async def _end_on(
        self,
        conn: AsyncConnection[Any],
        thread_id: str,
        puts: list[Any],
        at: datetime,
        message_count: int,
        status: ThreadStatus,
        said: Sequence[IndexedMessage],
        keep_checkpoints: int,
    ) -> dict[str, Any]:
        """`end_turn`'s statements on `conn`: one transaction in one message, one round trip (`Batch`).

        Whether the thread is still there is asked of the server in the transaction itself
        (`_REQUIRE`): if not, its error rolls the whole transaction back (`_Gone`).
        """
        saver = self.saver
        assert saver is not None
        batch = Batch(conn)
        batch.add(_RECORD, (at, message_count, str(status), thread_id))  # its row: the batch's result
        batch.add(_REQUIRE, (thread_id,))
        saver.add_puts(batch, puts)
        for m in said:
            batch.add(_INSERT_TEXT, (thread_id, m.message_id, m.role, m.content))
        if keep_checkpoints:  # also what a read during the turn made the saver write
            for sql in _PRUNE_KEEP_N:
                batch.add(sql, {"thread_id": thread_id, "keep": keep_checkpoints})
        try:
            cur = await batch.run()
        except psycopg.errors.DivisionByZero as exc:  # `_REQUIRE`'s: the row is gone
            raise _Gone from exc
        row: dict[str, Any] | None = await cur.fetchone()
        if row is None:  # `_REQUIRE` stops this; kept in case the row went without an error
            raise _Gone
        return row

    async def close_turn(self, thread_id: str, *, keep_held: bool) -> None:
        assert self.saver is not None
        puts = self.saver.close_turn(thread_id)
        if puts and keep_held:
            await self.saver.write_held(puts, on=self._sessions.get(thread_id))

    async def _one(self, sql: str, params: tuple | list = ()) -> dict[str, Any] | None:
        async with self.db.connection() as conn:
            return await (await conn.execute(sql, params)).fetchone()

    async def insert(self, thread: Thread) -> bool:
        row = await self._one(
            f"INSERT INTO threaddesk_threads ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (thread_id) DO NOTHING RETURNING thread_id",
            (
                thread.thread_id,
                thread.user_id,
                thread.title,
                Jsonb(thread.metadata),
                str(thread.status),
                thread.created_at,
                thread.last_active_at,
                thread.message_count,
            ),
        )
        return row is not None

    async def get(self, thread_id: str) -> Thread | None:
        row = await self._one(_GET, (thread_id,))
        return thread_from_row(row) if row else None

    async def list(
        self,
        *,
        user_id: str | None = None,
        status: ThreadStatus | None = None,
        metadata: Mapping[str, Any] | None = None,
        inactive_before: datetime | None = None,
        limit: int = 50,
        after: PageCursor | None = None,
        title: str | None = None,
    ) -> list[Thread]:
        where, params = _filters(user_id, status, metadata)
        if title is not None:
            where.append("title ILIKE %s ESCAPE '\\'")
            params.append(f"%{like_escape(title)}%")
        if inactive_before is not None:
            where.append("last_active_at < %s")
            params.append(inactive_before)
        if after is not None:
            where.append("(last_active_at, thread_id) < (%s, %s)")
            params.extend([datetime.fromtimestamp(after.last_active_at, UTC), after.thread_id])
        sql = f"SELECT {COLUMNS} FROM threaddesk_threads"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY last_active_at DESC, thread_id DESC LIMIT %s"
        params.append(limit)
        async with self.db.connection() as conn:
            return [thread_from_row(row) for row in await (await conn.execute(sql, params)).fetchall()]

    async def search(self, query: ThreadQuery) -> builtins.list[Thread]:
        where, params = _filters(query.user_id, query.status, query.metadata, query.ids)
        sql = f"SELECT {COLUMNS} FROM threaddesk_threads"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {query.order_by()} LIMIT %s OFFSET %s"
        params.extend([query.limit, query.offset])
        async with self.db.connection() as conn:
            return [thread_from_row(row) for row in await (await conn.execute(sql, params)).fetchall()]

    async def count_matching(self, query: ThreadQuery) -> int:
        where, params = _filters(query.user_id, query.status, query.metadata, query.ids)
        sql = "SELECT count(*) AS n FROM threaddesk_threads"
        if where:
            sql += " WHERE " + " AND ".join(where)
        row = await self._one(sql, params)
        return row["n"] if row else 0

    async def update(
        self,
        thread_id: str,
        *,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Thread | None:
        async with self.db.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM threaddesk_threads WHERE thread_id = %s FOR UPDATE", (thread_id,)
            )
            row = await cur.fetchone()
            if row is None:
                return None
            merged = merge_metadata(row["metadata"], metadata)
            cur = await conn.execute(
                "UPDATE threaddesk_threads SET title = %s, metadata = %s"
                f" WHERE thread_id = %s RETURNING {COLUMNS}",
                (row["title"] if title is None else title, Jsonb(merged), thread_id),
            )
            updated = await cur.fetchone()
            return None if updated is None else thread_from_row(updated)

    async def record_turn(
        self,
        thread_id: str,
        *,
        at: datetime,
        message_count: int,
        status: ThreadStatus = ThreadStatus.IDLE,
        said: Sequence[IndexedMessage] = (),
    ) -> Thread | None:
        update = (
            "UPDATE threaddesk_threads SET last_active_at = %s, message_count = %s, status = %s"
            f" WHERE thread_id = %s RETURNING {COLUMNS}"
        )
        params = (at, message_count, str(status), thread_id)
        if not said:
            row = await self._one(update, params)
            return thread_from_row(row) if row else None
        async with self.db.connection() as conn, conn.transaction():
            row = await (await conn.execute(update, params)).fetchone()
            if row is None:
                return None
            await insert_text(conn, thread_id, said)
            return thread_from_row(row)

    async def delete(self, thread_id: str, *, inactive_before: datetime | None = None) -> bool:
        # Two replicas deleting the same row: the second waits for the first, then finds nothing.
        params: tuple[object, ...]
        if inactive_before is None:
            sql, params = "DELETE FROM threaddesk_threads WHERE thread_id = %s", (thread_id,)
        else:
            sql = "DELETE FROM threaddesk_threads WHERE thread_id = %s AND last_active_at < %s"
            params = (thread_id, inactive_before)
        async with self.db.connection() as conn:
            return (await conn.execute(sql, params)).rowcount == 1

    async def delete_many(
        self, thread_ids: Sequence[str], *, inactive_before: datetime | None = None
    ) -> builtins.list[str]:
        sql = "DELETE FROM threaddesk_threads WHERE thread_id = ANY(%s)"
        params: tuple = (list(thread_ids),)
        if inactive_before is not None:
            sql += " AND last_active_at < %s"
            params = (list(thread_ids), inactive_before)
        async with self.db.connection() as conn:
            cur = await conn.execute(sql + " RETURNING thread_id", params)
            return [row["thread_id"] for row in await cur.fetchall()]

    async def purge(
        self, thread_ids: Sequence[str], *, inactive_before: datetime | None = None
    ) -> builtins.list[str] | None:
        async with self.db.connection() as conn:
            return await delete_threads(conn, thread_ids, inactive_before)

    async def reclaim_orphans(self) -> int:
        async with self.db.connection() as conn:
            return await delete_orphans(conn)

    async def ping(self) -> None:
        await self._one("SELECT 1 AS ok")

    async def count(self) -> int:
        row = await self._one("SELECT count(*) AS n FROM threaddesk_threads")
        return row["n"] if row else 0

    async def turn_held(self, thread_id: str) -> bool:
        key = self.db.turn_key(thread_id)
        row = await self._one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = %s AND objid = %s AND objsubid = 1) AS held",
            ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),  # how pg_locks shows a bigint key
        )
        return bool(row and row["held"])

    @asynccontextmanager
    async def try_turn_locks(self, thread_ids: Sequence[str]) -> AsyncIterator[builtins.list[str]]:
        keys = {self.db.turn_key(thread_id): thread_id for thread_id in thread_ids}
        async with self.db.session_try_locks(list(keys)) as held:
            yield [thread_id for key, thread_id in keys.items() if key in held]

    @asynccontextmanager
    async def turn_lock(self, thread_id: str, *, wait: bool = True) -> AsyncIterator[None]:
        """The thread's advisory lock, shared by every replica on this database."""
        async with self.db.session_lock(self.db.turn_key(thread_id), wait=wait) as held:
            if not held:
                raise ThreadBusy(thread_id)
            yield
