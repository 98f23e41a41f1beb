"""LangGraph's thread operations in the core, on every backend: search, count, copy, prune, update_state."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from threaddesk import InvalidArgument, SupportDesk, ThreadNotFound, open_desk
from threaddesk.config import Settings
from threaddesk.errors import CheckpointNotFound
from threaddesk.runs import RunRequest
from threaddesk.threads.models import ThreadQuery, ThreadStatus


def _contents(values: dict) -> list[str]:
    return [m.content for m in values.get("messages", [])]


async def test_copy_carries_state_archive_history_and_metadata(database_url: str, clock) -> None:
    settings = Settings(
        database_url=database_url, context_messages=2, max_state_messages=4, keep_checkpoints=0
    )
    async with open_desk(settings, clock=clock) as desk:
        await desk.threads.create("alice", "src", title="Refund", metadata={"tier": "gold"})
        for text in ("Hi, I'm Alice.", "Parcel 1", "Parcel 2", "Parcel 3"):
            await desk.send("src", text, user_id="alice")
        assert await desk.threads.archive.read("src", 0, 100)  # some messages were archived
        copy = await desk.copy_thread("src", "bob", user_id="alice")
        assert (copy.user_id, copy.title, copy.metadata) == ("bob", "Refund", {"tier": "gold"})
        assert copy.message_count == 8 and copy.thread_id != "src"
        assert await desk.history(copy.thread_id) == await desk.history("src")
        source_history = await desk.state_history("src", limit=100)
        copied_history = await desk.state_history(copy.thread_id, limit=100)
        assert [s.config["configurable"]["checkpoint_id"] for s in copied_history] == [
            s.config["configurable"]["checkpoint_id"] for s in source_history
        ]
        reply = await desk.send(copy.thread_id, "What's my name?", user_id="bob")
        assert reply.text == "Your name is Alice!"  # the copy goes on from the source's memory
        assert (await desk.threads.get("src")).message_count == 8  # the source is untouched
        with pytest.raises(ThreadNotFound):
            await desk.copy_thread("src", "bob", user_id="bob")


async def test_prune_delete_and_keep_latest_skip_other_users_threads(database_url: str, clock) -> None:
    async with open_desk(Settings(database_url=database_url, keep_checkpoints=0), clock=clock) as desk:
        for thread_id, owner in (("a1", "alice"), ("a2", "alice"), ("b1", "bob")):
            await desk.send(thread_id, "Hi", user_id=owner, create=True)
            await desk.send(thread_id, "Again", user_id=owner)
        assert len(await desk.state_history("a2", limit=100)) == 2
        before = _contents((await desk.state("a2")).values)
        assert await desk.prune_threads(["a2", "b1", "nope"], "keep_latest", user_id="alice") == 1
        assert len(await desk.state_history("a2", limit=100)) == 1
        assert _contents((await desk.state("a2")).values) == before and len(before) == 4
        assert len(await desk.state_history("b1", limit=100)) == 2  # bob's: skipped
        assert await desk.prune_threads(["a1", "b1", "a1"], user_id="alice") == 1
        with pytest.raises(ThreadNotFound):
            await desk.threads.get("a1")
        assert (await desk.threads.get("b1")).message_count == 4
        with pytest.raises(InvalidArgument):
            await desk.prune_threads(["a2"], "everything", user_id="alice")
        with pytest.raises(InvalidArgument):
            await desk.prune_threads(["../x"], user_id="alice")


async def test_update_state_writes_as_a_node_and_forks_from_a_kept_checkpoint(desk: SupportDesk) -> None:
    desk.threads.keep_checkpoints = 0  # keep every checkpoint, so the first stays forkable
    await desk.send("t", "Hi, I'm Alice.", user_id="alice", create=True)
    first = (await desk.state("t")).config["configurable"]["checkpoint_id"]
    written = await desk.update_state(
        "t", {"messages": [AIMessage("A note.")]}, as_node="agent", user_id="alice"
    )
    state = await desk.state("t")
    assert state.config["configurable"]["checkpoint_id"] == written["configurable"]["checkpoint_id"]
    assert _contents(state.values)[-1] == "A note." and state.next == ()
    assert (await desk.threads.get("t")).message_count == 3
    with pytest.raises(ThreadNotFound):
        await desk.update_state("t", {"messages": []}, as_node="agent", user_id="bob")
    with pytest.raises(InvalidArgument):
        await desk.update_state("t", {"messages": []}, as_node="nope", user_id="alice")
    with pytest.raises(InvalidArgument):
        await desk.update_state("t", {"archived_messages": 5}, as_node="agent", user_id="alice")
    missing = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(CheckpointNotFound):
        await desk.update_state(
            "t", {"messages": []}, as_node="agent", checkpoint_id=missing, user_id="alice"
        )
    assert _contents((await desk.state("t")).values)[-1] == "A note."  # nothing changed by the refusals
    await desk.update_state("t", {"messages": [AIMessage("Forked.")]}, as_node="agent", checkpoint_id=first)
    assert _contents((await desk.state("t")).values)[-1] == "Forked."  # from the first turn's state


async def test_runs_record_interrupted_and_search_finds_it(desk: SupportDesk) -> None:
    request = RunRequest.say("Hi", interrupt_before=("agent",))
    async for _ in desk.run("t", request, user_id="alice", create=True):
        pass
    thread = await desk.threads.get("t")
    assert thread.status is ThreadStatus.INTERRUPTED
    found = await desk.search_threads(ThreadQuery(user_id="alice", status=ThreadStatus.INTERRUPTED))
    assert [t.thread_id for t, _ in found] == ["t"]
    async for _ in desk.run("t", RunRequest(input=None), user_id="alice"):
        pass
    assert (await desk.threads.get("t")).status is ThreadStatus.IDLE


async def test_search_and_count_by_values(desk: SupportDesk) -> None:
    for n in range(5):
        await desk.send(f"t{n}", "Hi, I'm Bob." if n % 2 else "Hello", user_id="alice", create=True)
    await desk.send("other", "Hi, I'm Bob.", user_id="bob", create=True)

    def says_bob(values: dict) -> bool:
        return "Hi, I'm Bob." in _contents(values)

    query = ThreadQuery(user_id="alice", sort_by="thread_id", sort_order="asc")
    found = await desk.search_threads(query, values_match=says_bob, with_values=True)
    assert [t.thread_id for t, _ in found] == ["t1", "t3"]
    assert all(_contents(values)[0] == "Hi, I'm Bob." for _, values in found)
    second = ThreadQuery(user_id="alice", sort_by="thread_id", sort_order="asc", offset=1, limit=1)
    assert [t.thread_id for t, _ in await desk.search_threads(second, values_match=says_bob)] == ["t3"]
    assert await desk.count_threads(ThreadQuery(user_id="alice"), values_match=says_bob) == 2
    assert await desk.count_threads(ThreadQuery(), values_match=says_bob) == 3
    plain = await desk.search_threads(query, with_values=True)
    assert [_contents(values)[0] for _, values in plain] == ["Hello", "Hi, I'm Bob."] * 2 + ["Hello"]


async def test_history_after_pruning_lists_the_kept_checkpoints_only(database_url: str, clock) -> None:
    """What docs/http-api.md promises for history with THREADDESK_KEEP_CHECKPOINTS (here 1)."""
    async with open_desk(Settings(database_url=database_url, keep_checkpoints=1), clock=clock) as desk:
        await desk.send("t", "Hi, I'm Alice.", user_id="alice", create=True)
        pruned = (await desk.state("t")).config["configurable"]["checkpoint_id"]
        await desk.send("t", "What's my name?", user_id="alice")
        history = await desk.state_history("t", limit=10)
        assert len(history) == 1 and len(history[0].values["messages"]) == 4
        assert await desk.state_history("t", before=pruned) == []
        assert await desk.state_history("t", checkpoint_id=pruned) == []
        with pytest.raises(CheckpointNotFound):
            await desk.state("t", checkpoint_id=pruned)
        with pytest.raises(CheckpointNotFound):
            await desk.update_state("t", {"messages": []}, as_node="agent", checkpoint_id=pruned)
        assert len(await desk.history("t")) == 4


async def test_a_run_stamps_graph_and_assistant_and_stands_when_metadata_is_full(desk: SupportDesk) -> None:
    stamp = {"graph_id": "support_agent", "assistant_id": "a1"}
    async for _ in desk.run("t", RunRequest.say("Hi", metadata=stamp), user_id="alice", create=True):
        pass
    assert (await desk.threads.get("t")).metadata == stamp
    await desk.threads.create("alice", "full", metadata={"blob": "x" * (16 * 1024 - 20)})
    async for _ in desk.run("full", RunRequest.say("Hi", metadata=stamp), user_id="alice"):
        pass
    full = await desk.threads.get("full")
    assert full.message_count == 2 and "graph_id" not in full.metadata
