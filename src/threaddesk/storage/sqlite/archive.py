"""The archive as a table in the SQLite file (schema: `threaddesk.storage.sqlite.migrations.MIGRATIONS`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from threaddesk.storage.sqlite.database import SqliteDatabase
from threaddesk.threads.interfaces import SERDE, MessageArchive


class SqliteArchive(MessageArchive):
    def __init__(self, database: SqliteDatabase) -> None:
        self.db = database

    async def put(self, thread_id: str, start: int, messages: Sequence[BaseMessage]) -> None:
        rows = [(thread_id, start + i, *SERDE.dumps_typed(m)) for i, m in enumerate(messages)]

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR REPLACE INTO threaddesk_messages (thread_id, position, type, message)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )

        await self.db.run(run)

    async def read(self, thread_id: str, start: int, stop: int) -> list[BaseMessage]:
        rows = await self.db.run(
            lambda conn: conn.execute(
                "SELECT type, message FROM threaddesk_messages"
                " WHERE thread_id = ? AND position >= ? AND position < ? ORDER BY position",
                (thread_id, start, stop),
            ).fetchall()
        )
        return [SERDE.loads_typed((kind, data)) for kind, data in rows]

    async def delete(self, thread_ids: Sequence[str]) -> None:
        ids = json.dumps(list(thread_ids))
        await self.db.run(
            lambda conn: conn.execute(
                "DELETE FROM threaddesk_messages WHERE thread_id IN (SELECT value FROM json_each(?))",
                (ids,),
            )
        )
