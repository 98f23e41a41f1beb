"""A messages graph (MessagesState) that echoes, with a second node, and no model."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph


class ArchivingState(MessagesState):
    archived_messages: int


def answer(state: MessagesState) -> dict:
    said = state["messages"][-1].text
    return {"messages": [AIMessage(content=f"echo: {said}")]}


def check(state: MessagesState) -> dict:
    return {}


def _build(schema: type) -> StateGraph:
    builder = StateGraph(schema)
    builder.add_node("answer", answer)
    builder.add_node("check", check)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", "check")
    return builder


graph = _build(MessagesState).compile()
archiving = _build(ArchivingState).compile()


def _parent() -> StateGraph:
    builder = StateGraph(MessagesState)
    builder.add_node("inner", graph)  # the echo graph as a subgraph
    builder.add_edge(START, "inner")
    return builder


parent = _parent().compile()
