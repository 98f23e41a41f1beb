"""`SupportDesk.run`: any input the graph takes, every stream mode, and still a whole turn."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk
from langgraph.types import Command
from support.models import FlakyModel

from threaddesk import SupportDesk, open_desk
from threaddesk.errors import CheckpointNotFound, InvalidArgument, MessageTooLarge, ModelUnavailable
from threaddesk.runs import RunChunk, RunRequest, RunResult
from threaddesk.threads.models import ThreadStatus


def said(*texts: str) -> dict:
    return {"messages": [{"role": "user", "content": text} for text in texts]}


async def collect(desk: SupportDesk, thread_id: str, request: RunRequest, **options) -> list:
    return [item async for item in desk.run(thread_id, request, **options)]


async def test_several_messages_are_one_turn_and_the_registry_follows(desk: SupportDesk) -> None:
    items = await collect(desk, "t1", RunRequest(input=said("Hi.", "I'm Carol.")), user_id="u", create=True)
    result = items[-1]
    assert isinstance(result, RunResult) and not result.interrupted
    assert [m.content for m in result.values["messages"]][-1] == "Hello Carol! How can I help?"
    thread = await desk.threads.get("t1")
    assert thread.message_count == 3 == result.thread.message_count
    assert [m.role for m in await desk.history("t1")] == ["user", "user", "assistant"]


async def test_streamed_chunks_carry_the_stored_message_id(desk: SupportDesk) -> None:
    request = RunRequest.say("Hi, I'm Alice.", stream_mode=("messages", "updates"))
    items = await collect(desk, "t1", request, user_id="u", create=True)
    chunks = [i.data[0] for i in items if isinstance(i, RunChunk) and i.mode == "messages"]
    assert len(chunks) > 1 and all(isinstance(c, AIMessageChunk) for c in chunks)
    stored = (await desk.state("t1")).values["messages"][-1]
    assert {c.id for c in chunks} == {stored.id}
    assert "".join(c.text for c in chunks) == stored.text
    assert [i.mode for i in items if isinstance(i, RunChunk)].count("updates") == 1


async def test_interrupt_before_pauses_and_input_none_resumes(desk: SupportDesk) -> None:
    paused = (
        await collect(
            desk, "t1", RunRequest.say("Hi, I'm Dana.", interrupt_before=["agent"]), user_id="u", create=True
        )
    )[-1]
    assert paused.interrupted and [m.type for m in paused.values["messages"]] == ["human"]
    assert (await desk.threads.get("t1")).message_count == 1
    resumed = (await collect(desk, "t1", RunRequest()))[-1]
    assert not resumed.interrupted and resumed.values["messages"][-1].text == "Hello Dana! How can I help?"
    assert (await desk.threads.get("t1")).message_count == 2


async def test_command_update_and_goto(desk: SupportDesk) -> None:
    await desk.threads.create("u", "t1")
    command = Command(update={"messages": [{"role": "user", "content": "I'm Eve"}]}, goto="agent")
    result = (await collect(desk, "t1", RunRequest(command=command)))[-1]
    assert result.values["messages"][-1].text == "Hello Eve! How can I help?"


async def test_a_run_from_an_earlier_checkpoint_forks_there(database_url: str) -> None:
    async with open_desk(database_url=database_url, model="offline") as desk:
        desk.threads.keep_checkpoints = 0
        await desk.send("t1", "Hi, I'm Fay.", user_id="u", create=True)
        after_first = (await desk.state("t1")).config["configurable"]["checkpoint_id"]
        await desk.send("t1", "I'm Gil.")
        request = RunRequest.say("What's my name?", checkpoint={"checkpoint_id": after_first})
        result = (await collect(desk, "t1", request))[-1]
        assert result.values["messages"][-1].text == "Your name is Fay!"
        assert len(result.values["messages"]) == 4 == (await desk.threads.get("t1")).message_count


async def test_an_unknown_checkpoint_changes_nothing(desk: SupportDesk) -> None:
    await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
    before = await desk.threads.get("t1")
    missing = {"checkpoint_id": "1f1eb6d8-0000-6000-8000-000000000000"}
    with pytest.raises(CheckpointNotFound):
        await collect(desk, "t1", RunRequest.say("Who am I?", checkpoint=missing))
    assert await desk.threads.get("t1") == before
    with pytest.raises(CheckpointNotFound):
        await desk.state("t1", checkpoint_id=missing["checkpoint_id"])


@pytest.mark.parametrize(
    "request_",
    [
        RunRequest(input={"archived_messages": 3}),
        RunRequest(input={"messages": [{"role": "banana", "content": "x"}]}),
        RunRequest(input={"messages": []}),
        RunRequest(input=said("ok", "a\x00b")),
        RunRequest(input=said("x"), stream_mode=("banana",)),
        RunRequest(input=said("x"), interrupt_after=["nowhere"]),
        RunRequest(command=Command(goto="nowhere")),
        RunRequest(command=Command(update={"messages": [{"role": "user", "content": "\x00"}]})),
        RunRequest(input=None, checkpoint={"checkpoint_id": "../x"}),
        RunRequest(input=said("x"), recursion_limit=0),
    ],
    ids=str,
)
async def test_bad_requests_are_refused_before_anything_is_stored(desk: SupportDesk, request_) -> None:
    await desk.threads.create("u", "t1")
    with pytest.raises(InvalidArgument):
        await collect(desk, "t1", request_)
    thread = await desk.threads.get("t1")
    assert (thread.message_count, thread.status) == (0, ThreadStatus.IDLE)


async def test_every_message_of_a_run_is_held_to_the_size_limit(database_url: str) -> None:
    async with open_desk(database_url=database_url) as desk:
        desk.max_message_bytes = 10
        with pytest.raises(MessageTooLarge):
            await collect(
                desk, "t1", RunRequest(input=said("short", "far too long for it")), user_id="u", create=True
            )


async def test_a_failed_run_of_several_messages_rolls_back_whole(database_url: str) -> None:
    model = FlakyModel()
    async with open_desk(database_url=database_url, model=model) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        model.fail = True
        request = RunRequest(input=said("One.", "Two."), stream_mode=("checkpoints",))
        with pytest.raises(ModelUnavailable):
            await collect(desk, "t1", request)
        assert [m.content for m in await desk.history("t1")] == [
            "Hi, I'm Alice.",
            "Hello Alice! How can I help?",
        ]
        thread = await desk.threads.get("t1")
        assert (thread.message_count, thread.status) == (2, ThreadStatus.ERROR)


async def test_an_abandoned_run_with_per_step_checkpoints_leaves_no_half_turn(desk: SupportDesk) -> None:
    await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
    events = desk.run("t1", RunRequest.say("One more", stream_mode=("debug",)))
    assert isinstance(await anext(events), RunChunk)
    await events.aclose()  # after the input's checkpoint was written (durability async for debug)
    assert [m.content for m in await desk.history("t1")] == ["Hi, I'm Alice.", "Hello Alice! How can I help?"]
    assert (await desk.send("t1", "Who am I?")).text == "You're Alice!"
