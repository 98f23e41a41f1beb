"""A real provider path: `openai:` through init_chat_model against a loopback server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from support.openai_server import FakeOpenAIServer

from threaddesk import Settings, Token, open_desk
from threaddesk.agent import build_model, reply_for
from threaddesk.errors import ModelUnavailable

_TYPES = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}


def _offline_reply(messages: list[dict]) -> str:
    return reply_for([_TYPES[m["role"]](content=m["content"]) for m in messages])


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with FakeOpenAIServer(_offline_reply) as server:
        yield server


async def test_openai_compatible_provider_keeps_threads_isolated(server: FakeOpenAIServer) -> None:
    settings = Settings(model="openai:gpt-4o-mini", base_url=server.base_url, api_key="test-key")
    async with open_desk(settings, database_url="memory") as desk:
        await desk.send("alice_session", "Hi, I'm Alice.", user_id="alice", create=True)
        await desk.send("bob_session", "Hey, I'm Bob.", user_id="bob", create=True)
        alice = await desk.send("alice_session", "What's my name?", user_id="alice")
        events = [e async for e in desk.stream("bob_session", "Do you know who I am?", user_id="bob")]
    assert alice.text == "Your name is Alice!"
    assert events[-1].text == "Yes, you're Bob!"
    assert sum(isinstance(e, Token) for e in events) > 1  # streamed over SSE, token by token
    assert len(server.requests) == 4
    for body in server.requests:
        assert body["model"] == "gpt-4o-mini"
        assert body["messages"][0]["role"] == "system"
    bob_requests = [r for r in server.requests if "Bob" in r["messages"][1]["content"]]
    assert len(bob_requests) == 2
    for body in bob_requests:
        assert "Alice" not in str(body["messages"])
    assert server.requests[-1]["stream"] is True


def test_unknown_provider_spec_is_a_clear_error() -> None:
    with pytest.raises(ModelUnavailable, match="offline"):
        build_model("gpt-4o")
    with pytest.raises(ModelUnavailable):
        build_model("nosuchprovider:model-x")
