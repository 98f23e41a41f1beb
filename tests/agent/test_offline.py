"""The offline model against its phrasing table, one conversation per case, and as a LangChain model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from threaddesk import open_desk
from threaddesk.agent.offline import OfflineChatModel, known_name, reply_for
from threaddesk.agent.profile import with_profile
from threaddesk.config import DEFAULT_SYSTEM_PROMPT, Settings

TABLE = json.loads((Path(__file__).parents[1] / "data" / "offline_phrasings.json").read_text("utf-8"))
CASES: list[dict[str, Any]] = TABLE["cases"]


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['kind']}: {' / '.join(case['say'])[:60]}"


def converse(says: list[str], profile: str | None = None) -> str:
    """Each customer message answered in turn by `reply_for`; the last reply."""
    messages: list[BaseMessage] = []
    reply = ""
    for text in says:
        messages.append(HumanMessage(text))
        prompt = [SystemMessage(with_profile(DEFAULT_SYSTEM_PROMPT, profile))] if profile else []
        reply = reply_for([*prompt, *messages])
        messages.append(AIMessage(reply))
    return reply


def check(case: dict[str, Any], reply: str) -> None:
    for expected in case["has"]:
        assert expected in reply, f"{case['say']!r} → {reply!r}: missing {expected!r}"
    for unwanted in case.get("lacks", []):
        assert unwanted not in reply, f"{case['say']!r} → {reply!r}: should not say {unwanted!r}"


def test_the_table_is_big_and_covers_every_kind() -> None:
    kinds = {case["kind"] for case in CASES}
    assert len(CASES) >= 150
    assert {"introduction", "explicit", "unicode", "not a name", "name question", "concern"} <= kinds
    assert {"thanks", "greeting", "goodbye", "unclear", "multi-sentence"} <= kinds


def test_the_docs_give_the_tables_size() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "python-api.md").read_text("utf-8")
    assert f"`tests/data/offline_phrasings.json` ({len(CASES)} conversations" in docs


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_phrasing(case: dict[str, Any]) -> None:
    check(case, converse(case["say"], case.get("profile")))


@pytest.mark.parametrize("case", [c for c in CASES if c.get("desk")], ids=_case_id)
async def test_phrasing_through_the_desk(case: dict[str, Any], tmp_path: Path) -> None:
    """The same replies from the real agent: checkpointed history, profile channel, system prompt."""
    async with open_desk(Settings(database_url=str(tmp_path / "desk.sqlite"))) as desk:
        reply = None
        for text in case["say"]:
            reply = await desk.send("t1", text, user_id="u", create=True)
        assert reply is not None
        check(case, reply.text)
        assert reply.text == converse(case["say"])


def test_the_latest_name_wins() -> None:
    messages = [HumanMessage("I'm Alice"), AIMessage("Hello Alice!"), HumanMessage("Actually, call me Ally")]
    assert known_name(messages) == "Ally"
    assert reply_for([*messages, AIMessage("ok"), HumanMessage("Who am I?")]) == "You're Ally!"


def test_a_name_in_view_beats_the_profile_and_the_profile_fills_in() -> None:
    system = SystemMessage(with_profile(DEFAULT_SYSTEM_PROMPT, "Alice"))
    assert known_name([system, HumanMessage("Thanks")]) == "Alice"
    assert known_name([system, HumanMessage("Call me Ally.")]) == "Ally"


def test_assistant_messages_never_teach_a_name() -> None:
    messages = [AIMessage("I'm Botty, your assistant."), HumanMessage("What's my name?")]
    assert reply_for(messages) == "I don't know your name yet. What should I call you?"


def test_a_system_prompt_that_is_not_the_profile_teaches_no_name() -> None:
    messages = [SystemMessage("I'm Botty. My name is Botty."), HumanMessage("What's my name?")]
    assert reply_for(messages) == "I don't know your name yet. What should I call you?"


def test_no_customer_message_yet_gets_a_greeting() -> None:
    assert reply_for([SystemMessage(DEFAULT_SYSTEM_PROMPT)]) == "Hello! How can I help you today?"


def test_a_long_unclear_message_is_quoted_short() -> None:
    reply = reply_for([HumanMessage("blah " * 100)])
    assert reply.startswith("I'm not sure I understood: \"blah blah")
    assert '..."' in reply and len(reply) < 220


def test_content_given_as_parts_is_read() -> None:
    parts: list[str | dict] = [
        {"type": "text", "text": "Hi, I'm Alice."},
        {"type": "image_url", "image_url": {}},
    ]
    assert reply_for([HumanMessage(content=parts)]) == "Hello Alice! How can I help?"


def test_the_same_messages_always_get_the_same_reply() -> None:
    messages = [HumanMessage("Hi, I am Alice. My parcel never arrived."), HumanMessage("What was my issue?")]
    assert len({reply_for(messages) for _ in range(5)}) == 1


def test_one_instance_serves_every_thread_without_state() -> None:
    model = OfflineChatModel()
    alice = [HumanMessage("Hi, I'm Alice."), AIMessage("Hello Alice!"), HumanMessage("What's my name?")]
    bob = [HumanMessage("What's my name?")]
    assert model.invoke(alice).text == "Your name is Alice!"
    assert model.invoke(bob).text == "I don't know your name yet. What should I call you?"
    assert model.invoke(alice).text == "Your name is Alice!"


def test_streamed_tokens_join_to_the_reply() -> None:
    model = OfflineChatModel()
    messages = [HumanMessage("Hey, I'm Bob.")]
    chunks = [c.text for c in model.stream(messages)]
    assert len([c for c in chunks if c]) > 3
    assert "".join(chunks) == model.invoke(messages).text == "Hi Bob! What can I do for you?"


async def test_async_streamed_tokens_join_to_the_reply() -> None:
    model = OfflineChatModel()
    messages = [HumanMessage("Hi, I'm Zoé. My parcel never arrived.")]
    chunks = [c.text async for c in model.astream(messages)]
    assert len(chunks) > 5
    assert "".join(chunks) == (await model.ainvoke(messages)).text
