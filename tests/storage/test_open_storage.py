"""`open_storage`: which backend a URL opens, and what every backend declares it can do."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.postgres import postgres_schema

from threaddesk import StorageUnavailable
from threaddesk.storage import MEMORY_URLS, open_storage
from threaddesk.storage.sqlite.database import SqliteDatabase
from threaddesk.storage.sqlite.migrations import MIGRATIONS as SQLITE_MIGRATIONS
from threaddesk.threads.interfaces import PrunableSaver


@pytest.mark.parametrize("url", sorted(MEMORY_URLS))
async def test_memory_urls_open_a_private_sqlite_database(url: str) -> None:
    first, second = await open_storage(url), await open_storage(url)
    try:
        assert isinstance(first.registry.db, SqliteDatabase) and first.registry.db.path == ":memory:"
        assert first.migrations_applied == [name for name, _ in SQLITE_MIGRATIONS]
        from threaddesk.threads.models import Thread, utc_now

        now = utc_now()
        assert await first.registry.insert(Thread("t1", "u", created_at=now, last_active_at=now))
        assert await first.registry.count() == 1
        assert await second.registry.count() == 0  # one database per open: nothing is shared
    finally:
        await first.aclose()
        await second.aclose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_every_backend_prunes_and_answers_the_readiness_probe(backend: str, tmp_path: Path) -> None:
    with postgres_schema() if backend == "postgres" else _nothing(str(tmp_path / "s.sqlite")) as url:
        storage = await open_storage(url, pool_size=2, turn_pool_size=1)
        try:
            assert storage.supports_prune and isinstance(storage.checkpointer, PrunableSaver)
            await storage.ping()
        finally:
            await storage.aclose()


async def test_a_closed_sqlite_database_fails_the_probe(tmp_path: Path) -> None:
    storage = await open_storage(str(tmp_path / "s.sqlite"))
    await storage.aclose()
    with pytest.raises(StorageUnavailable):
        await storage.ping()


async def test_an_unknown_url_is_a_clear_error() -> None:
    with pytest.raises(StorageUnavailable, match="unsupported database URL 'redis://x'"):
        await open_storage("redis://x")


class _nothing:
    def __init__(self, value: str) -> None:
        self.value = value

    def __enter__(self) -> str:
        return self.value

    def __exit__(self, *exc: object) -> None:
        return None
