"""ThreadManager over every storage (SQLite and PostgreSQL), with a hand-moved clock."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import timedelta
from typing import Any

import pytest
from langgraph.graph.state import CompiledStateGraph

from threaddesk.agent import OfflineChatModel, build_agent
from threaddesk.errors import (
    InvalidArgument,
    InvalidDuration,
    InvalidThreadId,
    ThreadExists,
    ThreadNotFound,
)
from threaddesk.ids import validate_thread_id
from threaddesk.storage import Storage
from threaddesk.threads import Thread, ThreadManager, ThreadStatus
from threaddesk.threads.manager import CLEANUP_BATCH

DAY = timedelta(days=1)


@pytest.fixture
def agent(storage: Storage) -> CompiledStateGraph:
    return build_agent(OfflineChatModel(), storage.checkpointer)


def config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


async def chat(agent: CompiledStateGraph, thread_id: str, text: str = "Hi, I'm Alice.") -> None:
    """Run one real turn so the thread has checkpoints."""
    result = await agent.ainvoke({"messages": [{"role": "user", "content": text}]}, config(thread_id))
    assert len(result["messages"]) >= 2


async def has_checkpoint(storage: Storage, thread_id: str) -> bool:
    return await storage.checkpointer.aget_tuple(config(thread_id)) is not None


def ids(threads: list[Thread]) -> list[str]:
    return [t.thread_id for t in threads]


# --- create --------------------------------------------------------------------


async def test_create_generates_unique_valid_uuid4_ids(manager: ThreadManager, storage: Storage) -> None:
    created = [await manager.create("alice") for _ in range(1000)]
    thread_ids = ids(created)
    assert len(set(thread_ids)) == 1000
    for thread_id in thread_ids:
        assert validate_thread_id(thread_id) == thread_id
        parsed = uuid.UUID(thread_id)
        assert parsed.version == 4 and str(parsed) == thread_id
    assert await storage.registry.count() == 1000


async def test_create_sets_owner_times_and_defaults(manager: ThreadManager, clock: Any) -> None:
    thread = await manager.create("alice", title="  Billing  ", metadata={"channel": "web"})
    assert thread.user_id == "alice"
    assert thread.title == "Billing"
    assert thread.metadata == {"channel": "web"}
    assert thread.created_at == clock.now == thread.last_active_at
    assert thread.status == ThreadStatus.IDLE and thread.message_count == 0
    stored = await manager.get(thread.thread_id)
    assert stored.title == "Billing" and stored.metadata == {"channel": "web"}


async def test_create_keeps_a_caller_chosen_id(manager: ThreadManager) -> None:
    thread = await manager.create("alice", thread_id="alice_session")
    assert thread.thread_id == "alice_session"
    assert (await manager.get("alice_session", user_id="alice")).thread_id == "alice_session"


@pytest.mark.parametrize(
    "bad_id",
    ["", "-x", "a" * 129, "a/b", "a b", "../etc", "x;DROP TABLE", "é", "a\nb", 42, b"abc", ["a"]],
    ids=repr,
)
async def test_create_rejects_invalid_ids_and_stores_nothing(
    manager: ThreadManager, storage: Storage, bad_id: object
) -> None:
    await manager.create("alice", thread_id="existing")
    with pytest.raises(InvalidThreadId) as info:
        await manager.create("alice", thread_id=bad_id)  # type: ignore[arg-type]
    assert isinstance(info.value, InvalidArgument)
    assert info.value.thread_id == bad_id
    assert await storage.registry.count() == 1


async def test_longest_valid_id_is_accepted(manager: ThreadManager) -> None:
    longest = "a" * 128
    assert (await manager.create("alice", thread_id=longest)).thread_id == longest


async def test_create_duplicate_id_raises_thread_exists(manager: ThreadManager, storage: Storage) -> None:
    await manager.create("alice", thread_id="dup", title="first")
    with pytest.raises(ThreadExists) as info:
        await manager.create("alice", thread_id="dup", title="second")
    assert info.value.thread_id == "dup"
    assert (await manager.get("dup")).title == "first"
    assert await storage.registry.count() == 1


async def test_create_if_exists_get_returns_existing_only_to_its_owner(
    manager: ThreadManager, clock: Any
) -> None:
    original = await manager.create("alice", thread_id="s1", title="first", metadata={"v": 1})
    clock.advance(timedelta(hours=1))

    again = await manager.create("alice", thread_id="s1", title="other", if_exists="get")
    assert again.thread_id == "s1"
    assert again.title == "first" and again.metadata == {"v": 1}
    assert again.created_at == original.created_at

    with pytest.raises(ThreadExists):
        await manager.create("mallory", thread_id="s1", if_exists="get")
    assert (await manager.get("s1")).user_id == "alice"


async def test_create_rejects_unknown_if_exists(manager: ThreadManager, storage: Storage) -> None:
    with pytest.raises(InvalidArgument):
        await manager.create("alice", thread_id="x", if_exists="replace")  # type: ignore[arg-type]
    assert await storage.registry.count() == 0


async def test_new_conversation_keeps_the_old_threads(
    manager: ThreadManager, storage: Storage, agent: CompiledStateGraph
) -> None:
    first = await manager.create("alice", title="first")
    await chat(agent, first.thread_id)

    second = await manager.new_conversation("alice", title="second")
    assert second.thread_id != first.thread_id
    assert second.user_id == "alice" and second.title == "second"
    assert (await manager.get(first.thread_id)).title == "first"
    assert await has_checkpoint(storage, first.thread_id)
    assert not await has_checkpoint(storage, second.thread_id)
    listed = await manager.list(user_id="alice")
    assert set(ids(listed.threads)) == {first.thread_id, second.thread_id}


# --- get -----------------------------------------------------------------------


async def test_get_unknown_raises_not_found(manager: ThreadManager) -> None:
    with pytest.raises(ThreadNotFound) as info:
        await manager.get("nope")
    assert info.value.thread_id == "nope"


async def test_get_by_another_user_raises_not_found(manager: ThreadManager) -> None:
    thread = await manager.create("alice")
    assert (await manager.get(thread.thread_id, user_id="alice")).user_id == "alice"
    with pytest.raises(ThreadNotFound):
        await manager.get(thread.thread_id, user_id="bob")


async def test_get_invalid_id_raises_invalid_thread_id(manager: ThreadManager) -> None:
    with pytest.raises(InvalidThreadId):
        await manager.get("../etc")


# --- list ----------------------------------------------------------------------


async def test_list_shows_only_the_users_threads_newest_first_paginated(
    manager: ThreadManager, clock: Any
) -> None:
    alice: list[str] = []
    for i in range(5):
        alice.append((await manager.create("alice", title=f"a{i}")).thread_id)
        await manager.create("bob")
        clock.advance(timedelta(minutes=1))
    newest_first = alice[::-1]

    everything = await manager.list(user_id="alice")
    assert ids(everything.threads) == newest_first
    assert everything.next_cursor is None

    pages: list[list[str]] = []
    cursor = None
    while True:
        page = await manager.list(user_id="alice", limit=2, cursor=cursor)
        pages.append(ids(page.threads))
        assert all(t.user_id == "alice" for t in page.threads)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        assert len(pages) < 10
    assert [len(p) for p in pages] == [2, 2, 1]
    flat = [tid for p in pages for tid in p]
    assert flat == newest_first and len(set(flat)) == 5


async def test_list_pagination_through_ties_and_activity_order(manager: ThreadManager, clock: Any) -> None:
    # Seven threads created at the same instant: the cursor must break ties by id.
    made = [(await manager.create("alice")).thread_id for _ in range(7)]
    clock.advance(timedelta(seconds=5))
    await manager.record_turn(made[3], message_count=2)

    expected = [made[3], *sorted((t for t in made if t != made[3]), reverse=True)]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await manager.list(limit=3, cursor=cursor)
        seen.extend(ids(page.threads))
        if not (cursor := page.next_cursor):
            break
    assert seen == expected


async def test_list_exact_multiple_of_limit_has_no_empty_last_page(manager: ThreadManager) -> None:
    for _ in range(4):
        await manager.create("alice")
    first = await manager.list(limit=2)
    assert len(first.threads) == 2 and first.next_cursor
    second = await manager.list(limit=2, cursor=first.next_cursor)
    assert len(second.threads) == 2
    assert second.next_cursor is None


@pytest.mark.parametrize("limit", [0, -1, 1001, True, 2.0, "5", None], ids=repr)
async def test_list_rejects_invalid_limit(manager: ThreadManager, limit: Any) -> None:
    with pytest.raises(InvalidArgument):
        await manager.list(limit=limit)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!!",
        "é",
        _b64(b"{}"),
        _b64(b"[1]"),
        _b64(b'["x","y"]'),
        _b64(b"[1, 2]"),
        _b64(b'[1, "a", 3]'),
        _b64(b"null"),
        _b64(b"\xff\xfe"),
    ],
    ids=repr,
)
async def test_list_rejects_garbage_cursor(manager: ThreadManager, cursor: str) -> None:
    await manager.create("alice")
    with pytest.raises(InvalidArgument):
        await manager.list(cursor=cursor)


async def test_list_rejects_unknown_status(manager: ThreadManager) -> None:
    with pytest.raises(InvalidArgument):
        await manager.list(status="sleeping")


async def test_list_filters_by_status_and_metadata(manager: ThreadManager) -> None:
    web = await manager.create("alice", metadata={"channel": "web"})
    mail = await manager.create("alice", metadata={"channel": "email"})
    await manager.record_turn(mail.thread_id, message_count=2, status=ThreadStatus.ERROR)
    assert ids((await manager.list(metadata={"channel": "web"})).threads) == [web.thread_id]
    assert ids((await manager.list(status="error")).threads) == [mail.thread_id]
    assert ids((await manager.list(status=ThreadStatus.IDLE)).threads) == [web.thread_id]


@pytest.mark.parametrize("since", ["timedelta", "string", "datetime"])
async def test_list_inactive_since(manager: ThreadManager, clock: Any, since: str) -> None:
    old = await manager.create("alice", title="old")
    clock.advance(10 * DAY)
    mid = await manager.create("alice", title="mid")
    clock.advance(5 * DAY)
    await manager.create("alice", title="fresh")  # now = start + 15d

    value: Any = {
        "timedelta": timedelta(days=7),
        "string": "7d",
        "datetime": clock.now - timedelta(days=7),
    }[since]
    assert ids((await manager.list(inactive_since=value)).threads) == [old.thread_id]

    wider: Any = {
        "timedelta": timedelta(days=2),
        "string": "48h",
        "datetime": clock.now - timedelta(days=2),
    }[since]
    assert ids((await manager.list(inactive_since=wider)).threads) == [mid.thread_id, old.thread_id]


@pytest.mark.parametrize("bad", ["", "7x", "-1d", "0d", "1.5h", timedelta(0)], ids=repr)
async def test_list_inactive_since_rejects_bad_durations(manager: ThreadManager, bad: Any) -> None:
    with pytest.raises(InvalidDuration):
        await manager.list(inactive_since=bad)


# --- update --------------------------------------------------------------------


async def test_update_title_and_merge_metadata(manager: ThreadManager) -> None:
    thread = await manager.create("alice", title="Old", metadata={"keep": 1, "drop": "x", "v": 1})
    updated = await manager.update(
        thread.thread_id, title="New", metadata={"drop": None, "v": 2, "add": True}
    )
    assert updated.title == "New"
    assert updated.metadata == {"keep": 1, "v": 2, "add": True}
    stored = await manager.get(thread.thread_id)
    assert stored.title == "New" and stored.metadata == updated.metadata

    retitled = await manager.update(thread.thread_id, title="Newer", user_id="alice")
    assert retitled.title == "Newer" and retitled.metadata == updated.metadata


async def test_update_by_another_user_or_unknown_is_not_found(manager: ThreadManager) -> None:
    thread = await manager.create("alice", title="Mine")
    with pytest.raises(ThreadNotFound):
        await manager.update(thread.thread_id, title="Hijacked", user_id="bob")
    assert (await manager.get(thread.thread_id)).title == "Mine"
    with pytest.raises(ThreadNotFound):
        await manager.update("ghost", title="x")


@pytest.mark.parametrize(
    "kwargs", [{"title": "x" * 201}, {"title": "a\x00b"}, {"metadata": {1: "x"}}, {"metadata": [1]}]
)
async def test_update_rejects_bad_title_or_metadata(manager: ThreadManager, kwargs: dict[str, Any]) -> None:
    thread = await manager.create("alice", title="Mine", metadata={"a": 1})
    with pytest.raises(InvalidArgument):
        await manager.update(thread.thread_id, **kwargs)
    stored = await manager.get(thread.thread_id)
    assert stored.title == "Mine" and stored.metadata == {"a": 1}


# --- record_turn ---------------------------------------------------------------


async def test_record_turn_bumps_activity_to_now(manager: ThreadManager, clock: Any) -> None:
    thread = await manager.create("alice")
    created_at = thread.created_at
    clock.advance(timedelta(hours=2, microseconds=5))

    recorded = await manager.record_turn(thread.thread_id, message_count=2)
    assert recorded.last_active_at == clock.now
    assert recorded.message_count == 2
    assert recorded.status == ThreadStatus.IDLE
    assert recorded.created_at == created_at

    stored = await manager.get(thread.thread_id)
    assert stored.last_active_at == clock.now and stored.message_count == 2

    clock.advance(timedelta(minutes=1))
    failed = await manager.record_turn(thread.thread_id, message_count=3, status=ThreadStatus.ERROR)
    assert failed.status == ThreadStatus.ERROR and failed.last_active_at == clock.now


async def test_record_turn_unknown_raises_not_found(manager: ThreadManager) -> None:
    with pytest.raises(ThreadNotFound):
        await manager.record_turn("ghost", message_count=1)


# --- delete --------------------------------------------------------------------


async def test_delete_removes_row_and_checkpoints_only_of_that_thread(
    manager: ThreadManager, storage: Storage, agent: CompiledStateGraph
) -> None:
    doomed = await manager.create("alice")
    other = await manager.create("bob")
    await chat(agent, doomed.thread_id)
    await chat(agent, other.thread_id, "Hi, I'm Bob.")
    assert await has_checkpoint(storage, doomed.thread_id)

    deleted = await manager.delete(doomed.thread_id, user_id="alice")
    assert deleted.thread_id == doomed.thread_id

    assert await storage.registry.get(doomed.thread_id) is None
    assert await storage.checkpointer.aget_tuple(config(doomed.thread_id)) is None
    assert [c async for c in storage.checkpointer.alist(config(doomed.thread_id))] == []
    assert await has_checkpoint(storage, other.thread_id)
    assert (await manager.get(other.thread_id)).user_id == "bob"

    with pytest.raises(ThreadNotFound):
        await manager.delete(doomed.thread_id)


async def test_delete_by_another_user_is_not_found_and_deletes_nothing(
    manager: ThreadManager, storage: Storage, agent: CompiledStateGraph
) -> None:
    thread = await manager.create("alice")
    await chat(agent, thread.thread_id)
    with pytest.raises(ThreadNotFound):
        await manager.delete(thread.thread_id, user_id="mallory")
    assert await storage.registry.get(thread.thread_id) is not None
    assert await has_checkpoint(storage, thread.thread_id)


async def test_delete_waits_for_a_running_turn(manager: ThreadManager, storage: Storage) -> None:
    thread = await manager.create("alice")
    async with manager.locks.hold(thread.thread_id):
        task = asyncio.create_task(manager.delete(thread.thread_id))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not task.done()
        assert await storage.registry.get(thread.thread_id) is not None
    await asyncio.wait_for(task, 5)
    assert await storage.registry.get(thread.thread_id) is None
    assert len(manager.locks) == 0


# --- cleanup -------------------------------------------------------------------


async def test_cleanup_dry_run_then_real_run(
    manager: ThreadManager, storage: Storage, agent: CompiledStateGraph, clock: Any
) -> None:
    start = clock.now
    old = [await manager.create("alice", title=f"old{i}") for i in range(3)]
    revived = await manager.create("bob", title="revived")
    await chat(agent, old[0].thread_id)
    await chat(agent, old[2].thread_id)
    await chat(agent, revived.thread_id)

    clock.advance(DAY)
    edge = await manager.create("carol", title="edge")  # exactly at the cutoff: kept
    clock.advance(19 * DAY)
    await manager.record_turn(revived.thread_id, message_count=2)
    clock.advance(11 * DAY)  # now = start + 31d, cutoff = start + 1d
    fresh = [await manager.create("dave") for _ in range(2)]
    await chat(agent, fresh[0].thread_id)
    assert clock.now - timedelta(days=30) == start + DAY == edge.last_active_at

    expired = {t.thread_id for t in old}
    total = await storage.registry.count()
    assert total == 7

    would = await manager.cleanup(timedelta(days=30), dry_run=True)
    assert sorted(ids(would)) == sorted(expired)
    assert await storage.registry.count() == total
    assert await has_checkpoint(storage, old[0].thread_id)
    assert await has_checkpoint(storage, old[2].thread_id)

    removed = await manager.cleanup(timedelta(days=30))
    assert sorted(ids(removed)) == sorted(expired)
    assert await storage.registry.count() == total - 3
    for thread in old:
        with pytest.raises(ThreadNotFound):
            await manager.get(thread.thread_id)
        assert not await has_checkpoint(storage, thread.thread_id)
    for kept in (revived, edge, *fresh):
        assert (await manager.get(kept.thread_id)).thread_id == kept.thread_id
    assert await has_checkpoint(storage, revived.thread_id)
    assert await has_checkpoint(storage, fresh[0].thread_id)

    assert await manager.cleanup(timedelta(days=30)) == []
    assert len(manager.locks) == 0


async def test_cleanup_accepts_a_duration_string(
    manager: ThreadManager, storage: Storage, clock: Any
) -> None:
    old = await manager.create("alice")
    clock.advance(31 * DAY)
    fresh = await manager.create("alice")
    assert ids(await manager.cleanup("30d", dry_run=True)) == [old.thread_id]
    assert ids(await manager.cleanup("30d")) == [old.thread_id]
    assert ids((await manager.list()).threads) == [fresh.thread_id]
    clock.advance(2 * timedelta(hours=1))
    assert ids(await manager.cleanup("1h")) == [fresh.thread_id]
    assert await storage.registry.count() == 0


async def test_cleanup_reports_each_removed_thread_as_it_goes(
    manager: ThreadManager, storage: Storage, clock: Any
) -> None:
    old = [await manager.create("alice") for _ in range(3)]
    clock.advance(31 * DAY)
    await manager.create("alice")
    seen: list[str] = []
    assert len(await manager.cleanup("30d", dry_run=True, on_removed=lambda t: seen.append("x"))) == 3
    assert seen == []  # a dry run removes nothing, so reports nothing

    removed = await manager.cleanup("30d", on_removed=lambda t: seen.append(t.thread_id))
    assert seen == ids(removed)
    assert sorted(seen) == sorted(t.thread_id for t in old)
    assert await storage.registry.count() == 1


@pytest.mark.parametrize(
    "bad", ["", "7x", "-1d", "0d", "1.5h", "d", "30 days", timedelta(0), -DAY, 30, None], ids=repr
)
@pytest.mark.parametrize("dry_run", [False, True])
async def test_cleanup_rejects_bad_durations(
    manager: ThreadManager, storage: Storage, clock: Any, bad: Any, dry_run: bool
) -> None:
    await manager.create("alice")
    clock.advance(365 * DAY)
    with pytest.raises(InvalidDuration):
        await manager.cleanup(bad, dry_run=dry_run)
    assert await storage.registry.count() == 1


async def test_cleanup_skips_a_thread_with_a_turn_in_progress(
    manager: ThreadManager, storage: Storage, agent: CompiledStateGraph, clock: Any
) -> None:
    busy = await manager.create("alice")
    idle = await manager.create("bob")
    await chat(agent, busy.thread_id)
    clock.advance(31 * DAY)

    async with manager.locks.hold(busy.thread_id):
        removed = await manager.cleanup(timedelta(days=30))
        assert ids(removed) == [idle.thread_id]
        assert await storage.registry.get(busy.thread_id) is not None
        assert await has_checkpoint(storage, busy.thread_id)
        assert manager.locks.is_locked(busy.thread_id)

    assert ids(await manager.cleanup(timedelta(days=30))) == [busy.thread_id]
    assert await storage.registry.count() == 0
    assert not await has_checkpoint(storage, busy.thread_id)
    assert len(manager.locks) == 0


async def test_cleanup_keeps_a_thread_that_became_active_meanwhile(
    manager: ThreadManager, storage: Storage, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = await manager.create("alice")
    b = await manager.create("bob")
    clock.advance(31 * DAY)
    registry = storage.registry
    real_list = registry.list

    async def list_then_revive(**kwargs: Any) -> list[Thread]:
        found = await real_list(**kwargs)
        if found:
            # A turn on `a` finishes between the listing and the deletes.
            await registry.record_turn(a.thread_id, at=clock.now, message_count=2)
        return found

    monkeypatch.setattr(registry, "list", list_then_revive)
    removed = await manager.cleanup(timedelta(days=30))
    assert ids(removed) == [b.thread_id]
    assert (await manager.get(a.thread_id)).message_count == 2


@pytest.mark.slow
async def test_cleanup_crosses_batch_boundaries_exactly_once(
    manager: ThreadManager, storage: Storage, clock: Any
) -> None:
    n = 1203
    assert n > 2 * CLEANUP_BATCH
    expired: list[str] = []
    for i in range(n):
        if i % 100 == 0:
            clock.advance(timedelta(seconds=1))  # ties within groups, across batch edges
        expired.append((await manager.create(f"user{i % 7}")).thread_id)
    clock.advance(31 * DAY)
    fresh = {(await manager.create("fresh")).thread_id for _ in range(3)}

    would = ids(await manager.cleanup(timedelta(days=30), dry_run=True))
    assert len(would) == n and set(would) == set(expired)
    assert await storage.registry.count() == n + 3

    removed = ids(await manager.cleanup(timedelta(days=30)))
    assert len(removed) == n
    assert set(removed) == set(expired)
    assert await storage.registry.count() == 3
    assert set(ids((await manager.list()).threads)) == fresh
    assert await manager.cleanup(timedelta(days=30)) == []


async def test_busy_is_live_and_filterable(manager) -> None:
    """A thread with a turn running reads as `busy`, and status filters see the live status."""
    for name in ("a", "b", "c"):
        await manager.create("u", name)
    async with manager.turn("b"):
        assert (await manager.get("b")).status == "busy"
        busy = await manager.list(status="busy")
        assert [t.thread_id for t in busy.threads] == ["b"]
        idle = await manager.list(status="idle", limit=1)
        seen = [t.thread_id for t in idle.threads]
        while idle.next_cursor:
            idle = await manager.list(status="idle", limit=1, cursor=idle.next_cursor)
            seen += [t.thread_id for t in idle.threads]
        assert sorted(seen) == ["a", "c"]
    assert (await manager.get("b")).status == "idle"
    assert (await manager.list(status="busy")).threads == []
