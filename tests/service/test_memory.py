"""Opt-in memory: a customer's preferred name and language outlive the thread, for that customer only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.models import RecordingModel

from threaddesk import Settings, SupportDesk, open_desk


async def _desk(database_url: str, memory: bool, model=None) -> AsyncIterator[SupportDesk]:
    async with open_desk(Settings(database_url=database_url, memory=memory), model=model) as desk:
        yield desk


@pytest.fixture
async def remembering(database_url: str) -> AsyncIterator[tuple[SupportDesk, RecordingModel]]:
    model = RecordingModel()
    async for desk in _desk(database_url, True, model):
        yield desk, model


async def test_a_name_given_in_one_thread_is_known_in_the_next_of_the_same_user(remembering) -> None:
    desk, model = remembering
    await desk.send("a1", "Hi, I'm Maria. Please answer in Spanish.", user_id="alice", create=True)
    reply = await desk.send("a2", "What's my name?", user_id="alice", create=True)
    assert "Maria" in reply.text
    assert "Answer the customer in Spanish." in model.last_system_prompt()
    # Another customer's threads never see it.
    theirs = await desk.send("b1", "What's my name?", user_id="bob", create=True)
    assert "Maria" not in theirs.text and "Maria" not in model.last_system_prompt()
    assert "Spanish" not in model.last_system_prompt()
    # It is the customer's own item: theirs to read (and delete) through the store API.
    item = await desk.items.get("alice", ["memory"], "profile")
    assert item.value == {"name": "Maria", "language": "Spanish"}
    assert await desk.items.search("bob", []) == []


async def test_a_new_name_replaces_the_remembered_one(remembering) -> None:
    desk, _ = remembering
    await desk.send("a1", "I'm Maria.", user_id="alice", create=True)
    await desk.send("a2", "Call me Mia, please. My name is Mia.", user_id="alice", create=True)
    reply = await desk.send("a3", "What's my name?", user_id="alice", create=True)
    assert "Mia" in reply.text


async def test_with_memory_off_nothing_is_written(database_url: str) -> None:
    async for desk in _desk(database_url, False):
        await desk.send("a1", "Hi, I'm Maria. Please answer in Spanish.", user_id="alice", create=True)
        reply = await desk.send("a2", "What's my name?", user_id="alice", create=True)
        assert "Maria" not in reply.text
        assert desk.items is not None
        assert await desk.items.search("alice", []) == []
        assert await desk.items.store.asearch(()) == []
