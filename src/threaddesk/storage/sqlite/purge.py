"""Delete threads with everything stored for them, in one SQLite transaction; reclaim orphans.

The registry row, LangGraph's checkpoints and writes, and the archived
messages all live in one file, so one transaction on the shared connection
removes them together: a crash leaves either all of a thread or none of it.
`delete_orphans` removes what older versions (which deleted in steps) may
have left behind: checkpoints, writes and archived messages of threads with no row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

# Every table holding a thread's conversation, keyed by thread_id (LangGraph's and threaddesk's archive).
CONVERSATION_TABLES = ("checkpoints", "writes", "threaddesk_messages")


def delete_threads(
    conn: sqlite3.Connection, thread_ids: Sequence[str], inactive_before: datetime | None
) -> list[str]:
    """Delete the threads' rows (only those still idle since `inactive_before`, if given) and their data.

    Runs in the caller's transaction (`SqliteDatabase.run` commits or rolls back); returns the ids removed.
    """
    sql = "DELETE FROM threaddesk_threads WHERE thread_id IN (SELECT value FROM json_each(?))"
    params: tuple = (json.dumps(list(thread_ids)),)
    if inactive_before is not None:
        sql += " AND last_active_at < ?"
        params = (*params, inactive_before.timestamp())
    gone = [row[0] for row in conn.execute(sql + " RETURNING thread_id", params).fetchall()]
    if gone:
        removed = json.dumps(gone)
        for table in CONVERSATION_TABLES:
            conn.execute(
                f"DELETE FROM {table} WHERE thread_id IN (SELECT value FROM json_each(?))", (removed,)
            )
    return gone


def delete_orphans(conn: sqlite3.Connection) -> int:
    """Delete conversation rows whose thread is not registered; return how many threads they were."""
    orphans = {
        row[0]
        for table in CONVERSATION_TABLES
        for row in conn.execute(
            f"SELECT DISTINCT thread_id FROM {table} AS c"
            " WHERE NOT EXISTS (SELECT 1 FROM threaddesk_threads AS t WHERE t.thread_id = c.thread_id)"
        )
    }
    if orphans:
        ids = json.dumps(sorted(orphans))
        for table in CONVERSATION_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE thread_id IN (SELECT value FROM json_each(?))", (ids,))
    return len(orphans)
