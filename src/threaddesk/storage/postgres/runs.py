"""Runs as a table in PostgreSQL (schema: `threaddesk.storage.postgres.migrations.MIGRATIONS`)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from threaddesk.runs.interfaces import RunStore
from threaddesk.runs.models import Run, RunStatus, stopped_error
from threaddesk.runs.queue import Claim, FreshClaims
from threaddesk.storage.postgres.database import PostgresDatabase

_COLUMNS = (
    "run_id, thread_id, assistant_id, status, metadata, kwargs, multitask_strategy, error,"
    " created_at, updated_at, lease_until"
)
_READ = f"{_COLUMNS}, payload IS NOT NULL AS queued, not_before, attempts, worker"
# A queued run a worker may take (see `RunStore.claim`): a pending run whose time has come, first of
# its thread's pending runs, on a thread running nothing; or one left running by a dead process
# (a retry; past MAX_ATTEMPTS the worker only rolls it back and marks it `error`).
_CLAIMABLE = """
    (r.status = 'running' AND r.lease_until < %(now)s AND r.payload IS NOT NULL)
    OR (r.status = 'pending' AND r.payload IS NOT NULL AND r.not_before <= %(now)s AND NOT EXISTS (
        SELECT 1 FROM threaddesk_runs o
        WHERE o.thread_id = r.thread_id AND o.status IN ('pending', 'running') AND o.run_id != r.run_id
        AND (o.status = 'running' OR (o.not_before, o.run_id) < (r.not_before, r.run_id))))
"""
# Rows left unfinished by dead processes that cannot be retried (not queued: their client is gone).
# Queued ones out of attempts are claimed like the others; their worker gives them up (`error`).
_GIVEN_UP = """
    status IN ('pending', 'running') AND lease_until < %(now)s AND payload IS NULL
"""


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
        queued=row["queued"],
        not_before=row["not_before"],
        attempts=row["attempts"],
        worker=row["worker"],
    )


class PostgresRunStore(RunStore):
    def __init__(self, database: PostgresDatabase) -> None:
        self.db = database
        self._fresh = FreshClaims()  # claims whose `start` needs no second write
        self._next_reap = 0.0  # when `claim` next looks for rows dead processes left (monotonic)

    async def insert(self, run: Run) -> None:
        await self._insert(run, None)

    async def enqueue(self, run: Run, payload: bytes) -> None:
        await self._insert(run, payload)

    async def _insert(self, run: Run, payload: bytes | None) -> None:
        not_before = None if payload is None else (run.not_before or run.created_at)
        async with self.db.connection() as conn:
            await conn.execute(
                f"INSERT INTO threaddesk_runs ({_COLUMNS}, payload, not_before)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
                    payload,
                    not_before,
                ),
            )

    async def finish(self, run_id: str, status: RunStatus, at: datetime, error: str | None = None) -> None:
        self._fresh.forget(run_id)
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE threaddesk_runs SET status = %s, error = %s, updated_at = %s, lease_until = NULL"
                " WHERE run_id = %s",
                (status.value, error, at, run_id),
            )

    async def start(
        self, run_id: str, lease_until: datetime, at: datetime, worker: str | None = None
    ) -> bool:
        if self._fresh.started(run_id, worker, at):  # claimed by that worker moments ago: still its own
            return True
        where, params = "run_id = %s AND status = 'pending'", [run_id]
        if worker is not None:
            where = "run_id = %s AND worker = %s AND status IN ('pending', 'running')"
            params.append(worker)
        async with self.db.connection() as conn:
            cur = await conn.execute(
                f"UPDATE threaddesk_runs SET status = %s, lease_until = %s, updated_at = %s WHERE {where}",
                (RunStatus.RUNNING.value, lease_until, at, *params),
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
                f"SELECT {_READ} FROM threaddesk_runs WHERE run_id = %s AND thread_id = %s",
                (run_id, thread_id),
            )
            row = await cur.fetchone()
        return None if row is None else _row(row)

    async def get_among(self, run_ids: Sequence[str]) -> dict[str, Run]:
        async with self.db.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_READ} FROM threaddesk_runs WHERE run_id = ANY(%s)", (list(run_ids),)
            )
            rows = await cur.fetchall()
        return {run.run_id: run for run in map(_row, rows)}

    async def list(
        self, thread_id: str, *, limit: int, offset: int, status: RunStatus | None = None
    ) -> builtins.list[Run]:
        where, params = "thread_id = %s", [thread_id]
        if status is not None:
            where += " AND status = %s"
            params.append(status.value)
        async with self.db.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_READ} FROM threaddesk_runs WHERE {where}"
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

    async def claim_many(
        self, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> builtins.list[Claim]:
        args = {"now": now, "worker": worker, "lease": lease_until, "limit": limit}
        if time.monotonic() >= self._next_reap:  # at most once a second: a claim is on every run's path
            self._next_reap = time.monotonic() + 1
            await self._reap(now)
        async with self.db.connection() as conn:
            # SKIP LOCKED: workers of other processes claiming at the same time take other runs;
            # a run another claim has just taken is re-checked on its new row (no longer claimable).
            # One statement, one snapshot: a thread's second pending run is not claimable beside its
            # first (NOT EXISTS sees the first pending), so the batch holds one run per thread.
            cur = await conn.execute(
                f"""
                WITH next AS (
                    SELECT r.run_id FROM threaddesk_runs r WHERE {_CLAIMABLE}
                    ORDER BY r.not_before, r.run_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
                )
                UPDATE threaddesk_runs t SET status = 'running', worker = %(worker)s,
                    lease_until = %(lease)s, updated_at = %(now)s, attempts = t.attempts + 1
                FROM next WHERE t.run_id = next.run_id
                RETURNING {", ".join(f"t.{c.strip()}" for c in _COLUMNS.split(","))},
                    t.payload IS NOT NULL AS queued, t.not_before, t.attempts, t.worker, t.payload
                """,
                args,
            )
            rows = await cur.fetchall()
        rows.sort(key=lambda row: (row["not_before"], row["run_id"]))  # RETURNING keeps no order
        for row in rows:
            self._fresh.claimed(row["run_id"], worker, now, lease_until)
        return [Claim(_row(row), bytes(row["payload"])) for row in rows]

    async def _reap(self, now: datetime) -> None:
        """Mark `error` the unqueued runs dead processes left (a queued one is retried instead)."""
        async with self.db.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT {_READ} FROM threaddesk_runs WHERE {_GIVEN_UP} FOR UPDATE SKIP LOCKED", {"now": now}
            )
            for dead in [_row(row) for row in await cur.fetchall()]:
                await conn.execute(
                    "UPDATE threaddesk_runs SET status = 'error', error = %s, lease_until = NULL,"
                    " updated_at = %s WHERE run_id = %s",
                    (stopped_error(dead), now, dead.run_id),
                )

    async def release(self, run_id: str, worker: str, at: datetime) -> None:
        self._fresh.forget(run_id)
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE threaddesk_runs SET status = 'pending', worker = NULL, lease_until = NULL,"
                " error = NULL,"
                " attempts = GREATEST(attempts - 1, 0), updated_at = %s"
                " WHERE run_id = %s AND worker = %s AND status IN ('pending', 'running', 'interrupted')",
                (at, run_id, worker),
            )
