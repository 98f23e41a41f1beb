"""Runs as a table in the SQLite file (schema: `threaddesk.storage.sqlite.migrations.MIGRATIONS`)."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from threaddesk.runs.interfaces import RunStore
from threaddesk.runs.models import Run, RunStatus, stopped_error
from threaddesk.runs.queue import Claim, FreshClaims
from threaddesk.storage.sqlite.database import SqliteDatabase

_COLUMNS = (
    "run_id, thread_id, assistant_id, status, metadata, kwargs, multitask_strategy, error,"
    " created_at, updated_at, lease_until"
)
_QUEUE_COLUMNS = "payload IS NOT NULL, not_before, attempts, worker"
_READ = f"{_COLUMNS}, {_QUEUE_COLUMNS}"
# A queued run a worker may take (see `RunStore.claim`): a pending run whose time has come, first of
# its thread's pending runs, on a thread running nothing; or one left running by a dead process
# (a retry; past MAX_ATTEMPTS the worker only rolls it back and marks it `error`).
_CLAIMABLE = """
    (r.status = 'running' AND r.lease_until < :now AND r.payload IS NOT NULL)
    OR (r.status = 'pending' AND r.payload IS NOT NULL AND r.not_before <= :now AND NOT EXISTS (
        SELECT 1 FROM threaddesk_runs o
        WHERE o.thread_id = r.thread_id AND o.status IN ('pending', 'running') AND o.run_id != r.run_id
        AND (o.status = 'running' OR o.not_before < r.not_before
             OR (o.not_before = r.not_before AND o.run_id < r.run_id))))
"""
# Rows left unfinished by dead processes that cannot be retried (not queued: their client is gone).
# Queued ones out of attempts are claimed like the others; their worker gives them up (`error`).
_GIVEN_UP = """
    status IN ('pending', 'running') AND lease_until < :now AND payload IS NULL
"""


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _row(row: tuple) -> Run:
    run_id, thread_id, assistant_id, status, metadata, kwargs, strategy, error, created, updated, lease = row[
        :11
    ]
    queued, not_before, attempts, worker = row[11:15]
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
        queued=bool(queued),
        not_before=_ts(not_before),
        attempts=attempts,
        worker=worker,
    )


class SqliteRunStore(RunStore):
    def __init__(self, database: SqliteDatabase) -> None:
        self.db = database
        self._fresh = FreshClaims()  # claims whose `start` needs no second write

    async def insert(self, run: Run) -> None:
        values = self._values(run)
        await self.db.run(
            lambda conn: conn.execute(
                f"INSERT INTO threaddesk_runs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values
            )
        )

    @staticmethod
    def _values(run: Run) -> tuple:
        lease = None if run.lease_until is None else run.lease_until.timestamp()
        return (
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

    async def finish(self, run_id: str, status: RunStatus, at: datetime, error: str | None = None) -> None:
        self._fresh.forget(run_id)
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE threaddesk_runs SET status = ?, error = ?, updated_at = ?, lease_until = NULL"
                " WHERE run_id = ?",
                (status.value, error, at.timestamp(), run_id),
            )
        )

    async def start(
        self, run_id: str, lease_until: datetime, at: datetime, worker: str | None = None
    ) -> bool:
        if self._fresh.started(run_id, worker, at):  # claimed by that worker moments ago: still its own
            return True
        where, params = "run_id = ? AND status = 'pending'", [run_id]
        if worker is not None:
            where = "run_id = ? AND worker = ? AND status IN ('pending', 'running')"
            params.append(worker)
        cursor = await self.db.run(
            lambda conn: conn.execute(
                f"UPDATE threaddesk_runs SET status = ?, lease_until = ?, updated_at = ? WHERE {where}",
                (RunStatus.RUNNING.value, lease_until.timestamp(), at.timestamp(), *params),
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
        row = await self.db.run_inline(  # joiners read it often: no worker-thread hop when free
            lambda conn: conn.execute(
                f"SELECT {_READ} FROM threaddesk_runs WHERE run_id = ? AND thread_id = ?",
                (run_id, thread_id),
            ).fetchone()
        )
        return None if row is None else _row(row)

    async def get_among(self, run_ids: Sequence[str]) -> dict[str, Run]:
        ids = json.dumps(list(run_ids))
        rows = await self.db.run_inline(
            lambda conn: conn.execute(
                f"SELECT {_READ} FROM threaddesk_runs WHERE run_id IN (SELECT value FROM json_each(?))",
                (ids,),
            ).fetchall()
        )
        return {run.run_id: run for run in map(_row, rows)}

    async def list(
        self, thread_id: str, *, limit: int, offset: int, status: RunStatus | None = None
    ) -> builtins.list[Run]:
        where, params = "thread_id = ?", [thread_id]
        if status is not None:
            where += " AND status = ?"
            params.append(status.value)
        rows = await self.db.run(
            lambda conn: conn.execute(
                f"SELECT {_READ} FROM threaddesk_runs WHERE {where}"
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

    async def enqueue(self, run: Run, payload: bytes) -> None:
        not_before = (run.not_before or run.created_at).timestamp()
        values = self._values(run)

        def add(conn: sqlite3.Connection) -> None:  # one transaction: never a pending row without its request
            conn.execute(f"INSERT INTO threaddesk_runs ({_COLUMNS}) VALUES ({', '.join('?' * 11)})", values)
            conn.execute(
                "UPDATE threaddesk_runs SET payload = ?, not_before = ? WHERE run_id = ?",
                (payload, not_before, run.run_id),
            )

        await self.db.run(add)

    async def claim_many(
        self, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> builtins.list[Claim]:
        args = {"now": now.timestamp(), "limit": limit}
        # A read first: an idle queue costs no write lock on the file (other processes poll it too),
        # and no worker-thread hop when the connection is free.
        due = await self.db.run_inline(
            lambda conn: conn.execute(
                "SELECT 1 FROM threaddesk_runs WHERE (status = 'pending' AND not_before <= :now)"
                " OR (status IN ('pending', 'running') AND lease_until < :now) LIMIT 1",
                args,
            ).fetchone()
        )
        if due is None:
            return []

        def take(conn: sqlite3.Connection) -> list[Claim]:
            # BEGIN IMMEDIATE: the file's write lock from the first read, so no other process can
            # claim between our choice and our update.
            if conn.in_transaction:
                conn.commit()
            conn.execute("BEGIN IMMEDIATE")
            for row in conn.execute(
                f"SELECT {_READ} FROM threaddesk_runs WHERE {_GIVEN_UP}", args
            ).fetchall():
                dead = _row(row)
                conn.execute(
                    "UPDATE threaddesk_runs SET status = 'error', error = ?, lease_until = NULL,"
                    " updated_at = ?"
                    " WHERE run_id = ?",
                    (stopped_error(dead), args["now"], dead.run_id),
                )
            # One read of the table: a thread's second pending run is not claimable beside its first
            # (NOT EXISTS sees the first pending), so the runs taken hold one per thread.
            ids = [
                row[0]
                for row in conn.execute(
                    f"SELECT r.run_id FROM threaddesk_runs r WHERE {_CLAIMABLE}"
                    " ORDER BY r.not_before, r.run_id LIMIT :limit",
                    args,
                ).fetchall()
            ]
            claims = []
            for run_id in ids:
                conn.execute(
                    "UPDATE threaddesk_runs SET status = 'running', worker = ?, lease_until = ?,"
                    " updated_at = ?, attempts = attempts + 1 WHERE run_id = ?",
                    (worker, lease_until.timestamp(), args["now"], run_id),
                )
                claimed = conn.execute(
                    f"SELECT {_READ}, payload FROM threaddesk_runs WHERE run_id = ?", (run_id,)
                ).fetchone()
                claims.append(Claim(_row(claimed), claimed[-1]))
            return claims

        claims = await self.db.run(take)
        for claim in claims:
            self._fresh.claimed(claim.run.run_id, worker, now, lease_until)
        return claims

    async def release(self, run_id: str, worker: str, at: datetime) -> None:
        self._fresh.forget(run_id)
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE threaddesk_runs SET status = 'pending', worker = NULL, lease_until = NULL,"
                " error = NULL,"
                " attempts = MAX(attempts - 1, 0), updated_at = ?"
                " WHERE run_id = ? AND worker = ? AND status IN ('pending', 'running', 'interrupted')",
                (at.timestamp(), run_id, worker),
            )
        )
