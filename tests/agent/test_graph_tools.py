"""The support graph's tool loop: its shape, its routing, the context each call sees, the cap on
rounds, and a provider-shaped model (anything with `bind_tools`) using the same tools."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END

from threaddesk import open_desk
from threaddesk.agent.graph import MAX_TOOL_ROUNDS, build_agent, recent_context, route_after_agent
from threaddesk.agent.offline import OfflineChatModel
from threaddesk.agent.orders import DEMO_ORDERS, MemoryOrderBook
from threaddesk.agent.tools import support_tools

DELIVERED = "Order #1042 (Wireless headphones) was delivered on 2026-11-06"


def _tools() -> list:
    return support_tools(MemoryOrderBook(DEMO_ORDERS, owners={"t": "carol"}))


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def test_the_tools_add_one_node_to_the_agent_and_its_handoff() -> None:
    agent = build_agent(OfflineChatModel(), None)
    handoff = {"__start__", "agent", "handoff", "human", "__end__"}
    assert set(agent.get_graph().nodes) == handoff
    with_tools = build_agent(OfflineChatModel(), None, tools=_tools())
    assert set(with_tools.get_graph().nodes) == handoff | {"tools"}
    edges = {(e.source, e.target) for e in with_tools.get_graph().edges}
    assert {("__start__", "agent"), ("agent", "tools"), ("tools", "agent"), ("agent", "__end__")} <= edges
    assert {("agent", "handoff"), ("handoff", "human")} <= edges


def test_route_after_agent_goes_to_the_tools_only_for_a_call() -> None:
    call = AIMessage("", tool_calls=[{"name": "lookup_order", "args": {"order_id": 1}, "id": "x"}])
    assert route_after_agent({"messages": [HumanMessage("hi"), call]}) == "tools"
    assert route_after_agent({"messages": [HumanMessage("hi"), AIMessage("hello")]}) == END
    assert route_after_agent({"messages": []}) == END


async def test_a_graph_turn_with_a_tool_is_four_messages_and_without_one_two() -> None:
    agent = build_agent(OfflineChatModel(), InMemorySaver(), tools=_tools())
    out = await agent.ainvoke({"messages": [HumanMessage("Hi, I'm Carol.")]}, _config("t"))
    assert len(out["messages"]) == 2
    out = await agent.ainvoke({"messages": [HumanMessage("Where is my order 1042?")]}, _config("t"))
    new = out["messages"][2:]
    assert [m.type for m in new] == ["human", "ai", "tool", "ai"]
    assert new[1].tool_calls[0]["id"] == new[2].tool_call_id
    assert new[3].text.startswith(DELIVERED)
    out = await agent.ainvoke({"messages": [HumanMessage("What's my name?")]}, _config("t"))
    assert len(out["messages"]) == 8 and out["messages"][-1].text == "Your name is Carol!"


async def test_on_a_thread_with_no_known_owner_the_tools_tell_nothing() -> None:
    agent = build_agent(OfflineChatModel(), InMemorySaver(), tools=_tools())
    out = await agent.ainvoke({"messages": [HumanMessage("Where is my order 1042?")]}, _config("nobody's"))
    assert out["messages"][2].text.startswith('{"error"')
    assert out["messages"][-1].text.startswith("Sorry, I couldn't check that just now.")


def _tool_turn(i: int) -> list[BaseMessage]:
    call = AIMessage(
        "", id=f"c{i}", tool_calls=[{"name": "lookup_order", "args": {"order_id": i}, "id": f"k{i}"}]
    )
    return [
        HumanMessage(f"q{i}", id=f"h{i}"),
        call,
        ToolMessage("{}", tool_call_id=f"k{i}", id=f"t{i}"),
        AIMessage(f"a{i}", id=f"a{i}"),
    ]


def test_the_context_never_starts_on_a_tool_result_nor_splits_a_call_from_it() -> None:
    history = [m for i in range(10) for m in _tool_turn(i)]
    history.append(HumanMessage("latest", id="last"))
    for budget in range(1, 20):
        context = recent_context(history, max_messages=budget)
        assert isinstance(context[0], HumanMessage) and context[-1].id == "last"
        for i, message in enumerate(context):
            if isinstance(message, ToolMessage):
                assert context[i - 1].tool_calls[0]["id"] == message.tool_call_id
    assert [m.id for m in recent_context(history, max_messages=6)] == ["h9", "c9", "t9", "a9", "last"]


def test_the_turn_under_way_is_whole_in_the_context_whatever_the_budget() -> None:
    """The second call of a tool turn needs its question, call and result, even with a budget of one."""
    history = [*_tool_turn(0), *_tool_turn(1)[:3]]  # turn 1 waits for its answer
    assert [m.id for m in recent_context(history, max_messages=1)] == ["h1", "c1", "t1"]
    assert [m.id for m in recent_context(history, max_messages=1, max_tokens=1)] == ["h1", "c1", "t1"]
    assert [m.id for m in recent_context(history, max_messages=40)] == [m.id for m in history]
    # Without tools nothing changed: the latest message, or the window, as before.
    plain = [HumanMessage("a", id="1"), AIMessage("b", id="2"), HumanMessage("c", id="3")]
    assert [m.id for m in recent_context(plain, max_messages=1)] == ["3"]
    assert [m.id for m in recent_context(plain, max_messages=2)] == ["3"]


class ToolHappyModel(BaseChatModel):
    """A provider-shaped model: it records what `bind_tools` gave it, and calls `lookup_order` every time."""

    bound: ClassVar[list[list[dict[str, Any]]]] = []
    prompts: ClassVar[list[list[BaseMessage]]] = []

    @property
    def _llm_type(self) -> str:
        return "tool-happy"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        type(self).bound.append(formatted)
        return self.bind(tools=formatted, **kwargs)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        type(self).prompts.append(list(messages))
        if not kwargs.get("tools"):  # asked without tools: it must answer in words
            return ChatResult(
                generations=[ChatGeneration(message=AIMessage("I looked it up several times."))]
            )
        n = len(type(self).prompts)
        call = {"name": "lookup_order", "args": {"order_id": 1042}, "id": f"call-{n}"}
        return ChatResult(generations=[ChatGeneration(message=AIMessage("", tool_calls=[call]))])


async def test_a_model_that_keeps_calling_tools_is_made_to_answer() -> None:
    ToolHappyModel.prompts = []
    agent = build_agent(ToolHappyModel(), InMemorySaver(), tools=_tools())
    out = await agent.ainvoke({"messages": [HumanMessage("Where is order 1042?")]}, _config("t"))
    assert out["messages"][-1].text == "I looked it up several times."
    assert sum(1 for m in out["messages"] if isinstance(m, ToolMessage)) == MAX_TOOL_ROUNDS
    assert len(ToolHappyModel.prompts) == MAX_TOOL_ROUNDS + 1


class ScriptedProvider(BaseChatModel):
    """Shaped like a real provider's model: `bind_tools` turns tools into OpenAI schemas passed on each
    call; it asks for a lookup, then answers from the ToolMessage it is given (as an LLM would)."""

    bound: ClassVar[list[list[dict[str, Any]]]] = []
    ids: ClassVar[itertools.count] = itertools.count()

    @property
    def _llm_type(self) -> str:
        return "scripted-provider"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        type(self).bound.append(formatted)
        return self.bind(tools=formatted, **kwargs)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        assert isinstance(messages[0], SystemMessage)
        last = messages[-1]
        if isinstance(last, ToolMessage):
            answer = AIMessage(f"From the shop: {last.text}")
        elif "order" in last.text and kwargs.get("tools"):
            call = {"name": "lookup_order", "args": {"order_id": 1042}, "id": f"prov-{next(self.ids)}"}
            answer = AIMessage("", tool_calls=[call])
        else:
            answer = AIMessage("How can I help?")
        return ChatResult(generations=[ChatGeneration(message=answer)])


async def test_a_real_provider_gets_the_same_tools_through_bind_tools(tmp_path) -> None:
    ScriptedProvider.bound = []
    async with open_desk(database_url=str(tmp_path / "d.sqlite"), model=ScriptedProvider()) as desk:
        await desk.seed_demo_orders()
        reply = await desk.send("c1", "Where is my order?", user_id="carol", create=True)
        [schemas] = ScriptedProvider.bound  # bound once, at the first turn
        assert [s["function"]["name"] for s in schemas] == ["lookup_order", "open_ticket", "handoff_to_human"]
        for schema in schemas[:2]:  # whose order it is never comes from the model
            properties = schema["function"]["parameters"]["properties"]
            assert "order_id" in properties and not {"customer", "config", "tool_call_id", "user"} & set(
                properties
            )
        assert reply.text.startswith('From the shop: {"found": true') and "Wireless headphones" in reply.text
        assert reply.thread.message_count == 4
        other = await desk.send("b1", "Where is my order?", user_id="bob", create=True)
        assert other.text == 'From the shop: {"found": false, "order_id": 1042}'
        assert (await desk.send("c1", "hello", user_id="carol")).thread.message_count == 6


class BadArgumentsModel(BaseChatModel):
    """A provider-shaped model that first calls `open_ticket` with a reason the schema does not allow."""

    @property
    def _llm_type(self) -> str:
        return "bad-arguments"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        last = messages[-1]
        if isinstance(last, ToolMessage):
            answer = AIMessage(f"[{last.status}] {last.text[:60]}")
        else:
            call = {"name": "open_ticket", "args": {"order_id": 1042, "reason": "free money"}, "id": "bad"}
            answer = AIMessage("", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=answer)])


async def test_arguments_the_schema_refuses_come_back_as_an_error_result_and_open_nothing() -> None:
    book = MemoryOrderBook(DEMO_ORDERS, owners={"t": "carol"})
    agent = build_agent(BadArgumentsModel(), InMemorySaver(), tools=support_tools(book))
    out = await agent.ainvoke({"messages": [HumanMessage("refund pls")]}, _config("t"))
    assert out["messages"][2].status == "error" and out["messages"][-1].text.startswith("[error]")
    assert await book.tickets("carol") == []


async def test_the_phrasing_table_gets_the_same_replies_with_tools_bound_unless_one_was_called() -> None:
    """Binding the tools changes nothing for a message that asks for none (every turn of the table)."""
    cases = json.loads((Path(__file__).parents[1] / "data" / "offline_phrasings.json").read_text("utf-8"))[
        "cases"
    ]
    plain = build_agent(OfflineChatModel(), InMemorySaver())
    tooled = build_agent(OfflineChatModel(), InMemorySaver(), tools=_tools())
    called = same = 0
    for n, case in enumerate(cases):
        config = _config(f"case-{n}")
        for text in case["say"]:
            before = await plain.ainvoke({"messages": [HumanMessage(text)]}, config)
            after = await tooled.ainvoke({"messages": [HumanMessage(text)]}, config)
            if any(isinstance(m, ToolMessage) for m in after["messages"]):
                called += 1
                break  # the conversations differ from here on
            assert [m.text for m in after["messages"]] == [m.text for m in before["messages"]]
            same += 1
    assert same > 300 and 0 < called < 5  # "Where is my order #1042?" is in the table


async def test_a_models_unstorable_details_are_cleaned_before_the_ticket_is_written() -> None:
    book = MemoryOrderBook(DEMO_ORDERS, owners={"t": "carol"})
    [_, open_ticket] = support_tools(book)
    call = {
        "name": "open_ticket",
        "args": {"order_id": 1042, "reason": "refund", "details": "nul\x00 and \ud800" + "x" * 900},
        "id": "c",
        "type": "tool_call",
    }
    result = await open_ticket.ainvoke(call, _config("t"))
    assert json.loads(result.text)["opened"] is True
    [ticket] = await book.tickets("carol")
    assert ticket.details.startswith("nul and ?") and len(ticket.details) == 500
