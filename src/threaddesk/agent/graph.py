"""The support agent: a LangGraph `StateGraph` over a messages state plus a customer profile.

The system prompt is prepended at call time and never stored, so each thread's
checkpoint holds only that customer's conversation. The model sees a trimmed
context (the latest messages, by count and optionally by tokens) so a turn
costs the same on a long thread as on a new one; the customer's name, once
given, rides along in the system prompt. The service keeps the state itself
bounded by moving old messages to an archive (see `SupportDesk`).
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, trim_messages
from langgraph._internal._runnable import RunnableCallable
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph

from threaddesk.agent.profile import introduced_name, with_profile
from threaddesk.config import DEFAULT_SYSTEM_PROMPT
from threaddesk.errors import ModelUnavailable, ThreadDeskError

AGENT_NAME = "support_agent"
DEFAULT_CONTEXT_MESSAGES = 40


class SupportState(MessagesState):
    """The recent conversation, the customer's name as last given (absent until first looked for),
    and how many older messages were moved to the thread's archive (absent: none).
    """

    customer_name: str | None
    archived_messages: int


def _new_messages(messages: Sequence[BaseMessage]) -> Sequence[BaseMessage]:
    """The messages since the agent last answered: this turn's input."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], AIMessage):
            return messages[i + 1 :]
    return messages


def recent_context(
    messages: Sequence[BaseMessage], *, max_messages: int, max_tokens: int | None = None
) -> list[BaseMessage]:
    """The latest messages that fit the budget, starting on a customer message.

    Only the last `max_messages` are looked at, so the cost does not grow with
    the thread; `max_tokens` (approximate count) trims further.
    """
    window = list(messages[-max_messages:])
    if max_tokens is None:
        # What `trim_messages(window, max_tokens=max_messages, token_counter=len, strategy="last",
        # start_on="human")` returns, without its per-call `inspect.signature` of `len` (~0.2 ms).
        start = next((i for i, message in enumerate(window) if message.type == "human"), len(window))
        return window[start:]
    return trim_messages(
        window, max_tokens=max_tokens, token_counter="approximate", strategy="last", start_on="human"
    )


def model_failure(exc: Exception) -> ThreadDeskError:
    """What the chat model raised, as threaddesk's error: whatever fails in the call is the model's."""
    if isinstance(exc, ThreadDeskError):
        return exc
    return ModelUnavailable(f"the chat model failed: {type(exc).__name__}: {exc}")


def build_agent(
    model: BaseChatModel,
    checkpointer: BaseCheckpointSaver | None,
    *,
    system_prompt: str = DEFAULT_SYSTEM_PROMPT,
    context_messages: int = DEFAULT_CONTEXT_MESSAGES,
    context_tokens: int | None = None,
) -> CompiledStateGraph:
    """Compile the agent: `agent.invoke({"messages": [...]}, {"configurable": {"thread_id": ...}})`.

    Args:
        context_messages: at most this many of the latest messages go to the model.
        context_tokens: if set, also at most this many tokens (approximate count).
    """
    if context_messages < 1 or (context_tokens is not None and context_tokens < 1):
        raise ValueError("context budgets must be positive")

    def prepare(state: SupportState) -> tuple[list[BaseMessage], dict]:
        messages = state["messages"]
        if "customer_name" in state:
            name = introduced_name(_new_messages(messages)) or state["customer_name"]
        else:  # a thread from before profiles existed, or a new one: look once at all of it
            name = introduced_name(messages)
        context = recent_context(messages, max_messages=context_messages, max_tokens=context_tokens)
        prompt = [SystemMessage(content=with_profile(system_prompt, name)), *context]
        return prompt, {"customer_name": name}

    async def respond(state: SupportState) -> dict:
        prompt, update = prepare(state)
        try:
            answer = await model.ainvoke(prompt)
        except Exception as exc:
            raise model_failure(exc) from exc
        return {"messages": [answer], **update}

    def respond_sync(state: SupportState) -> dict:
        prompt, update = prepare(state)
        try:
            answer = model.invoke(prompt)
        except Exception as exc:
            raise model_failure(exc) from exc
        return {"messages": [answer], **update}

    builder = StateGraph(SupportState)
    # LangGraph's own node wrapper reads the functions' signatures once, here; a `RunnableLambda`
    # would read them again on every call.
    builder.add_node("agent", RunnableCallable(respond_sync, respond, name="agent"))
    builder.add_edge(START, "agent")
    return builder.compile(checkpointer=checkpointer, name=AGENT_NAME)
