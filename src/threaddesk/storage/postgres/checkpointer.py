"""LangGraph's PostgreSQL saver over the backend's query pool, speaking threaddesk's errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import PoolTimeout

from threaddesk.storage.postgres import turnfence
from threaddesk.storage.postgres.database import Batch, PostgresDatabase
from threaddesk.threads.interfaces import PrunableSaver

# `keep_latest` with any `keep`, one thread per transaction (a turn's prune too): the checkpoints past the
# `keep` newest of each namespace, then the writes and channel blobs nothing kept refers to.
_PRUNE_KEEP_N = (
    """
    DELETE FROM checkpoints AS c USING (
        SELECT checkpoint_ns, checkpoint_id FROM (
            SELECT checkpoint_ns, checkpoint_id, row_number() OVER (
                PARTITION BY checkpoint_ns ORDER BY checkpoint_id DESC) AS newest
            FROM checkpoints WHERE thread_id = %(thread_id)s) AS ranked
        WHERE newest > %(keep)s) AS old
    WHERE c.thread_id = %(thread_id)s
    AND c.checkpoint_ns = old.checkpoint_ns AND c.checkpoint_id = old.checkpoint_id
    """,
    """
    DELETE FROM checkpoint_writes AS w WHERE w.thread_id = %(thread_id)s AND NOT EXISTS (
        SELECT 1 FROM checkpoints AS c WHERE c.thread_id = w.thread_id
        AND c.checkpoint_ns = w.checkpoint_ns AND c.checkpoint_id = w.checkpoint_id)
    """,
    """
    DELETE FROM checkpoint_blobs AS b WHERE b.thread_id = %(thread_id)s AND NOT EXISTS (
        SELECT 1 FROM checkpoints AS c WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
        AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version)
    """,
)


# `AsyncPostgresSaver.aget_tuple`'s condition for a thread's latest checkpoint (no checkpoint_id).
_LATEST = "WHERE thread_id = %s AND checkpoint_ns = %s ORDER BY checkpoint_id DESC LIMIT 1"

# A connection the saver's statements run on instead of one of its pool's (a turn phase's).
_on_conn: ContextVar[AsyncConnection[DictRow] | None] = ContextVar("threaddesk_saver_conn", default=None)


@dataclass
class _Put:
    """A checkpoint as `aput` would write it: its blob rows and its checkpoints row."""

    blobs: list[tuple[Any, ...]]
    checkpoint: tuple[Any, ...]


@dataclass
class _Turn:
    """A thread in a turn (see `TurnBatching`): its latest checkpoint as read with the registry
    row (served once), the checkpoints held back until the turn is recorded, and whether anything
    else was written meanwhile (then nothing more is held back)."""

    primed: list[CheckpointTuple | None]
    held: list[_Put] = field(default_factory=list)
    mixed: bool = False


class PooledPostgresSaver(AsyncPostgresSaver, PrunableSaver):
    """LangGraph's `AsyncPostgresSaver` that uses its pool concurrently and prunes to `keep`.

    The stock saver takes one `asyncio.Lock` around every operation, even over a
    pool, so a process runs one checkpoint query at a time (langgraph#7259). A
    semaphore as wide as the pool keeps the bound without the serialisation.
    Driver errors leave as `StorageUnavailable`, whoever called (the graph, in
    the middle of a turn, or the thread manager).
    """

    def __init__(self, database: PostgresDatabase, **kwargs: Any) -> None:
        super().__init__(database.pool, **kwargs)
        self.database = database
        self.lock = asyncio.Semaphore(database.pool.max_size)  # type: ignore[assignment]
        self._turns: dict[str, _Turn] = {}

    @asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[AsyncCursor[DictRow]]:
        conn = _on_conn.get()
        if conn is None:
            async with super()._cursor(pipeline=pipeline) as cur:
                yield cur
            return
        async with conn.cursor(binary=True, row_factory=dict_row) as cur:
            yield cur

    # A turn's phases (`TurnBatching`, through `PostgresRegistry`), with the thread's turn lock held.

    def add_latest(self, batch: Batch, thread_id: str) -> None:
        """Add the stock saver's read of the thread's latest checkpoint to `batch`; its row goes to
        `latest_from`."""
        batch.add(self.SELECT_SQL + _LATEST, (thread_id, ""))

    async def latest_from(
        self, conn: AsyncConnection[DictRow], value: DictRow | None, thread_id: str
    ) -> CheckpointTuple | None:
        """The checkpoint in `value`, a row `add_latest` read (a checkpoint from before LangGraph's
        format 4 with a parent is read again the stock way, which also migrates its pending sends)."""
        if value is None:
            return None
        if value["checkpoint"]["v"] < 4 and value["parent_checkpoint_id"]:
            return await self.latest_on(conn, thread_id)
        return await self._load_checkpoint_tuple(value)

    async def latest_on(self, conn: AsyncConnection[DictRow], thread_id: str) -> CheckpointTuple | None:
        """The thread's latest checkpoint, read on `conn` the stock saver's way."""
        token = _on_conn.set(conn)
        try:
            return await AsyncPostgresSaver.aget_tuple(
                self, {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            )
        finally:
            _on_conn.reset(token)

    def open_turn(self, thread_id: str, latest: CheckpointTuple | None) -> None:
        """Hold the thread's checkpoints back until the turn is recorded; serve `latest` once."""
        self._turns[thread_id] = _Turn([latest])

    def held(self, thread_id: str) -> tuple[list[_Put], bool]:
        turn = self._turns.get(thread_id)
        return ([], False) if turn is None else (list(turn.held), turn.mixed)

    def written(self, thread_id: str, puts: list[_Put]) -> None:
        turn = self._turns.get(thread_id)
        if turn is not None and puts:
            turn.held = turn.held[len(puts) :]

    def close_turn(self, thread_id: str) -> list[_Put]:
        turn = self._turns.pop(thread_id, None)
        return [] if turn is None else turn.held

    def add_puts(self, batch: Batch, puts: list[_Put]) -> None:
        """The held checkpoints' statements, added to `batch` (the caller's transaction)."""
        for put in puts:
            for blob in put.blobs:
                batch.add(self.UPSERT_CHECKPOINT_BLOBS_SQL, blob)
            batch.add(self.UPSERT_CHECKPOINTS_SQL, put.checkpoint)

    async def write_held(self, puts: list[_Put], *, on: AsyncConnection[DictRow] | None = None) -> None:
        """Write checkpoints held back, in one transaction, fenced by the turn's lock.

        On `on`, the session holding the turn's lock, the write itself is the fence.
        """
        if on is not None:
            with self.database.on_lock_session(on, "checkpoint write failed on PostgreSQL"):
                batch = Batch(on)
                self.add_puts(batch, puts)
                await batch.run()
            return
        await turnfence.check_lock_held()
        with self._translated("write"):
            async with self.database.connection() as conn:
                batch = Batch(conn)
                self.add_puts(batch, puts)
                await batch.run()

    def _put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> _Put | None:
        """What `AsyncPostgresSaver.aput` writes, computed now (the graph may reuse its objects);
        None for a checkpoint with delta channels, which only the stock `aput` writes."""
        configurable = config["configurable"]
        thread_id, checkpoint_ns = configurable["thread_id"], configurable["checkpoint_ns"]
        copy = checkpoint.copy()
        copy["channel_values"] = copy["channel_values"].copy()
        blob_values = {}
        for key, value in checkpoint["channel_values"].items():
            if isinstance(value, _DeltaSnapshot):
                return None
            if value is None or isinstance(value, str | int | float | bool):
                continue
            blob_values[key] = copy["channel_values"].pop(key)
        blob_versions = {k: v for k, v in new_versions.items() if k in blob_values}
        blobs = []
        if blob_versions:
            blobs = self._dump_blobs(thread_id, checkpoint_ns, blob_values, blob_versions)
        row = (
            thread_id,
            checkpoint_ns,
            checkpoint["id"],
            configurable.get("checkpoint_id"),
            Jsonb(copy),
            Jsonb(get_serializable_checkpoint_metadata(config, metadata)),
        )
        return _Put(blobs, row)

    async def _settle(self, thread_id: str, *, mixed: bool = False) -> None:
        """Before any other operation on a thread in a turn: write what it holds back (as the stock
        saver would have by now) and forget the primed read."""
        turn = self._turns.get(thread_id)
        if turn is None:
            return
        turn.primed = []
        turn.mixed = turn.mixed or mixed
        if turn.held:
            puts = list(turn.held)
            await self.write_held(puts)
            self.written(thread_id, puts)

    @contextmanager
    def translated(self, doing: str) -> Iterator[None]:
        """Driver errors in the block leave as `StorageUnavailable` ("checkpoint <doing> failed")."""
        with self._translated(doing):
            yield

    @contextmanager
    def _translated(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (psycopg.Error, PoolTimeout) as exc:
            raise self.database.unavailable(exc, f"checkpoint {doing} failed on PostgreSQL") from exc

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        turn = self._turns.get(thread_id)
        if turn is not None:
            if (
                turn.primed
                and not turn.held
                and not get_checkpoint_id(config)
                and configurable.get("checkpoint_ns", "") == ""
            ):
                return turn.primed.pop()
            await self._settle(thread_id)
        with self._translated("read"):
            return await super().aget_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        if config is not None:
            await self._settle(str(config["configurable"]["thread_id"]))
        else:
            for thread_id in list(self._turns):
                await self._settle(thread_id)
        with self._translated("listing"):
            async for item in super().alist(config, filter=filter, before=before, limit=limit):
                yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        turn = self._turns.get(thread_id)
        put = None
        if turn is not None and configurable["checkpoint_ns"] == "" and not turn.mixed:
            put = self._put(config, checkpoint, metadata, new_versions)
        if turn is not None and put is not None:
            turn.primed = []
            turn.held.append(put)
            return {
                "configurable": {
                    "thread_id": configurable["thread_id"],
                    "checkpoint_ns": "",
                    "checkpoint_id": checkpoint["id"],
                }
            }
        await self._settle(thread_id, mixed=True)
        await turnfence.check_lock_held()  # never write a turn whose lock was lost
        with self._translated("write"):
            return await super().aput(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._settle(str(config["configurable"]["thread_id"]), mixed=True)
        await turnfence.check_lock_held()
        with self._translated("write"):
            await super().aput_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._settle(str(thread_id), mixed=True)
        with self._translated("delete"):
            await super().adelete_thread(thread_id)

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int = 1
    ) -> None:
        """LangGraph's prune for `keep=1` and `"delete"`; for `keep` > 1, the same per namespace.

        Safe here because threaddesk's graph has no `DeltaChannel` or subgraph:
        each checkpoint holds (or references) full channel values and needs no
        ancestor to be read back.
        """
        if keep < 1:
            raise ValueError("keep must be at least 1: the latest checkpoint is never pruned")
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}")
        if isinstance(thread_ids, str):
            raise TypeError("thread_ids must be a sequence of thread IDs, not a str")
        for thread_id in thread_ids:
            await self._settle(str(thread_id))
        with self._translated("prune"):
            if strategy == "delete" or keep == 1:
                await super().aprune(thread_ids, strategy=strategy)
                return
            for thread_id in thread_ids:
                async with self.database.connection() as conn, conn.transaction():
                    for sql in _PRUNE_KEEP_N:
                        await conn.execute(sql, {"thread_id": str(thread_id), "keep": keep})
