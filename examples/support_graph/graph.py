"""A small customer-support graph, written the way LangGraph's docs teach (no threaddesk in it).

Two tools (look an order up, open a refund ticket), a model that may call them,
and LangGraph's prebuilt `ToolNode` running the calls:

    START -> agent -> (tool calls?) -> tools -> agent -> ... -> END

The model is `init_chat_model(SUPPORT_MODEL)` when `SUPPORT_MODEL` is set (e.g.
`openai:gpt-4o-mini`); by default it is `ScriptedSupportModel`, a deterministic
stand-in that calls the same tools, so the example runs offline and in tests.
Serve it with `threaddesk serve --config examples/support_graph/langgraph.json`
(or `langgraph dev` in this directory).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

ORDERS = {
    "1042": {"item": "blue kettle", "status": "shipped", "eta": "Tuesday"},
    "1043": {"item": "toaster", "status": "processing", "eta": "next week"},
}
SYSTEM_PROMPT = "You are a concise support agent. Use the tools to look orders up and to open refund tickets."


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order by its number: what it is, where it is, when it arrives."""
    order = ORDERS.get(order_id)
    if order is None:
        return f"no order {order_id}"
    return f"order {order_id}: {order['item']}, {order['status']}, arriving {order['eta']}"


@tool
def open_ticket(order_id: str, reason: str) -> str:
    """Open a refund ticket for an order, with the customer's reason."""
    if order_id not in ORDERS:
        return f"no order {order_id}: no ticket opened"
    return f"ticket T-{order_id} opened for order {order_id} ({reason})"


TOOLS = [lookup_order, open_ticket]


class ScriptedSupportModel(BaseChatModel):
    """A deterministic chat model that calls the tools: a pure function of the conversation.

    "refund ... order 1042" → `open_ticket`, "order 1042" → `lookup_order`, a tool
    result → a reply built from it, anything else → an offer to help.
    """

    @property
    def _llm_type(self) -> str:
        return "scripted-support"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedSupportModel:
        return self  # it knows its two tools already

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages))])

    def _answer(self, messages: list[BaseMessage]) -> AIMessage:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            return AIMessage(content=f"Here is what I found: {last.text}.")
        text = last.text
        order = re.search(r"\b(\d{4})\b", text)
        turn = sum(1 for m in messages if m.type == "human")
        if order and "refund" in text.lower():
            call = {"name": "open_ticket", "args": {"order_id": order.group(1), "reason": "refund requested"}}
        elif order:
            call = {"name": "lookup_order", "args": {"order_id": order.group(1)}}
        else:
            return AIMessage(
                content=f"Happy to help (message {turn} of this conversation). Which order is it about?"
            )
        return AIMessage(content="", tool_calls=[{**call, "id": f"call_{turn}_{call['name']}"}])


def make_model() -> BaseChatModel:
    spec = os.environ.get("SUPPORT_MODEL", "scripted")
    if spec == "scripted":
        return ScriptedSupportModel()
    from langchain.chat_models import init_chat_model

    return init_chat_model(spec)


model = make_model().bind_tools(TOOLS)


def call_model(state: MessagesState) -> dict:
    response = model.invoke([SystemMessage(content=SYSTEM_PROMPT), *state["messages"]])
    return {"messages": [response]}


builder = StateGraph(MessagesState)
builder.add_node("agent", call_model)
builder.add_node("tools", ToolNode(TOOLS))
builder.add_edge(START, "agent")
builder.add_conditional_edges("agent", tools_condition)
builder.add_edge("tools", "agent")

# Compiled without a checkpointer: the server (threaddesk, or LangGraph's) supplies it.
graph = builder.compile()
