"""Runs as a table in the SQLite file (schema: `threaddesk.storage.sqlite.migrations.MIGRATIONS`)."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from threaddesk.runs.interfaces import RunStore
from threaddesk.runs.models import Run, RunStatus
from threaddesk.storage.sqlite.database import SqliteDatabase

_COLUMNS = (
    "run_id, thread_id, assistant_id, status, metadata, kwargs, multitask_strategy, error,"
    " created_at, updated_at, lease_until"
)


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _row(row: tuple) -> Run:
    run_id, thread_id, assistant_id, status, metadata, kwargs, strategy, error, created, updated, lease = row
    return Run(
        run_id=run_id,
        thread_id=thread_id,
        assistant_id=assistant_id,
        status=RunStatus(status),
        created_at=_ts(created),  # type: ignore[arg-type]
        updated_at=_ts(updated),  # type: ignore[arg-type]
        lease_until=_ts(lease),
        metadata=json.loads(metadata),
        kwargs=json.loads(kwargs),
        multitask_strategy=strategy,
        error=error,
    )


class SqliteRunStore(RunStore):
    def __init__(self, database: SqliteDatabase) -> None:
        self.db = database

    async def insert(self, run: Run) -> None:
        lease = None if run.lease_until is None else run.lease_until.timestamp()
        values = (
            run.run_id,
            run.thread_id,
            run.assistant_id,
            run.status.value,
            json.dumps(run.metadata),
            json.dumps(run.kwargs),
            run.multitask_strategy,
            run.error,
            run.created_at.timestamp(),
            run.updated_at.timestamp(),
            lease,
        )
        await self.db.run(
            lambda conn: conn.execute(
                f"INSERT INTO threaddesk_runs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values
            )
        )

    async def finish(self, run_id: str, status: RunStatus, at: datetime, error: str | None = None) -> None:
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE threaddesk_runs SET status = ?, error = ?, updated_at = ?, lease_until = NULL"
                " WHERE run_id = ?",
                (status.value, error, at.timestamp(), run_id),
            )
        )

    async def start(self, run_id: str, lease_until: datetime, at: datetime) -> bool:
        cursor = await self.db.run(
            lambda conn: conn.execute(
                "UPDATE threaddesk_runs SET status = ?, lease_until = ?, updated_at = ?"
                " WHERE run_id = ? AND status = 'pending'",
                (RunStatus.RUNNING.value, lease_until.timestamp(), at.timestamp(), run_id),
            )
        )
        return cursor.rowcount > 0

    async def renew(self, run_id: str, lease_until: datetime, at: datetime) -> None:
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE threaddesk_runs SET lease_until = ?, updated_at = ?"
                " WHERE run_id = ? AND status IN ('pending', 'running')",
                (lease_until.timestamp(), at.timestamp(), run_id),
            )
        )

    async def get(self, thread_id: str, run_id: str) -> Run | None:
        row = await self.db.run(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM threaddesk_runs WHERE run_id = ? AND thread_id = ?",
                (run_id, thread_id),
            ).fetchone()
        )
        return None if row is None else _row(row)

    async def list(
        self, thread_id: str, *, limit: int, offset: int, status: RunStatus | None = None
    ) -> builtins.list[Run]:
        where, params = "thread_id = ?", [thread_id]
        if status is not None:
            where += " AND status = ?"
            params.append(status.value)
        rows = await self.db.run(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM threaddesk_runs WHERE {where}"
                " ORDER BY created_at DESC, run_id DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        )
        return [_row(row) for row in rows]

    async def delete(self, thread_id: str, run_id: str) -> bool:
        def delete(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "DELETE FROM threaddesk_runs WHERE run_id = ? AND thread_id = ?", (run_id, thread_id)
            )
            conn.execute(
                "DELETE FROM threaddesk_run_events WHERE run_id = ? AND thread_id = ?", (run_id, thread_id)
            )
            return cursor.rowcount > 0

        return await self.db.run(delete)

    async def delete_threads(self, thread_ids: Sequence[str]) -> None:
        ids = json.dumps(list(thread_ids))

        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM threaddesk_runs WHERE thread_id IN (SELECT value FROM json_each(?))", (ids,)
            )
            conn.execute(
                "DELETE FROM threaddesk_run_events WHERE thread_id IN (SELECT value FROM json_each(?))",
                (ids,),
            )

        await self.db.run(delete)
