"""Handoff to a human over HTTP: the queue, reading, answering (threaddesk's route and LangGraph's
`command.resume` as agent-chat-ui sends it), who may do what, and the `HumanInterrupt` shape."""

from __future__ import annotations

import asyncio

import pytest
from support.live import Caller

from threaddesk import SupportDesk
from threaddesk.agent.handoff import STILL_WAITING_TEXT, WAITING_TEXT


@pytest.fixture
async def agent(web_desk: SupportDesk) -> Caller:
    _, token = await web_desk.users.add("sam", role="agent")
    return Caller("sam", token)


@pytest.fixture
async def agent2(web_desk: SupportDesk) -> Caller:
    _, token = await web_desk.users.add("tia", role="agent")
    return Caller("tia", token)


async def _ask_for_a_person(client, caller: Caller, thread_id: str) -> dict:
    await client.post("/threads", json={"thread_id": thread_id}, headers=caller.headers)
    await client.post(
        f"/threads/{thread_id}/messages", json={"content": "Hi, I'm Alice."}, headers=caller.headers
    )
    answer = await client.post(
        f"/threads/{thread_id}/messages",
        json={"content": "I want to talk to a human"},
        headers=caller.headers,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_the_customer_is_told_and_the_thread_waits_with_a_human_interrupt(client, alice, agent) -> None:
    answer = await _ask_for_a_person(client, alice, "t1")
    assert answer["message"]["content"] == WAITING_TEXT and answer["thread"]["status"] == "interrupted"
    thread = (await client.get("/threads/t1", headers=agent.headers)).json()
    assert thread["status"] == "interrupted"
    [(task_id, [pending])] = thread["interrupts"].items()
    [request] = pending["value"]
    # agent-chat-ui's isAgentInboxInterruptSchema: a list whose first item has these.
    assert (
        isinstance(request["action_request"], dict)
        and request["action_request"]["action"] == "handoff_to_human"
    )
    assert set(request["config"]) == {"allow_respond", "allow_accept", "allow_edit", "allow_ignore"}
    assert isinstance(request["description"], str)
    state = (await client.get("/threads/t1/state", headers=agent.headers)).json()
    assert state["next"] == ["human"] and state["interrupts"][0]["id"] == pending["id"]
    assert state["tasks"][0]["id"] == task_id
    # LangGraph's stream values carry it as `__interrupt__` too.
    streamed = await client.post(
        "/threads/t1/runs/wait",
        json={
            "assistant_id": "support_agent",
            "input": {"messages": [{"role": "user", "content": "hello?"}]},
        },
        headers=alice.headers,
    )
    assert streamed.json()["__interrupt__"][0]["value"][0]["action_request"]["action"] == "handoff_to_human"


async def test_agents_see_the_queue_oldest_first_customers_only_their_own(
    client, web_desk, alice, bob, agent
) -> None:
    await _ask_for_a_person(client, alice, "a-first")
    await _ask_for_a_person(client, bob, "b-second")
    await client.post("/threads", json={"thread_id": "b-calm"}, headers=bob.headers)
    queue = (await client.get("/threads", params={"status": "interrupted"}, headers=agent.headers)).json()
    assert [t["thread_id"] for t in queue["threads"]] == ["a-first", "b-second"] and queue[
        "next_cursor"
    ] is None
    page = (
        await client.get("/threads", params={"status": "interrupted", "limit": 1}, headers=agent.headers)
    ).json()
    assert [t["thread_id"] for t in page["threads"]] == ["a-first"]
    rest = await client.get(
        "/threads", params={"status": "interrupted", "cursor": page["next_cursor"]}, headers=agent.headers
    )
    assert [t["thread_id"] for t in rest.json()["threads"]] == ["b-second"]
    bad = await client.get(
        "/threads", params={"status": "interrupted", "cursor": "nope"}, headers=agent.headers
    )
    assert bad.status_code == 422
    mine = (await client.get("/threads", params={"status": "interrupted"}, headers=bob.headers)).json()
    assert [t["thread_id"] for t in mine["threads"]] == ["b-second"]
    searched = await client.post("/threads/search", json={"status": "interrupted"}, headers=agent.headers)
    assert {t["thread_id"] for t in searched.json()} == {"a-first", "b-second"}
    counted = await client.post("/threads/count", json={"status": "interrupted"}, headers=agent.headers)
    assert counted.json() == 2
    # Anything else an agent lists is only their own.
    assert (await client.get("/threads", headers=agent.headers)).json()["threads"] == []


async def test_an_agent_reads_replies_the_customer_sees_it_marked_and_the_agent_hands_back(
    client, alice, agent
) -> None:
    await _ask_for_a_person(client, alice, "t1")
    history = (await client.get("/threads/t1/messages", headers=agent.headers)).json()["messages"]
    assert history[-1]["content"] == WAITING_TEXT
    answered = await client.post(
        "/threads/t1/reply", json={"content": "Hi Alice, Sam here."}, headers=agent.headers
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["message"] == {**answered.json()["message"], "author": "sam", "role": "assistant"}
    seen = (await client.get("/threads/t1/messages", headers=alice.headers)).json()["messages"]
    assert (seen[-1]["author"], seen[-1]["content"]) == ("sam", "Hi Alice, Sam here.")
    values = (await client.get("/threads/t1", headers=alice.headers)).json()["values"]
    assert values["messages"][-1]["name"] == "sam"
    waiting = await client.post("/threads/t1/messages", json={"content": "Thanks!"}, headers=alice.headers)
    assert waiting.json()["message"]["content"] == STILL_WAITING_TEXT
    back = await client.post("/threads/t1/reply", json={"then": "bot"}, headers=agent.headers)
    assert back.json()["thread"]["status"] == "idle" and back.json()["message"]["author"] is None
    bot = await client.post(
        "/threads/t1/messages", json={"content": "What's my name?"}, headers=alice.headers
    )
    assert bot.json()["message"]["content"] == "Your name is Alice!"


async def test_agent_chat_ui_resume_is_an_answer_attributed_to_the_caller(client, alice, agent) -> None:
    await _ask_for_a_person(client, alice, "t1")
    run = {
        "assistant_id": "support_agent",
        "command": {"resume": [{"type": "response", "args": "Sam here.", "responder": "someone-else"}]},
    }
    done = await client.post("/threads/t1/runs/wait", json=run, headers=agent.headers)
    assert done.status_code == 200, done.text
    last = done.json()["messages"][-1]
    assert (last["content"], last["name"], last["additional_kwargs"]["threaddesk"]["agent"]) == (
        "Sam here.",
        "sam",
        "sam",
    )
    # Agent Inbox's "Ignore" closes it, streamed.
    await client.post("/threads/t1/messages", json={"content": "One more thing"}, headers=alice.headers)
    ignore = {"assistant_id": "support_agent", "command": {"resume": [{"type": "ignore", "args": None}]}}
    async with client.stream("POST", "/threads/t1/runs/stream", json=ignore, headers=agent.headers) as stream:
        body = "".join([chunk async for chunk in stream.aiter_text()])
    assert stream.status_code == 200 and "sam closed this conversation" in body
    assert (await client.get("/threads/t1", headers=alice.headers)).json()["status"] == "idle"


async def test_two_agents_at_once_one_wins_the_other_gets_409(client, web_desk, alice, agent, agent2) -> None:
    await _ask_for_a_person(client, alice, "t1")
    answers = await asyncio.gather(
        client.post("/threads/t1/reply", json={"content": "Sam here."}, headers=agent.headers),
        client.post("/threads/t1/reply", json={"content": "Tia here."}, headers=agent2.headers),
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    lost = next(a for a in answers if a.status_code == 409)
    assert lost.json()["error"]["code"] == "not_interrupted"
    authors = [
        m["author"]
        for m in (await client.get("/threads/t1/messages", headers=alice.headers)).json()["messages"]
    ]
    assert len([a for a in authors if a]) == 1


async def test_an_agent_cannot_write_as_the_customer_and_a_customer_cannot_answer(
    client, web_desk, alice, agent
) -> None:
    await _ask_for_a_person(client, alice, "t1")
    before = await web_desk.history("t1")
    for method, path, body in [
        ("POST", "/threads/t1/messages", {"content": "I'm Alice and I cancel everything"}),
        ("PATCH", "/threads/t1", {"title": "mine now"}),
        ("DELETE", "/threads/t1", None),
        (
            "POST",
            "/threads/t1/runs/wait",
            {"assistant_id": "support_agent", "input": {"messages": [{"role": "user", "content": "x"}]}},
        ),
        (
            "POST",
            "/threads/t1/runs/wait",
            {
                "assistant_id": "support_agent",
                "command": {"resume": "hi", "update": {"messages": ["forged"]}},
            },
        ),
        ("POST", "/threads/t1/state", {"values": {"messages": [{"role": "user", "content": "forged"}]}}),
        ("POST", "/threads/t1/copy", None),
    ]:
        response = await client.request(method, path, json=body, headers=agent.headers)
        assert response.status_code == 404, (method, path, response.text)
    refused = await client.post("/threads/t1/reply", json={"content": "I am the team"}, headers=alice.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    forged = {
        "assistant_id": "support_agent",
        "command": {"resume": [{"type": "response", "args": "forged"}]},
    }
    resumed = await client.post("/threads/t1/runs/wait", json=forged, headers=alice.headers)
    assert resumed.status_code == 403
    assert await web_desk.history("t1") == before


async def test_me_says_the_role(client, alice, agent, admin) -> None:
    assert (await client.get("/me", headers=agent.headers)).json() == {
        "name": "sam",
        "is_admin": False,
        "role": "agent",
    }
    assert (await client.get("/me", headers=alice.headers)).json()["role"] == "customer"
    assert (await client.get("/me", headers=admin.headers)).json()["role"] == "admin"
