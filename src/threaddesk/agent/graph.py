"""The support agent: a LangGraph `StateGraph` over a messages state.

The system prompt is prepended at call time and never stored, so each thread's
checkpoint holds only that customer's conversation.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph

from threaddesk.config import DEFAULT_SYSTEM_PROMPT

AGENT_NAME = "support_agent"


def build_agent(
    model: BaseChatModel,
    checkpointer: BaseCheckpointSaver | None,
    *,
    system_prompt: str = DEFAULT_SYSTEM_PROMPT,
) -> CompiledStateGraph:
    """Compile the agent: `agent.invoke({"messages": [...]}, {"configurable": {"thread_id": ...}})`."""
    system = SystemMessage(content=system_prompt)

    async def respond(state: MessagesState) -> dict:
        reply = await model.ainvoke([system, *state["messages"]])
        return {"messages": [reply]}

    def respond_sync(state: MessagesState) -> dict:
        return {"messages": [model.invoke([system, *state["messages"]])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", RunnableLambda(respond_sync, afunc=respond, name="agent"))
    builder.add_edge(START, "agent")
    return builder.compile(checkpointer=checkpointer, name=AGENT_NAME)
