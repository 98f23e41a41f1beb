"""CLI fixtures: run `threaddesk` in-process on a temp database, then look inside the database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from threaddesk.cli import app
from threaddesk.sync import ThreadDesk


class MovableClock:
    """Real-world time by default, set back by hand to make threads look idle."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) - self.offset


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cli.sqlite"


@pytest.fixture(autouse=True)
def _default_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADDESK_USER", "alice")


Run = Callable[..., Result]


@pytest.fixture
def run(db: Path) -> Run:
    """`run("threads", "list", input="...")`: invoke the app on the temp database."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, use_db: bool = True) -> Result:
        prefix = ["--db", str(db)] if use_db else []
        return runner.invoke(app, [*prefix, *args], input=input)

    return invoke


@pytest.fixture
def open_db(db: Path) -> Callable[..., ThreadDesk]:
    """Open the CLI's database directly, to seed it or check what the CLI stored."""

    def opener(clock: Callable[[], datetime] | None = None) -> ThreadDesk:
        return ThreadDesk.open(database_url=str(db), **({"clock": clock} if clock else {}))

    return opener


@pytest.fixture
def seed(open_db: Callable[..., ThreadDesk]) -> Callable[..., None]:
    """`seed(("alice_session", "alice", 40, ["Hi, I'm Alice."]), ...)`: threads idle for N days."""

    def seed_threads(*threads: tuple[str, str, int, list[str]]) -> None:
        clock = MovableClock()
        with open_db(clock) as desk:
            for thread_id, user, idle_days, messages in threads:
                clock.offset = timedelta(days=idle_days)
                desk.threads.create(user, thread_id)
                for text in messages:
                    desk.send(thread_id, text, user_id=user)

    return seed_threads


class Stored:
    """What the CLI left in the SQLite file, read with plain sqlite3."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _query(self, sql: str, *params: object) -> list[tuple]:
        conn = sqlite3.connect(self.path)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def threads(self) -> dict[str, dict]:
        """thread_id -> its registry row."""
        rows = self._query(
            "SELECT thread_id, user_id, title, metadata, message_count FROM threaddesk_threads"
        )
        return {
            thread_id: {"user_id": user, "title": title, "metadata": json.loads(meta), "message_count": n}
            for thread_id, user, title, meta, n in rows
        }

    def checkpoints(self, thread_id: str) -> int:
        return self._query("SELECT count(*) FROM checkpoints WHERE thread_id = ?", thread_id)[0][0]


@pytest.fixture
def stored(db: Path) -> Stored:
    return Stored(db)
