"""Cancel requests on the runs table and the kept events of resumable runs, in PostgreSQL.

Schema: `threaddesk.storage.postgres.migrations` (006). See `threaddesk.runs.cancel`
and `threaddesk.runs.events` for what they are for.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from threaddesk.runs.cancel import CancelAction, CancelStore
from threaddesk.runs.events import EventLog, RunEvent
from threaddesk.runs.models import Run, RunStatus
from threaddesk.storage.postgres.database import PostgresDatabase
from threaddesk.storage.postgres.runs import _READ, _row


class PostgresCancelStore(CancelStore):
    def __init__(self, database: PostgresDatabase) -> None:
        self.db = database

    async def cancel_pending(self, thread_id: str, run_id: str, action: CancelAction, at: datetime) -> bool:
        async with self.db.connection() as conn:
            if action == "rollback":
                cur = await conn.execute(
                    "WITH gone AS (DELETE FROM threaddesk_runs"
                    " WHERE run_id = %s AND thread_id = %s AND status = 'pending' RETURNING run_id),"
                    " events AS (DELETE FROM threaddesk_run_events WHERE run_id IN (SELECT run_id FROM gone))"
                    " SELECT count(*) AS n FROM gone",
                    (run_id, thread_id),
                )
                row = await cur.fetchone()
                return bool(row and row["n"])
            cur = await conn.execute(
                "UPDATE threaddesk_runs SET status = 'interrupted', cancel_action = %s, updated_at = %s,"
                " lease_until = NULL WHERE run_id = %s AND thread_id = %s AND status = 'pending'",
                (action, at, run_id, thread_id),
            )
            return cur.rowcount > 0

    async def request_cancel(self, thread_id: str, run_id: str, action: CancelAction) -> bool:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "UPDATE threaddesk_runs SET cancel_action = %s"
                " WHERE run_id = %s AND thread_id = %s AND status = 'running'",
                (action, run_id, thread_id),
            )
            return cur.rowcount > 0

    async def requested(self, run_id: str) -> str | None:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT cancel_action FROM threaddesk_runs WHERE run_id = %s AND status = 'running'",
                (run_id,),
            )
            row = await cur.fetchone()
        return None if row is None else row["cancel_action"]

    async def requested_among(self, run_ids: Sequence[str]) -> dict[str, str]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT run_id, cancel_action FROM threaddesk_runs"
                " WHERE run_id = ANY(%s) AND status = 'running' AND cancel_action IS NOT NULL",
                (list(run_ids),),
            )
            rows = await cur.fetchall()
        return {row["run_id"]: row["cancel_action"] for row in rows}

    async def unfinished(
        self,
        *,
        thread_id: str | None = None,
        run_ids: Sequence[str] | None = None,
        statuses: Sequence[RunStatus] = (RunStatus.PENDING, RunStatus.RUNNING),
        user_id: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[Run]:
        where = ["status = ANY(%s)"]
        params: list[object] = [[s.value for s in statuses]]
        if thread_id is not None:
            where.append("thread_id = %s")
            params.append(thread_id)
        if run_ids is not None:
            where.append("run_id = ANY(%s)")
            params.append(list(run_ids))
        if user_id is not None:
            where.append("thread_id IN (SELECT thread_id FROM threaddesk_threads WHERE user_id = %s)")
            params.append(user_id)
        async with self.db.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_READ} FROM threaddesk_runs WHERE {' AND '.join(where)}"
                " ORDER BY created_at, run_id LIMIT %s",
                (*params, limit),
            )
            rows = await cur.fetchall()
        return [_row(row) for row in rows]


class PostgresEventLog(EventLog):
    def __init__(self, database: PostgresDatabase) -> None:
        self.db = database

    async def append(self, thread_id: str, run_id: str, events: Sequence[RunEvent]) -> None:
        async with self.db.connection() as conn:
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO threaddesk_run_events (run_id, seq, thread_id, event, data)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [(run_id, e.seq, thread_id, e.event, e.data) for e in events],
                )

    async def after(self, run_id: str, seq: int, limit: int = 1000) -> list[RunEvent]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT seq, event, data FROM threaddesk_run_events WHERE run_id = %s AND seq > %s"
                " ORDER BY seq LIMIT %s",
                (run_id, seq, limit),
            )
            rows = await cur.fetchall()
        return [RunEvent(r["seq"], r["event"], bytes(r["data"])) for r in rows]

    async def last(self, run_id: str) -> int:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "SELECT COALESCE(MAX(seq), 0) AS n FROM threaddesk_run_events WHERE run_id = %s", (run_id,)
            )
            row = await cur.fetchone()
        return int(row["n"]) if row else 0
