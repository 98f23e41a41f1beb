"""LangGraph's `SqliteStore` (long-term memory, the `/store` API) in the same SQLite file, on its connection.

It shares the backend's one connection and its lock, so store writes queue
behind turns in this process instead of interleaving transactions with them;
each async call runs the store's whole batch in a worker thread (one hop).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable

from langgraph.store.base import Op, Result
from langgraph.store.sqlite import SqliteStore

from threaddesk.errors import StorageUnavailable
from threaddesk.storage.sqlite.database import SqliteDatabase

SETUP_ATTEMPTS = 5


class ThreadedSqliteStore(SqliteStore):
    def __init__(self, database: SqliteDatabase) -> None:
        super().__init__(database.conn)
        self.lock = database.lock  # type: ignore[assignment]  # one lock for every user of the connection
        self.database = database

    def setup(self) -> None:
        """The store's tables (LangGraph's own migrations), committed: its setup leaves the
        connection's transaction open, and the next batch's `BEGIN` would fail.

        Processes opening one file at once may race on LangGraph's migration rows; the
        loser finds them applied on its next try.
        """
        for attempt in range(SETUP_ATTEMPTS):
            try:
                super().setup()
                with self.lock:
                    self.conn.commit()
                return
            except sqlite3.Error as exc:
                with self.lock:
                    self.conn.rollback()
                if attempt == SETUP_ATTEMPTS - 1:
                    raise StorageUnavailable(
                        f"cannot set up the store in {self.database.path!r}: {exc}"
                    ) from exc
                time.sleep(0.1 * (attempt + 1))

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        try:
            return super().batch(ops)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"SQLite store error on {self.database.path!r}: {exc}") from exc

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))
