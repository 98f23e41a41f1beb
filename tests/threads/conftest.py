"""Fixtures for the thread core: a hand-moved clock, every registry backend, every storage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.postgres import recycled_postgres_schema

from threaddesk.storage import Storage, open_storage
from threaddesk.storage.sqlite.database import SqliteDatabase
from threaddesk.storage.sqlite.threads import SqliteRegistry
from threaddesk.threads import ThreadManager
from threaddesk.threads.interfaces import ThreadRegistry


class FakeClock:
    """A clock the test moves by hand, so TTLs are tested without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        # Non-zero microseconds on purpose: they must survive every backend.
        self.now = start or datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# --- registry backends -------------------------------------------------------
#
# One entry per backend; the conformance suite runs once per entry. To add a
# backend, add an async context manager factory here that
# yields a set-up registry (calling `pytest.skip` if its server is not
# reachable) and cleans up after itself.

RegistryFactory = Callable[[Path], AbstractAsyncContextManager[ThreadRegistry]]


@asynccontextmanager
async def _sqlite_registry(tmp_path: Path) -> AsyncIterator[ThreadRegistry]:
    database = SqliteDatabase(tmp_path / "r.sqlite")
    try:
        registry = SqliteRegistry(database)
        await registry.setup()
        try:
            yield registry
        finally:
            await registry.close()
    finally:
        database.close()


@asynccontextmanager
async def _postgres_registry(tmp_path: Path) -> AsyncIterator[ThreadRegistry]:
    from threaddesk.storage.postgres.database import PostgresDatabase
    from threaddesk.storage.postgres.threads import PostgresRegistry

    with recycled_postgres_schema() as url:
        database = PostgresDatabase(url, pool_size=2, turn_pool_size=1)
        await database.open()
        try:
            registry = PostgresRegistry(database)
            await registry.setup()
            try:
                yield registry
            finally:
                await registry.close()
        finally:
            await database.close()


REGISTRY_FACTORIES: dict[str, RegistryFactory] = {
    "sqlite": _sqlite_registry,
    "postgres": _postgres_registry,
}


@pytest.fixture(params=list(REGISTRY_FACTORIES))
def registry_backend(request: pytest.FixtureRequest) -> str:
    """The name of the registry backend under test (a key of REGISTRY_FACTORIES)."""
    return request.param


@pytest.fixture
async def registry(registry_backend: str, tmp_path: Path) -> AsyncIterator[ThreadRegistry]:
    async with REGISTRY_FACTORIES[registry_backend](tmp_path) as reg:
        yield reg


# --- storages and the manager ------------------------------------------------

STORAGE_URLS: dict[str, Callable[[Path], AbstractContextManager[str]]] = {
    "sqlite": lambda tmp_path: nullcontext(str(tmp_path / "m.sqlite")),
    "postgres": lambda tmp_path: recycled_postgres_schema(),
}


@pytest.fixture(params=list(STORAGE_URLS))
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    with STORAGE_URLS[request.param](tmp_path) as url:
        storage = await open_storage(url)
        try:
            yield storage
        finally:
            await storage.aclose()


@pytest.fixture
def manager(storage: Storage, clock: FakeClock) -> ThreadManager:
    return ThreadManager(storage.registry, storage.checkpointer, clock=clock)
