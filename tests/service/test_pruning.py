"""Pruning superseded checkpoints, on every backend: storage stays bounded, the latest is never lost."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from support.models import FlakyModel

from threaddesk import ModelUnavailable, open_desk
from threaddesk.config import Settings, is_postgres_url


def _rows(db: str, thread_id: str) -> tuple[int, int]:
    """(checkpoints, pending writes) stored for the thread, read straight from the database."""
    if is_postgres_url(db):
        import psycopg

        with psycopg.connect(db) as conn:
            ckpts = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,))
            writes = conn.execute("SELECT count(*) FROM checkpoint_writes WHERE thread_id = %s", (thread_id,))
            return ckpts.fetchone()[0], writes.fetchone()[0]
    with sqlite3.connect(db) as conn:
        ckpts = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", (thread_id,))
        writes = conn.execute("SELECT count(*) FROM writes WHERE thread_id = ?", (thread_id,))
        return ckpts.fetchone()[0], writes.fetchone()[0]


def _blobs(db: str, thread_id: str) -> int:
    """PostgreSQL's channel values live in blobs shared by checkpoints: none may outlive every user."""
    import psycopg

    with psycopg.connect(db) as conn:
        return conn.execute(
            "SELECT count(*) FROM checkpoint_blobs AS b WHERE thread_id = %s AND NOT EXISTS ("
            " SELECT 1 FROM checkpoints AS c WHERE c.thread_id = b.thread_id"
            " AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version)",
            (thread_id,),
        ).fetchone()[0]


@pytest.mark.parametrize("keep", [1, 2, 3])
async def test_rows_per_thread_stay_bounded_and_the_thread_continues(database_url: str, keep: int) -> None:
    db = database_url
    async with open_desk(Settings(database_url=db, keep_checkpoints=keep)) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        for i in range(25):
            await desk.send("t1", f"Parcel {i} is missing.")
            assert _rows(db, "t1")[0] <= keep
        assert _rows(db, "t1") == (keep, 0)
        if is_postgres_url(db):
            assert _blobs(db, "t1") == 0
        assert (await desk.send("t1", "What's my name?")).text == "Your name is Alice!"
        assert len(await desk.history("t1")) == 54


async def test_keep_zero_keeps_every_checkpoint(database_url: str) -> None:
    db = database_url
    async with open_desk(Settings(database_url=db, keep_checkpoints=0)) as desk:
        for i in range(5):
            await desk.send("t1", f"Parcel {i} is missing.", user_id="u", create=True)
    assert _rows(db, "t1")[0] == 5


async def test_prune_never_deletes_the_latest_checkpoint(database_url: str) -> None:
    db = database_url
    async with open_desk(Settings(database_url=db, keep_checkpoints=0)) as desk:
        for i in range(6):
            await desk.send("t1", f"Parcel {i} is missing.", user_id="u", create=True)
        await desk.send("t2", "Hi, I'm Bob.", user_id="u", create=True)
        saver = desk.threads.checkpointer
        config = {"configurable": {"thread_id": "t1"}}
        latest = await saver.aget_tuple(config)
        await saver.aprune(["t1", "t2"])
        after = await saver.aget_tuple(config)
        assert after is not None and after.config == latest.config
        assert after.checkpoint["channel_values"] == latest.checkpoint["channel_values"]
        assert _rows(db, "t1")[0] == 1 and _rows(db, "t2")[0] == 1
        with pytest.raises(ValueError):
            await saver.aprune(["t1"], keep=0)
        assert (await desk.send("t2", "Who am I?")).text == "You're Bob!"


@pytest.mark.parametrize("keep", [1, 2])
async def test_a_failed_turn_on_a_pruned_thread_rolls_back_to_the_last_good_turn(
    database_url: str, keep: int
) -> None:
    model = FlakyModel()
    db = database_url
    async with open_desk(Settings(database_url=db, keep_checkpoints=keep), model=model) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        await desk.send("t1", "Parcel 1 is missing.")
        assert _rows(db, "t1")[0] == keep
        model.fail = True
        with pytest.raises(ModelUnavailable, match="provider timeout"):
            await desk.send("t1", "Hello?")
        model.fail = False
        assert len(await desk.history("t1")) == 4
        assert (await desk.send("t1", "What's my name?")).text == "Your name is Alice!"
        assert _rows(db, "t1")[0] == keep


async def test_cleanup_removes_expired_threads_with_their_checkpoints(database_url: str, clock) -> None:
    db = database_url
    async with open_desk(Settings(database_url=db), clock=clock) as desk:
        for i in range(12):
            await desk.send(f"old{i}", "Hi, I'm Old.", user_id="u", create=True)
        clock.advance(timedelta(days=40))
        await desk.send("fresh", "Hi, I'm New.", user_id="u", create=True)
        removed = await desk.threads.cleanup("30d")
        assert sorted(t.thread_id for t in removed) == sorted(f"old{i}" for i in range(12))
        assert await desk.threads.registry.count() == 1
    assert [_rows(db, f"old{i}") for i in range(12)] == [(0, 0)] * 12
    assert _rows(db, "fresh")[0] == 1
