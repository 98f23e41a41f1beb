"""LangGraph's `AsyncPostgresStore` (long-term memory, the `/store` API) on the backend's query pool."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from langgraph.store.base import Op, Result
from langgraph.store.postgres import AsyncPostgresStore
from psycopg_pool import PoolTimeout

from threaddesk.storage.postgres.database import PostgresDatabase


class PooledPostgresStore(AsyncPostgresStore):
    """The stock store over the shared pool; driver failures become `StorageUnavailable`."""

    def __init__(self, database: PostgresDatabase) -> None:
        super().__init__(database.pool)
        self.database = database

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        try:
            return await super().abatch(ops)
        except (psycopg.Error, PoolTimeout) as exc:
            raise self.database.unavailable(exc, "store call failed on PostgreSQL") from exc
