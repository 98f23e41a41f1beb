"""Deleting a thread removes its row, checkpoints and archived messages together, or not at all.

A failure part-way (played by a trigger that refuses to delete checkpoints)
must leave the thread whole, not a registry without the row and checkpoints
nothing reclaims. Orphans an older version left behind are reclaimed by cleanup.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from support.postgres import postgres_schema

from threaddesk import Settings, SupportDesk, open_desk

TABLES = {
    "sqlite": ("threaddesk_threads", "checkpoints", "writes", "threaddesk_messages"),
    "postgres": (
        "threaddesk_threads",
        "checkpoints",
        "checkpoint_blobs",
        "checkpoint_writes",
        "threaddesk_messages",
    ),
}
REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE DELETE ON checkpoints BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$",
        "CREATE TRIGGER refuse BEFORE DELETE ON checkpoints FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}
ALLOW = {"sqlite": ["DROP TRIGGER refuse"], "postgres": ["DROP TRIGGER refuse ON checkpoints"]}


class Raw:
    """Plain SQL on the test's database, beside the desk (as an operator or a crash would)."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend, self.url = backend, url

    def run(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.backend == "sqlite":
            with sqlite3.connect(self.url) as conn:
                return conn.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def rows(self, thread_id: str) -> dict[str, int]:
        """How many rows each table holds for `thread_id`."""
        return {
            table: self.run(f"SELECT count(*) FROM {table} WHERE thread_id = ?", (thread_id,))[0][0]
            for table in TABLES[self.backend]
        }


@pytest.fixture(params=["sqlite", "postgres"])
def raw(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Raw]:
    if request.param == "postgres":
        with postgres_schema() as url:
            yield Raw("postgres", url)
    else:
        yield Raw("sqlite", str(tmp_path / "desk.sqlite"))


@pytest.fixture
async def desk(raw: Raw) -> AsyncIterator[SupportDesk]:
    # Small states, so the oldest messages move to the archive after a few turns.
    settings = Settings(database_url=raw.url, context_messages=2, max_state_messages=4)
    async with open_desk(settings) as desk:
        yield desk


def whole(rows: dict[str, int]) -> bool:
    """The row, checkpoints and archived messages are all there."""
    return rows["threaddesk_threads"] == 1 and rows["checkpoints"] > 0 and rows["threaddesk_messages"] > 0


async def _converse(desk: SupportDesk, thread_id: str) -> None:
    for n in range(4):
        await desk.send(thread_id, f"Message {n} on {thread_id}", user_id="alice", create=True)


async def test_a_delete_that_fails_part_way_leaves_the_thread_whole(desk: SupportDesk, raw: Raw) -> None:
    await _converse(desk, "t")
    before = raw.rows("t")
    assert whole(before), before
    history = await desk.history("t")
    for sql in REFUSE[raw.backend]:
        raw.run(sql)

    with pytest.raises(Exception, match="disk on fire"):
        await desk.threads.delete("t")
    assert raw.rows("t") == before
    assert await desk.history("t") == history

    for sql in ALLOW[raw.backend]:
        raw.run(sql)
    await desk.threads.delete("t")
    assert set(raw.rows("t").values()) == {0}


async def test_cleanup_reclaims_conversations_left_without_a_thread(desk: SupportDesk, raw: Raw) -> None:
    await _converse(desk, "orphan")
    await _converse(desk, "kept")
    raw.run("DELETE FROM threaddesk_threads WHERE thread_id = ?", ("orphan",))  # a crash mid-delete, long ago

    assert await desk.threads.cleanup("30d") == []
    assert set(raw.rows("orphan").values()) == {0}
    assert whole(raw.rows("kept"))
    assert len(await desk.history("kept")) == 8
