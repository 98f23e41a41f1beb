"""Full-text search in PostgreSQL: a `tsvector` of every question and reply, under a GIN index.

Schema: `threaddesk.storage.postgres.migrations` (004). The `simple` text search
configuration lower-cases and does not stem, and each term matches as a word
prefix (`refund:*`), the same rules as the SQLite backend's FTS5 index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from threaddesk.storage.postgres.database import PostgresDatabase
from threaddesk.storage.postgres.threads import COLUMNS, insert_text, thread_from_row
from threaddesk.threads.interfaces import MessageIndex
from threaddesk.threads.search import IndexedMessage, SearchHit

_THREAD_COLUMNS = ", ".join(f"t.{name}" for name in COLUMNS.split(", "))


def tsquery(terms: Sequence[str]) -> str:
    """`'refund':* & 'order':*`: every term a quoted prefix, so none is read as an operator."""
    return " & ".join(f"'{term}':*" for term in terms)


class PostgresMessageIndex(MessageIndex):
    def __init__(self, database: PostgresDatabase) -> None:
        self.db = database

    async def add(self, thread_id: str, messages: Sequence[IndexedMessage]) -> None:
        async with self.db.connection() as conn, conn.transaction():
            await insert_text(conn, thread_id, messages)

    async def search(self, terms: Sequence[str], *, user_id: str | None, limit: int) -> list[SearchHit]:
        sql = (
            f"SELECT {_THREAD_COLUMNS}, m.message_id, m.role, m.body"
            " FROM threaddesk_message_text AS m JOIN threaddesk_threads AS t ON t.thread_id = m.thread_id,"
            " to_tsquery('simple', %s) AS query"
            " WHERE m.words @@ query"
        )
        params: list[Any] = [tsquery(terms)]
        if user_id is not None:
            sql += " AND t.user_id = %s"
            params.append(user_id)
        sql += " ORDER BY ts_rank(m.words, query) DESC, m.id DESC LIMIT %s"
        params.append(limit)
        async with self.db.connection() as conn:
            rows = await (await conn.execute(sql, params)).fetchall()
        return [
            SearchHit(
                thread_from_row(row),
                IndexedMessage(row["message_id"], row["role"], row["body"]),
                tuple(terms),
            )
            for row in rows
        ]
