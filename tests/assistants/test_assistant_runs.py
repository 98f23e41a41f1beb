"""An assistant's settings reach its runs: one desk runs a billing and a technical assistant side by
side, each thread remembers the assistant it was made with, and the run's own context wins."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support.models import RecordingModel

from threaddesk import SupportDesk, open_desk
from threaddesk.assistants import system_assistant_id
from threaddesk.errors import AssistantNotFound, ThreadNotFound
from threaddesk.runs import RunRequest, RunResult

GRAPH = "support_agent"


@pytest.fixture
async def recorded(database_url: str, clock) -> AsyncIterator[tuple[SupportDesk, RecordingModel]]:
    model = RecordingModel()
    async with open_desk(database_url=database_url, model=model, clock=clock) as desk:
        yield desk, model


async def _run(desk: SupportDesk, thread_id: str, text: str, **options) -> RunResult:
    request = RunRequest.say(text, **options)
    async for item in desk.run(thread_id, request, user_id="ann", create=True):
        if isinstance(item, RunResult):
            return item
    raise AssertionError("no result")


async def test_two_assistants_side_by_side_each_with_its_prompt(recorded) -> None:
    desk, model = recorded
    billing = await desk.assistants.create(
        GRAPH, name="billing", context={"system_prompt": "You do billing."}
    )
    technical = await desk.assistants.create(
        GRAPH, name="technical", context={"system_prompt": "You fix devices."}
    )
    await _run(desk, "bill-1", "My invoice is wrong.", assistant_id=billing.assistant_id)
    assert model.last_system_prompt() == "You do billing."
    await _run(desk, "tech-1", "My router blinks.", assistant_id=technical.assistant_id)
    assert model.last_system_prompt() == "You fix devices."
    await _run(desk, "plain-1", "Hello.", assistant_id=GRAPH)
    assert model.last_system_prompt().startswith("You are")  # the desk's own prompt
    # Each thread notes its assistant, as LangGraph's server does.
    assert (await desk.threads.get("bill-1")).metadata["assistant_id"] == billing.assistant_id
    assert (await desk.threads.get("tech-1")).metadata["assistant_id"] == technical.assistant_id
    assert (await desk.threads.get("plain-1")).metadata["assistant_id"] == system_assistant_id(GRAPH)


async def test_a_thread_keeps_its_assistant_for_runs_that_name_none(recorded) -> None:
    desk, model = recorded
    billing = await desk.assistants.create(GRAPH, context={"system_prompt": "You do billing."})
    await _run(desk, "bill-2", "My invoice is wrong.", assistant_id=billing.assistant_id)
    await desk.send("bill-2", "Still wrong.", user_id="ann")  # the native API names no assistant
    assert model.last_system_prompt() == "You do billing."
    await desk.assistants.update(billing.assistant_id, context={"system_prompt": "Billing, v2."})
    await desk.send("bill-2", "Any news?", user_id="ann")
    assert model.last_system_prompt() == "Billing, v2."  # the assistant as it stands now
    await desk.delete_assistant(billing.assistant_id)
    await desk.send("bill-2", "Hello?", user_id="ann")  # gone: the desk's defaults
    assert model.last_system_prompt() != "Billing, v2." and len(model.prompts) == 4


async def test_the_runs_own_context_wins_key_by_key(recorded) -> None:
    desk, model = recorded
    made = await desk.assistants.create(
        GRAPH, context={"system_prompt": "Assistant's prompt.", "context_messages": 1}
    )
    await _run(desk, "t", "First.", assistant_id=made.assistant_id)
    await _run(
        desk, "t", "Second.", assistant_id=made.assistant_id, context={"system_prompt": "Run's prompt."}
    )
    prompt = model.prompts[-1]
    assert prompt[0].content == "Run's prompt."
    assert [m.content for m in prompt[1:]] == ["Second."]  # the assistant's context window: 1 message


async def test_an_assistant_picks_its_model(recorded) -> None:
    desk, model = recorded
    offline = await desk.assistants.create(GRAPH, context={"model": "offline"})
    result = await _run(desk, "m", "Hello.", assistant_id=offline.assistant_id)
    assert model.prompts == []  # the offline model answered, not the desk's own
    assert result.values["messages"][-1].content
    await _run(desk, "m2", "Hello.", assistant_id=GRAPH)
    assert len(model.prompts) == 1


async def test_an_unknown_assistant_is_refused_before_anything_is_stored(recorded) -> None:
    desk, model = recorded
    with pytest.raises(AssistantNotFound):
        await _run(desk, "never", "Hello.", assistant_id="0b3c1d1e-0000-4000-8000-000000000000")
    with pytest.raises(ThreadNotFound):
        await desk.threads.get("never")
    assert model.prompts == []


async def test_deleting_with_its_threads_deletes_only_the_threads_made_with_it(recorded) -> None:
    desk, _ = recorded
    billing = await desk.assistants.create(GRAPH, name="billing")
    for thread_id in ("b1", "b2"):
        await _run(desk, thread_id, "Hello.", assistant_id=billing.assistant_id)
    await _run(desk, "other", "Hello.", assistant_id=GRAPH)
    await desk.delete_assistant(billing.assistant_id, delete_threads=True)
    for gone in ("b1", "b2"):
        with pytest.raises(ThreadNotFound):
            await desk.threads.get(gone)
    assert (await desk.threads.get("other")).message_count == 2


async def test_a_thread_created_naming_an_assistant_uses_it_from_its_first_message(recorded) -> None:
    """The native API names an assistant through the thread's metadata, as LangGraph's runs write it."""
    desk, model = recorded
    billing = await desk.assistants.create(GRAPH, context={"system_prompt": "You do billing."})
    await desk.threads.create("ann", "native", metadata={"assistant_id": billing.assistant_id})
    await desk.send("native", "My invoice is wrong.", user_id="ann")
    assert model.last_system_prompt() == "You do billing."
    await desk.threads.create("ann", "nonsense", metadata={"assistant_id": "no such assistant"})
    await desk.send("nonsense", "Hello.", user_id="ann")  # not an assistant: the desk's defaults
    assert model.last_system_prompt().startswith("You are")
