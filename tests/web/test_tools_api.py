"""Tool turns over HTTP: the SSE reply is the answer, history lists the call and result, and
LangGraph's `messages` stream mode carries the call, the tool's result and the answer's tokens."""

from __future__ import annotations

import json

from sse_client import parse_sse

from threaddesk import SupportDesk

SSE = {"Accept": "text/event-stream"}
ANSWER_START = "Order #1043 (Espresso machine) is on its way: shipped with UPS"


async def test_sse_streams_the_answer_and_history_keeps_the_call(
    client, web_desk: SupportDesk, alice
) -> None:
    await web_desk.seed_demo_orders()
    await web_desk.threads.create("alice", "t1")
    response = await client.post(
        "/threads/t1/messages",
        json={"content": "Has my order #1043 shipped?"},
        headers={**alice.headers, **SSE},
    )
    events = parse_sse(response.text)
    assert [name for name, _ in events][-1] == "reply"
    streamed = "".join(data["text"] for name, data in events if name == "token")
    reply = events[-1][1]
    assert streamed == reply["message"]["content"] and streamed.startswith(ANSWER_START)
    assert reply["thread"]["message_count"] == 4
    history = (await client.get("/threads/t1/messages", headers=alice.headers)).json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
    assert history[1]["content"] == "" and json.loads(history[2]["content"])["order"]["carrier"] == "UPS"


async def test_langgraph_messages_mode_streams_call_result_and_answer(
    client, web_desk: SupportDesk, bob
) -> None:
    await web_desk.seed_demo_orders()
    thread_id = (await client.post("/threads", json={}, headers=bob.headers)).json()["thread_id"]
    body = {
        "assistant_id": "support_agent",
        "input": {"messages": [{"role": "user", "content": "Where is my order 1044?"}]},
        "stream_mode": ["messages-tuple"],
    }
    response = await client.post(f"/threads/{thread_id}/runs/stream", json=body, headers=bob.headers)
    frames = [f for f in response.text.split("\r\n\r\n") if f.startswith("event: messages")]
    messages = [json.loads(f.split("data: ", 1)[1])[0] for f in frames]
    calls = [m for m in messages if m.get("tool_call_chunks") or m.get("tool_calls")]
    assert calls and calls[0]["tool_calls"][0]["name"] == "lookup_order"
    results = [m for m in messages if m["type"] == "tool"]
    assert len(results) == 1 and json.loads(results[0]["content"])["order"]["item"] == "Running shoes"
    words = "".join(m["content"] for m in messages if m["type"].startswith("AI") and m["content"])
    assert words.startswith("Order #1044 (Running shoes) is being prepared")
    state = (await client.get(f"/threads/{thread_id}/state", headers=bob.headers)).json()
    assert [m["type"] for m in state["values"]["messages"]] == ["human", "ai", "tool", "ai"]
