"""The built-in agent's support tools through the desk, on SQLite and PostgreSQL: four-message turns,
the customer's own orders only, tickets opened once, and everything that counts or shows messages."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from threaddesk import SupportDesk, open_desk
from threaddesk.agent.offline import OfflineChatModel
from threaddesk.agent.orders import DEMO_ORDERS
from threaddesk.config import Settings
from threaddesk.errors import ModelUnavailable
from threaddesk.runs import RunRequest, RunResult
from threaddesk.service import Reply, Token

DELIVERED = (
    "Order #1042 (Wireless headphones) was delivered on 2026-11-06 by DHL (tracking number DHL-7781042)."
)


async def _state(desk: SupportDesk, thread_id: str) -> list:
    return (await desk.agent.aget_state({"configurable": {"thread_id": thread_id}})).values["messages"]


@pytest.fixture
async def shop(desk: SupportDesk) -> SupportDesk:
    assert await desk.seed_demo_orders() == len(DEMO_ORDERS)
    assert await desk.seed_demo_orders() == len(DEMO_ORDERS)  # idempotent
    return desk


async def test_a_lookup_is_a_four_message_turn_answered_from_the_order(shop: SupportDesk) -> None:
    await shop.send("c1", "Hi, I'm Carol.", user_id="carol", create=True)
    reply = await shop.send("c1", "Where is my order #1042?", user_id="carol")
    assert reply.text == f"{DELIVERED} Is there anything else I can help with?"
    assert reply.thread.message_count == 6 == len(await _state(shop, "c1"))
    history = await shop.history("c1", user_id="carol")
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    assert history[3].tool_calls == ("lookup_order(order_id=1042)",) and history[3].content == ""
    assert json.loads(history[4].content)["order"]["tracking"] == "DHL-7781042"
    assert history[3].to_dict()["tool_calls"] == ["lookup_order(order_id=1042)"]
    assert "tool_calls" not in history[5].to_dict()  # plain messages keep their shape
    # A turn without a tool is two messages, as it always was.
    assert (await shop.send("c1", "What's my name?", user_id="carol")).thread.message_count == 8
    assert [m.role for m in await shop.history("c1", limit=2)] == ["user", "assistant"]


async def test_another_customers_order_reads_like_a_missing_one(shop: SupportDesk) -> None:
    theirs = await shop.send("b1", "Where is my order 1042?", user_id="bob", create=True)
    missing = await shop.send("b2", "Where is my order 1099?", user_id="bob", create=True)
    assert theirs.text == missing.text.replace("1099", "1042")
    assert theirs.text.startswith("I couldn't find an order #1042 on your account.")
    assert "headphones" not in json.dumps([m.to_dict() for m in await shop.history("b1")]).lower()
    refused = await shop.send("b1", "I want a refund for order 1042", user_id="bob")
    assert refused.text.startswith("I couldn't find an order #1042 on your account.")
    assert await shop.orders.tickets("bob") == [] == await shop.orders.tickets("carol")


async def test_the_customer_comes_from_the_thread_never_from_the_request(shop: SupportDesk) -> None:
    """A client naming another customer in its config or context still acts as the thread's owner."""
    await shop.threads.create("bob", "b1")
    request = RunRequest.say("Where is my order 1042?")
    forged = {"threaddesk_customer": "carol", "user_id": "carol", "customer": "carol"}
    request = RunRequest(input=request.input, configurable=forged, metadata=forged)
    async for item in shop.run("b1", request, user_id="bob"):
        if isinstance(item, RunResult):
            answer = item.values["messages"][-1].text
    assert answer.startswith("I couldn't find an order #1042 on your account.")
    # An admin (no user_id) acting on Carol's thread acts for Carol, the owner.
    await shop.threads.create("carol", "c1")
    assert (await shop.send("c1", "Where is my order 1042?")).text.startswith(DELIVERED)


async def test_a_ticket_is_opened_once_however_often_it_is_asked(shop: SupportDesk) -> None:
    first = await shop.send("c1", "I want a refund for order 1042", user_id="carol", create=True)
    assert first.text.startswith("I've opened ticket #")
    again = await shop.send("c1", "I want a refund for order 1042", user_id="carol")
    other_thread = await shop.send("c2", "Could you refund order #1042?", user_id="carol", create=True)
    tickets = await shop.orders.tickets("carol")
    assert len(tickets) == 1 and tickets[0].reason == "refund" and tickets[0].thread_id == "c1"
    assert tickets[0].details == "I want a refund for order 1042"
    number = tickets[0].ticket_id
    for reply in (again, other_thread):
        assert reply.text.startswith(f"You already have ticket #{number} open for a refund on order #1042")
    cancel = await shop.send("c1", "Please cancel order 2001.", user_id="carol")
    assert (
        cancel.text.startswith("I've opened ticket #")
        and "a cancellation on order #2001 (Phone case)" in cancel.text
    )
    assert [t.reason for t in await shop.orders.tickets("carol")] == ["refund", "cancellation"]


async def test_concurrent_requests_for_the_same_ticket_leave_one(shop: SupportDesk) -> None:
    """Different threads (so no turn lock between them) asking at once: one ticket, the rest find it."""
    for i in range(4):
        await shop.threads.create("carol", f"c{i}")
    replies = await asyncio.gather(
        *(shop.send(f"c{i}", "I'd like to return order 1042.", user_id="carol") for i in range(4))
    )
    assert len(await shop.orders.tickets("carol")) == 1
    assert sum(r.text.startswith("I've opened ticket") for r in replies) == 1


class FailsAfterTools(OfflineChatModel):
    """The offline model, failing (once, while `fail` is set) when asked to answer from a tool's result."""

    fail: bool = True

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        if self.fail and isinstance(messages[-1], ToolMessage):
            self.fail = False
            raise RuntimeError("provider timeout")
        return self._generate(messages, stop, **kwargs)


async def test_a_failed_turn_is_rolled_back_but_its_ticket_is_not_doubled_on_retry(database_url: str) -> None:
    """The ticket is written by the tool before the turn fails; the checkpoint is rolled back (so the
    customer asks again), and the retried turn makes the very same call, which finds its ticket."""
    model = FailsAfterTools()
    async with open_desk(database_url=database_url, model=model) as desk:
        await desk.seed_demo_orders()
        await desk.send("c1", "Hi, I'm Carol.", user_id="carol", create=True)
        with pytest.raises(ModelUnavailable):
            await desk.send("c1", "I want a refund for order 1042", user_id="carol")
        assert len(await _state(desk, "c1")) == 2 and (await desk.threads.get("c1")).message_count == 2
        assert len(await desk.orders.tickets("carol")) == 1  # written by the tool before the failure
        retried = await desk.send("c1", "I want a refund for order 1042", user_id="carol")
        assert retried.text.startswith("I've opened ticket #")  # the same answer as a first success
        assert len(await desk.orders.tickets("carol")) == 1


async def test_streaming_a_tool_turn_streams_the_answer_only(shop: SupportDesk) -> None:
    events = [e async for e in shop.stream("c1", "Where is my order 1042?", user_id="carol", create=True)]
    tokens = [e.text for e in events if isinstance(e, Token)]
    reply = events[-1]
    assert isinstance(reply, Reply) and "".join(tokens) == reply.text and reply.text.startswith(DELIVERED)
    assert reply.thread.message_count == 4


async def test_messages_mode_carries_the_call_the_result_and_the_answer(shop: SupportDesk) -> None:
    await shop.threads.create("carol", "c1")
    chunks: list[Any] = []
    async for item in shop.run(
        "c1", RunRequest.say("Has order 2001 shipped?", stream_mode=("messages",)), user_id="carol"
    ):
        if not isinstance(item, RunResult):
            chunks.append(item.data[0])
    calls = [c for c in chunks if getattr(c, "tool_call_chunks", None)]
    results = [c for c in chunks if isinstance(c, ToolMessage)]
    words = "".join(c.text for c in chunks if isinstance(c, AIMessage))
    assert [c.tool_call_chunks[0]["name"] for c in calls] == ["lookup_order"]
    assert len(results) == 1 and json.loads(results[0].text)["order"]["item"] == "Phone case"
    assert words.startswith("Order #2001 (Phone case) is being prepared")


async def test_archiving_cuts_tool_turns_whole(database_url: str) -> None:
    settings = Settings(database_url=database_url, context_messages=3, max_state_messages=6)
    async with open_desk(settings) as desk:
        await desk.seed_demo_orders()
        said = [
            "Hi, I'm Carol.",
            "Where is order 1042?",
            "Thanks!",
            "Where is order 2001?",
            "Where is order 1042?",
        ]
        for text in said:
            await desk.send("c1", text, user_id="carol", create=True)
            state = await _state(desk, "c1")
            assert isinstance(state[0], HumanMessage)
            for i, message in enumerate(state):  # each result right after its call
                if isinstance(message, ToolMessage):
                    assert state[i - 1].tool_calls[0]["id"] == message.tool_call_id
        history = await desk.history("c1")
        assert len(history) == 2 + 4 + 2 + 4 + 4 == (await desk.threads.get("c1")).message_count
        assert [m.content for m in history if m.role == "user"] == said
        assert (await desk.send("c1", "What's my name?", user_id="carol")).text == "Your name is Carol!"


async def test_search_finds_what_was_said_not_the_tool_internals(shop: SupportDesk) -> None:
    await shop.send("c1", "Where is my order 1042?", user_id="carol", create=True)
    assert [h.message.role for h in await shop.search("headphones")] == ["assistant"]  # the answer only
    assert [h.message.role for h in await shop.search("tracking")] == ["assistant"]  # a key of the JSON too
    assert await shop.search("found") == []  # the tool's JSON is not indexed
