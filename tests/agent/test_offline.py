"""The offline model's reading of a conversation: names, replies, streaming, no state of its own."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from threaddesk.agent.offline import OfflineChatModel, customer_name, name_in, reply_for


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I'm Alice", "Alice"),
        ("I am Bob.", "Bob"),
        ("my name is Carol", "Carol"),
        ("Hello, this is Dave from Acme", "Dave"),
        ("call me Erin!", "Erin"),
        ("Hey, I'm Frank.", "Frank"),
        ("I'm having trouble with my order", None),
        ("I am Not sure", None),
        ("Do you know who I am?", None),
        ("i'm grace", None),
    ],
)
def test_names_are_read_from_introductions(text: str, name: str | None) -> None:
    assert name_in(text) == name


def test_the_latest_name_wins() -> None:
    messages = [HumanMessage("I'm Alice"), AIMessage("Hello Alice!"), HumanMessage("Actually, call me Ally")]
    assert customer_name(messages) == "Ally"
    assert reply_for([*messages, AIMessage("ok"), HumanMessage("Who am I?")]) == "You're Ally!"


def test_assistant_messages_never_teach_a_name() -> None:
    messages = [AIMessage("I'm Botty, your assistant."), HumanMessage("What's my name?")]
    assert reply_for(messages) == "I don't know your name yet. What should I call you?"


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
