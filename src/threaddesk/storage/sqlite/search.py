"""Full-text search in the SQLite file: an FTS5 index over the text of every question and reply.

Schema: `threaddesk.storage.sqlite.migrations` (004). The index uses FTS5's
`unicode61` tokenizer (case folded in every script, accents kept) and matches
each term as a word prefix, like the PostgreSQL backend's `simple` configuration.
"""

from __future__ import annotations

from collections.abc import Sequence

from threaddesk.storage.sqlite.database import SqliteDatabase
from threaddesk.storage.sqlite.threads import COLUMNS, insert_text, thread_from_row
from threaddesk.threads.interfaces import MessageIndex
from threaddesk.threads.search import IndexedMessage, SearchHit

_THREAD_COLUMNS = ", ".join(f"t.{name}" for name in COLUMNS.split(", "))


def fts5_query(terms: Sequence[str]) -> str:
    """Every term as a quoted prefix (`"refund"*`): FTS5 ANDs them, and nothing is read as an operator."""
    return " ".join(f'"{term}"*' for term in terms)


class SqliteMessageIndex(MessageIndex):
    def __init__(self, database: SqliteDatabase) -> None:
        self.db = database

    async def add(self, thread_id: str, messages: Sequence[IndexedMessage]) -> None:
        await self.db.run(lambda conn: insert_text(conn, thread_id, messages))

    async def search(self, terms: Sequence[str], *, user_id: str | None, limit: int) -> list[SearchHit]:
        sql = (
            f"SELECT {_THREAD_COLUMNS}, m.message_id, m.role, m.body"
            " FROM threaddesk_message_fts"
            " JOIN threaddesk_message_text AS m ON m.id = threaddesk_message_fts.rowid"
            " JOIN threaddesk_threads AS t ON t.thread_id = m.thread_id"
            " WHERE threaddesk_message_fts MATCH ?"
        )
        params: list[object] = [fts5_query(terms)]
        if user_id is not None:
            sql += " AND t.user_id = ?"
            params.append(user_id)
        sql += " ORDER BY bm25(threaddesk_message_fts), m.id DESC LIMIT ?"
        params.append(limit)
        rows = await self.db.run(lambda conn: conn.execute(sql, params).fetchall())
        width = len(COLUMNS.split(", "))
        return [
            SearchHit(thread_from_row(row[:width]), IndexedMessage(*row[width:]), tuple(terms))
            for row in rows
        ]
