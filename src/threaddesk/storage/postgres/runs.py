"""Runs as a table in PostgreSQL (schema: `threaddesk.storage.postgres.migrations.MIGRATIONS`)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from threaddesk.runs.interfaces import RunStore
from threaddesk.runs.models import Run, RunStatus
from threaddesk.storage.postgres.database import PostgresDatabase

_COLUMNS = (
    "run_id, thread_id, assistant_id, status, metadata, kwargs, multitask_strategy, error,"
    " created_at, updated_at, lease_until"
)


def _row(row: dict[str, Any]) -> Run:
    return Run(
        run_id=row["run_id"],
        thread_id=row["thread_id"],
        assistant_id=row["assistant_id"],
        status=RunStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        lease_until=row["lease_until"],
        metadata=row["metadata"],
        kwargs=row["kwargs"],
        multitask_strategy=row["multitask_strategy"],
        error=row["error"],
    )


class PostgresRunStore(RunStore):
    def __init__(self, database: PostgresDatabase) -> None:
        self.db = database

    async def insert(self, run: Run) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                f"INSERT INTO threaddesk_runs ({_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    run.run_id,
                    run.thread_id,
                    run.assistant_id,
                    run.status.value,
                    Jsonb(run.metadata),
                    Jsonb(run.kwargs),
                    run.multitask_strategy,
                    run.error,
                    run.created_at,
                    run.updated_at,
                    run.lease_until,
                ),
            )

    async def finish(self, run_id: str, status: RunStatus, at: datetime, error: str | None = None) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE threaddesk_runs SET status = %s, error = %s, updated_at = %s, lease_until = NULL"
                " WHERE run_id = %s",
                (status.value, error, at, run_id),
            )

    async def start(self, run_id: str, lease_until: datetime, at: datetime) -> bool:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "UPDATE threaddesk_runs SET status = %s, lease_until = %s, updated_at = %s"
                " WHERE run_id = %s AND status = 'pending'",
                (RunStatus.RUNNING.value, lease_until, at, run_id),
            )
            return cur.rowcount > 0

    async def renew(self, run_id: str, lease_until: datetime, at: datetime) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE threaddesk_runs SET lease_until = %s, updated_at = %s"
                " WHERE run_id = %s AND status IN ('pending', 'running')",
                (lease_until, at, run_id),
            )

    async def get(self, thread_id: str, run_id: str) -> Run | None:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM threaddesk_runs WHERE run_id = %s AND thread_id = %s",
                (run_id, thread_id),
            )
            row = await cur.fetchone()
        return None if row is None else _row(row)

    async def list(
        self, thread_id: str, *, limit: int, offset: int, status: RunStatus | None = None
    ) -> builtins.list[Run]:
        where, params = "thread_id = %s", [thread_id]
        if status is not None:
            where += " AND status = %s"
            params.append(status.value)
        async with self.db.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM threaddesk_runs WHERE {where}"
                " ORDER BY created_at DESC, run_id DESC LIMIT %s OFFSET %s",
                (*params, limit, offset),
            )
            rows = await cur.fetchall()
        return [_row(row) for row in rows]

    async def delete(self, thread_id: str, run_id: str) -> bool:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM threaddesk_runs WHERE run_id = %s AND thread_id = %s", (run_id, thread_id)
            )
            await conn.execute(
                "DELETE FROM threaddesk_run_events WHERE run_id = %s AND thread_id = %s", (run_id, thread_id)
            )
            return cur.rowcount > 0

    async def delete_threads(self, thread_ids: Sequence[str]) -> None:
        async with self.db.connection() as conn:
            await conn.execute("DELETE FROM threaddesk_runs WHERE thread_id = ANY(%s)", (list(thread_ids),))
            await conn.execute(
                "DELETE FROM threaddesk_run_events WHERE thread_id = ANY(%s)", (list(thread_ids),)
            )
