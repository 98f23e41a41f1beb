"""LangGraph's PostgreSQL saver over the backend's query pool, speaking threaddesk's errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg_pool import PoolTimeout

from threaddesk.storage.postgres import turnfence
from threaddesk.storage.postgres.database import PostgresDatabase
from threaddesk.threads.interfaces import PrunableSaver

# `keep_latest` with `keep` > 1, one thread per transaction: the checkpoints past the
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

    @contextmanager
    def _translated(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (psycopg.Error, PoolTimeout) as exc:
            raise self.database.unavailable(exc, f"checkpoint {doing} failed on PostgreSQL") from exc

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
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
        await turnfence.check_lock_held()
        with self._translated("write"):
            await super().aput_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
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
        with self._translated("prune"):
            if strategy == "delete" or keep == 1:
                await super().aprune(thread_ids, strategy=strategy)
                return
            for thread_id in thread_ids:
                async with self.database.connection() as conn, conn.transaction():
                    for sql in _PRUNE_KEEP_N:
                        await conn.execute(sql, {"thread_id": str(thread_id), "keep": keep})
