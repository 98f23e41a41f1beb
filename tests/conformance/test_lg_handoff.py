"""A handoff to a human through `langgraph-sdk`, on LangGraph's server and on threaddesk: the same
`interrupt()` with the same `HumanInterrupt` value, the same thread status and state, and the same
resume with `Command(resume=[HumanResponse])` as agent-chat-ui sends it.

On threaddesk the resume is sent by an agent (a customer may not answer a handoff, and the reply is
stamped with the caller's name); on LangGraph's server, which has no users, the payload names the
same responder, so both store the same message.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from harness import Target, same_on_both
from support.live import LiveServer
from transcript import Transcript

GRAPH = "support_agent"
INTERRUPT_ID = re.compile(r"^[0-9a-f]{32}$")


def said(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


def _ids_out(value: Any) -> Any:
    """Interrupt ids (hashes of each server's own checkpoint path) as a placeholder."""
    if isinstance(value, str) and INTERRUPT_ID.match(value):
        return "<interrupt-id>"
    if isinstance(value, dict):
        return {k: _ids_out(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ids_out(v) for v in value]
    return value


@pytest.fixture
def agent_headers(threaddesk_server: LiveServer) -> dict[str, dict[str, str]]:
    return {"langgraph": {}, "threaddesk": threaddesk_server.users["agent-sam"].headers}


async def test_handoff_interrupt_and_resume_as_langgraph(targets: list[Target], agent_headers) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        await client.runs.wait(thread_id, GRAPH, input=said("Hi, I'm Alice."))
        paused = await client.runs.wait(thread_id, GRAPH, input=said("I want to talk to a human"))
        seen.add("paused", _ids_out(paused))
        thread = await client.threads.get(thread_id)
        seen.add("thread.status", thread["status"])
        seen.add("thread.interrupts", _ids_out(list(thread["interrupts"].values())))
        state = await client.threads.get_state(thread_id)
        seen.add("state.next", state["next"])
        seen.add("state.interrupts", _ids_out(state["interrupts"]))
        agent = Target(target.name, target.url, agent_headers[target.name]).sdk()
        resume = [{"type": "response", "args": "Hello Alice, Sam here.", "responder": "agent-sam"}]
        answered = await agent.runs.wait(thread_id, GRAPH, command={"resume": resume})
        seen.add("answered", _ids_out(answered))
        seen.add("thread.status after", (await client.threads.get(thread_id))["status"])
        again = await client.runs.wait(thread_id, GRAPH, input=said("Thanks!"))
        seen.add("again", _ids_out(again))
        accept = [{"type": "accept", "args": None, "responder": "agent-sam"}]  # Agent Inbox's "Accept"
        back = await agent.runs.wait(thread_id, GRAPH, command={"resume": accept})
        seen.add("handed back", back["messages"][-1]["content"])
        seen.add("thread.status at the end", (await client.threads.get(thread_id))["status"])

    seen = await same_on_both(targets, scenario)
    paused = dict(seen.entries)["paused"]
    [pending] = paused["__interrupt__"]
    assert pending["value"][0]["action_request"]["action"] == "handoff_to_human"
    assert dict(seen.entries)["thread.status"] == "interrupted"
    answered = dict(seen.entries)["answered"]["messages"][-1]
    assert (answered["name"], answered["content"]) == ("agent-sam", "Hello Alice, Sam here.")
