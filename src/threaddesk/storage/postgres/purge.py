"""Delete threads with everything stored for them, in one PostgreSQL transaction; reclaim orphans.

The registry row, LangGraph's checkpoint tables and the archived messages are
removed in one transaction on one connection: a crash (or a lost connection)
leaves either all of a thread or none of it. `delete_orphans` removes what
older versions (which deleted in steps) may have left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from threaddesk.storage.postgres.database import DictConnection

# Every table holding a thread's conversation, keyed by thread_id (LangGraph's and threaddesk's archive).
CONVERSATION_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "threaddesk_messages")


async def delete_threads(
    conn: DictConnection, thread_ids: Sequence[str], inactive_before: datetime | None
) -> list[str]:
    """Delete the threads' rows (only those still idle since `inactive_before`, if given) and their data."""
    sql = "DELETE FROM threaddesk_threads WHERE thread_id = ANY(%s)"
    params: tuple = (list(thread_ids),)
    if inactive_before is not None:
        sql += " AND last_active_at < %s"
        params = (*params, inactive_before)
    async with conn.transaction():
        cur = await conn.execute(sql + " RETURNING thread_id", params)
        gone = [row["thread_id"] for row in await cur.fetchall()]
        if gone:
            for table in CONVERSATION_TABLES:
                await conn.execute(f"DELETE FROM {table} WHERE thread_id = ANY(%s)", (gone,))
    return gone


async def delete_orphans(conn: DictConnection) -> int:
    """Delete conversation rows whose thread is not registered; return how many threads they were."""
    async with conn.transaction():
        orphans: set[str] = set()
        for table in CONVERSATION_TABLES:
            cur = await conn.execute(
                f"DELETE FROM {table} AS c WHERE NOT EXISTS"
                " (SELECT 1 FROM threaddesk_threads AS t WHERE t.thread_id = c.thread_id)"
                " RETURNING c.thread_id"
            )
            orphans.update(row["thread_id"] for row in await cur.fetchall())
    return len(orphans)
