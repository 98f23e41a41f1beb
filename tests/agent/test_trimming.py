"""The model gets a trimmed context; the customer's name survives it through the state's profile."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from threaddesk import open_desk
from threaddesk.agent.graph import recent_context
from threaddesk.agent.offline import OfflineChatModel
from threaddesk.config import DEFAULT_SYSTEM_PROMPT, Settings


class RecordingModel(OfflineChatModel):
    """The offline model, noting every message list it is asked to answer."""

    calls: ClassVar[list[list[BaseMessage]]] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        type(self).calls.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


def _conversation(turns: int) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for i in range(turns):
        out += [HumanMessage(f"question {i}", id=f"h{i}"), AIMessage(f"answer {i}", id=f"a{i}")]
    return out


def test_recent_context_keeps_the_latest_messages_and_starts_on_the_customer() -> None:
    history = [*_conversation(50), HumanMessage("latest", id="last")]
    context = recent_context(history, max_messages=6)
    assert context[-1].id == "last"
    assert isinstance(context[0], HumanMessage)
    assert [m.id for m in context] == ["h48", "a48", "h49", "a49", "last"]  # 6 would start on an answer
    assert context == history[-len(context) :]


def test_token_budget_trims_further_than_the_message_budget() -> None:
    history = [*_conversation(50), HumanMessage("latest", id="last")]
    by_count = recent_context(history, max_messages=40)
    by_tokens = recent_context(history, max_messages=40, max_tokens=30)
    assert 0 < len(by_tokens) < len(by_count)
    assert by_tokens[-1].id == "last"
    assert isinstance(by_tokens[0], HumanMessage)


async def test_name_given_long_ago_is_still_known_with_a_small_context(database_url: str) -> None:
    RecordingModel.calls = []
    settings = Settings(database_url=database_url, context_messages=6)
    async with open_desk(settings, model=RecordingModel()) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="alice", create=True)
        for i in range(30):
            await desk.send("t1", f"My parcel {i} is still missing.")
        reply = await desk.send("t1", "What's my name?")
        assert reply.text == "Your name is Alice!"
        assert len(await desk.history("t1")) == 64  # the full history is still stored
    last_call = RecordingModel.calls[-1]
    system, *context = last_call
    assert isinstance(system, SystemMessage)
    assert system.text.startswith(DEFAULT_SYSTEM_PROMPT)
    assert "The customer's name is Alice." in system.text
    assert len(context) <= 6
    assert isinstance(context[0], HumanMessage)
    assert context[-1].text == "What's my name?"
    assert context[-3].text == "My parcel 29 is still missing."
    # No customer message in view gives the name: it came from the profile in the system prompt.
    assert not any("Alice" in m.text for m in context if isinstance(m, HumanMessage))


async def test_a_later_introduction_replaces_the_profile_name() -> None:
    settings = Settings(database_url="memory", context_messages=2)
    async with open_desk(settings) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        await desk.send("t1", "Thanks")
        await desk.send("t1", "Actually, call me Bob.")
        for _ in range(3):
            await desk.send("t1", "Thanks")
        assert (await desk.send("t1", "What's my name?")).text == "Your name is Bob!"


async def test_without_a_name_the_model_still_says_it_does_not_know() -> None:
    async with open_desk(Settings(database_url="memory", context_messages=2)) as desk:
        for i in range(4):
            await desk.send("t1", f"My parcel {i} is missing.", user_id="u", create=True)
        reply = await desk.send("t1", "What's my name?")
        assert reply.text == "I don't know your name yet. What should I call you?"
