"""Long threads: old messages move to the archive, the checkpoint stays bounded, history stays whole."""

from __future__ import annotations

from datetime import timedelta

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from support.models import FlakyModel

from threaddesk import InvalidArgument, ModelUnavailable, SupportDesk, open_desk
from threaddesk.config import Settings
from threaddesk.storage import open_storage

KEEP, HIGH = 4, 8  # context_messages, max_state_messages


def _settings(database_url: str, **extra: object) -> Settings:
    options = {"context_messages": KEEP, "max_state_messages": HIGH, **extra}
    return Settings(database_url=database_url, **options)


async def _state_messages(desk: SupportDesk, thread_id: str) -> list:
    state = await desk.agent.aget_state({"configurable": {"thread_id": thread_id}})
    return state.values.get("messages", [])


async def _archived(desk: SupportDesk, thread_id: str) -> list:
    return await desk.threads.archive.read(thread_id, 0, 10**6)


async def test_long_thread_history_is_whole_and_ordered_with_a_bounded_checkpoint(
    database_url: str, clock
) -> None:
    async with open_desk(_settings(database_url), clock=clock) as desk:
        sent = ["Hi, I'm Alice."] + [f"Parcel {i} is missing." for i in range(148)]
        for i, text in enumerate(sent):
            await desk.send("t1", text, user_id="u", create=True)
            if i % 10 == 0:
                assert len(await _state_messages(desk, "t1")) <= HIGH
        assert (await desk.send("t1", "What's my name?")).text == "Your name is Alice!"
        sent.append("What's my name?")

        history = await desk.history("t1")
        assert len(history) == 300 == (await desk.threads.get("t1")).message_count
        assert [m.content for m in history if m.role == "user"] == sent
        assert [m.role for m in history] == ["user", "assistant"] * 150
        assert len({m.id for m in history}) == 300
        state = await _state_messages(desk, "t1")
        assert KEEP <= len(state) <= HIGH and isinstance(state[0], HumanMessage)
        for limit in (0, 1, len(state), len(state) + 1, 77, 300, 1000):
            assert await desk.history("t1", limit=limit) == (history[-limit:] if limit else [])


async def test_delete_and_cleanup_remove_archived_messages(database_url: str, clock) -> None:
    async with open_desk(_settings(database_url), clock=clock) as desk:
        for thread_id in ("t1", "t2", "t3"):
            for i in range(8):
                await desk.send(thread_id, f"Parcel {i} is missing.", user_id="u", create=True)
            assert await _archived(desk, thread_id)
        await desk.threads.delete("t1")
        assert await _archived(desk, "t1") == []
        clock.advance(timedelta(days=2))
        await desk.send("t3", "Still there?")
        removed = await desk.threads.cleanup("1d")
        assert [t.thread_id for t in removed] == ["t2"]
        assert await _archived(desk, "t2") == []
        assert len(await desk.history("t3")) == 18
        await desk.send("t1", "Hi, I'm Bob.", user_id="u", create=True)  # a new thread, same id
        assert [m.content for m in await desk.history("t1")] == ["Hi, I'm Bob.", "Hello Bob! How can I help?"]


async def test_failed_turn_on_an_archived_thread_rolls_back(database_url: str) -> None:
    model = FlakyModel()
    async with open_desk(_settings(database_url), model=model) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        for i in range(9):
            await desk.send("t1", f"Parcel {i} is missing.")
        before = await desk.history("t1")
        assert await _archived(desk, "t1")
        model.fail = True
        with pytest.raises(ModelUnavailable):
            await desk.send("t1", "My order is late.")
        model.fail = False
        assert await desk.history("t1") == before
        assert (await desk.threads.get("t1")).message_count == 20
        assert (await desk.send("t1", "What's my name?")).text == "Your name is Alice!"
        assert len(await desk.history("t1")) == 22


async def test_archive_put_is_idempotent_by_position(database_url: str) -> None:
    storage = await open_storage(database_url)
    try:
        archive = storage.archive
        first = [HumanMessage("a", id="1"), AIMessage("b", id="2"), HumanMessage("c", id="3")]
        await archive.put("t1", 0, first[:2])
        await archive.put("t1", 0, first)  # a retried move: same positions, one more message
        await archive.put("t2", 0, [HumanMessage("other", id="9")])
        got = await archive.read("t1", 0, 10)
        assert [(type(m), m.content, m.id) for m in got] == [(type(m), m.content, m.id) for m in first]
        assert [m.content for m in await archive.read("t1", 1, 3)] == ["b", "c"]
        await archive.delete(["t1"])
        assert await archive.read("t1", 0, 10) == []
        assert [m.content for m in await archive.read("t2", 0, 10)] == ["other"]
    finally:
        await storage.aclose()


async def test_max_state_messages_zero_keeps_everything_in_the_checkpoint() -> None:
    async with open_desk(_settings("memory", max_state_messages=0)) as desk:
        for i in range(10):
            await desk.send("t1", f"Parcel {i} is missing.", user_id="u", create=True)
        assert len(await _state_messages(desk, "t1")) == 20
        assert await _archived(desk, "t1") == []


async def test_a_window_not_above_the_kept_messages_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        async with open_desk(_settings("memory", max_state_messages=KEEP)):
            pass


async def test_streamed_turns_archive_and_count_the_same_way() -> None:
    async with open_desk(_settings("memory")) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        for i in range(12):
            events = [event async for event in desk.stream("t1", f"Parcel {i} is missing.")]
        assert events[-1].thread.message_count == 26 == len(await desk.history("t1"))
        assert len(await _state_messages(desk, "t1")) <= HIGH
        assert len(await _archived(desk, "t1")) == 26 - len(await _state_messages(desk, "t1"))
