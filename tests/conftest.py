"""Shared fixtures: every test gets its own storage; nothing touches the user's data dir."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.postgres import recycled_postgres_schema

from threaddesk import SupportDesk, open_desk


class FakeClock:
    """A clock tests move by hand, so TTL tests need no sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the default database at a temp file and drop any real provider settings."""
    for name in list(os.environ):
        if name.startswith("THREADDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("THREADDESK_DATABASE_URL", str(tmp_path / "default.sqlite"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every storage backend the service suite runs on (postgres: an empty migrated schema of its own)."""
    if request.param == "postgres":
        with recycled_postgres_schema() as url:
            yield url
    else:
        yield str(tmp_path / "desk.sqlite")


@pytest.fixture
async def desk(database_url: str, clock: FakeClock) -> AsyncIterator[SupportDesk]:
    async with open_desk(database_url=database_url, clock=clock) as desk:
        yield desk
