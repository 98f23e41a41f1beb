"""Cancel requests on the runs table and the kept events of resumable runs, in the SQLite file.

Schema: `threaddesk.storage.sqlite.migrations` (006). See `threaddesk.runs.cancel`
and `threaddesk.runs.events` for what they are for.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from threaddesk.runs.cancel import CancelAction, CancelStore
from threaddesk.runs.events import EventLog, RunEvent
from threaddesk.runs.models import Run, RunStatus
from threaddesk.storage.sqlite.database import SqliteDatabase
from threaddesk.storage.sqlite.runs import _READ, _row


class SqliteCancelStore(CancelStore):
    def __init__(self, database: SqliteDatabase) -> None:
        self.db = database

    async def cancel_pending(self, thread_id: str, run_id: str, action: CancelAction, at: datetime) -> bool:
        def cancel(conn: sqlite3.Connection) -> bool:
            if action == "rollback":
                cursor = conn.execute(
                    "DELETE FROM threaddesk_runs WHERE run_id = ? AND thread_id = ? AND status = 'pending'",
                    (run_id, thread_id),
                )
                if cursor.rowcount:
                    conn.execute("DELETE FROM threaddesk_run_events WHERE run_id = ?", (run_id,))
            else:
                cursor = conn.execute(
                    "UPDATE threaddesk_runs SET status = 'interrupted', cancel_action = ?, updated_at = ?,"
                    " lease_until = NULL WHERE run_id = ? AND thread_id = ? AND status = 'pending'",
                    (action, at.timestamp(), run_id, thread_id),
                )
            return cursor.rowcount > 0

        return await self.db.run(cancel)

    async def request_cancel(self, thread_id: str, run_id: str, action: CancelAction) -> bool:
        cursor = await self.db.run(
            lambda conn: conn.execute(
                "UPDATE threaddesk_runs SET cancel_action = ?"
                " WHERE run_id = ? AND thread_id = ? AND status = 'running'",
                (action, run_id, thread_id),
            )
        )
        return cursor.rowcount > 0

    async def requested(self, run_id: str) -> str | None:
        row = await self.db.run_inline(
            lambda conn: conn.execute(
                "SELECT cancel_action FROM threaddesk_runs WHERE run_id = ? AND status = 'running'", (run_id,)
            ).fetchone()
        )
        return None if row is None else row[0]

    async def requested_among(self, run_ids: Sequence[str]) -> dict[str, str]:
        ids = json.dumps(list(run_ids))
        rows = await self.db.run_inline(
            lambda conn: conn.execute(
                "SELECT run_id, cancel_action FROM threaddesk_runs"
                " WHERE run_id IN (SELECT value FROM json_each(?)) AND status = 'running'"
                " AND cancel_action IS NOT NULL",
                (ids,),
            ).fetchall()
        )
        return {run_id: action for run_id, action in rows}

    async def unfinished(
        self,
        *,
        thread_id: str | None = None,
        run_ids: Sequence[str] | None = None,
        statuses: Sequence[RunStatus] = (RunStatus.PENDING, RunStatus.RUNNING),
        user_id: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[Run]:
        where = ["status IN (SELECT value FROM json_each(?))"]
        params: list[object] = [json.dumps([s.value for s in statuses])]
        if thread_id is not None:
            where.append("thread_id = ?")
            params.append(thread_id)
        if run_ids is not None:
            where.append("run_id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(run_ids)))
        if user_id is not None:
            where.append("thread_id IN (SELECT thread_id FROM threaddesk_threads WHERE user_id = ?)")
            params.append(user_id)
        rows = await self.db.run(
            lambda conn: conn.execute(
                f"SELECT {_READ} FROM threaddesk_runs WHERE {' AND '.join(where)}"
                " ORDER BY created_at, run_id LIMIT ?",
                (*params, limit),
            ).fetchall()
        )
        return [_row(row) for row in rows]


class SqliteEventLog(EventLog):
    def __init__(self, database: SqliteDatabase) -> None:
        self.db = database

    async def append(self, thread_id: str, run_id: str, events: Sequence[RunEvent]) -> None:
        rows = [(run_id, e.seq, thread_id, e.event, e.data) for e in events]
        await self.db.run(
            lambda conn: conn.executemany(
                "INSERT OR IGNORE INTO threaddesk_run_events (run_id, seq, thread_id, event, data)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        )

    async def after(self, run_id: str, seq: int, limit: int = 1000) -> list[RunEvent]:
        rows = await self.db.run(
            lambda conn: conn.execute(
                "SELECT seq, event, data FROM threaddesk_run_events WHERE run_id = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (run_id, seq, limit),
            ).fetchall()
        )
        return [RunEvent(s, e, bytes(d)) for s, e, d in rows]

    async def last(self, run_id: str) -> int:
        row = await self.db.run(
            lambda conn: conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM threaddesk_run_events WHERE run_id = ?", (run_id,)
            ).fetchone()
        )
        return int(row[0])
