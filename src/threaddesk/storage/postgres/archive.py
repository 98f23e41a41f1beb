"""The archive as a table in PostgreSQL (schema: `threaddesk.storage.postgres.migrations.MIGRATIONS`)."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from threaddesk.storage.postgres.database import PostgresDatabase
from threaddesk.threads.interfaces import SERDE, MessageArchive


class PostgresArchive(MessageArchive):
    def __init__(self, database: PostgresDatabase) -> None:
        self.db = database

    async def put(self, thread_id: str, start: int, messages: Sequence[BaseMessage]) -> None:
        rows = [(thread_id, start + i, *SERDE.dumps_typed(m)) for i, m in enumerate(messages)]
        async with self.db.connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO threaddesk_messages (thread_id, position, type, message)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (thread_id, position)"
                " DO UPDATE SET type = EXCLUDED.type, message = EXCLUDED.message",
                rows,
            )

    async def read(self, thread_id: str, start: int, stop: int) -> list[BaseMessage]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT type, message FROM threaddesk_messages"
                " WHERE thread_id = %s AND position >= %s AND position < %s ORDER BY position",
                (thread_id, start, stop),
            )
            rows = await cur.fetchall()
        return [SERDE.loads_typed((row["type"], bytes(row["message"]))) for row in rows]

    async def delete(self, thread_ids: Sequence[str]) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                "DELETE FROM threaddesk_messages WHERE thread_id = ANY(%s)", (list(thread_ids),)
            )
