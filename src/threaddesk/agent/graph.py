"""The support agent: a LangGraph `StateGraph` over a messages state plus a customer profile.

The system prompt is prepended at call time and never stored, so each thread's
checkpoint holds only that customer's conversation. The model sees a trimmed
context (the latest messages, by count and optionally by tokens) so a turn
costs the same on a long thread as on a new one; the customer's name, once
given, rides along in the system prompt. The service keeps the state itself
bounded by moving old messages to an archive (see `SupportDesk`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, trim_messages
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph

from threaddesk.agent.memory import CustomerMemory, Remembered, asked_language, with_language
from threaddesk.agent.profile import introduced_name, with_profile
from threaddesk.agent.run_settings import AgentContext, RunSettings, run_settings
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
        return trim_messages(
            window, max_tokens=max_messages, token_counter=len, strategy="last", start_on="human"
        )
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
    model_for: Callable[[str], BaseChatModel] | None = None,
    memory: CustomerMemory | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile the agent: `agent.invoke({"messages": [...]}, {"configurable": {"thread_id": ...}})`.

    Args:
        context_messages: at most this many of the latest messages go to the model.
        context_tokens: if set, also at most this many tokens (approximate count).
        model_for: the chat model for a run whose assistant names one (`provider:model`), cached by
            the caller; without it, every run uses `model`.
        memory: if given, the customer's name and language outlive the thread (opt-in).

    These are the defaults: a run's context (its assistant's, merged with its own) may set the
    prompt, model, context window and tools per run (`run_settings.AgentContext`).
    """
    if context_messages < 1 or (context_tokens is not None and context_tokens < 1):
        raise ValueError("context budgets must be positive")
    defaults = RunSettings(system_prompt, context_messages, context_tokens)

    def prepare(state: SupportState, settings: RunSettings, remembered: Remembered) -> tuple[list, dict]:
        messages = state["messages"]
        if "customer_name" in state:
            name = introduced_name(_new_messages(messages)) or state["customer_name"]
        else:  # a thread from before profiles existed, or a new one: look once at all of it
            name = introduced_name(messages)
        name = name or remembered.name
        # The language is kept only by the (opt-in) memory: without it, the graph keeps no language.
        language = (asked_language(_new_messages(messages)) or remembered.language) if memory else None
        context = recent_context(
            messages, max_messages=settings.context_messages, max_tokens=settings.context_tokens
        )
        instructions = with_language(with_profile(settings.system_prompt, name), language)
        prompt = [SystemMessage(content=instructions), *context]
        return prompt, {"customer_name": name}

    async def respond(state: SupportState, config: RunnableConfig) -> dict:
        settings, chosen = _per_run(config, defaults, model, model_for)
        remembered = await memory.arecall(config) if memory is not None else Remembered()
        prompt, update = prepare(state, settings, remembered)
        try:
            answer = await chosen.ainvoke(prompt)
        except Exception as exc:
            raise model_failure(exc) from exc
        if memory is not None:
            told = asked_language(_new_messages(state["messages"]))
            await memory.aremember(config, remembered, remembered.merged(update["customer_name"], told))
        return {"messages": [answer], **update}

    def respond_sync(state: SupportState, config: RunnableConfig) -> dict:
        settings, chosen = _per_run(config, defaults, model, model_for)
        remembered = memory.recall(config) if memory is not None else Remembered()
        prompt, update = prepare(state, settings, remembered)
        try:
            answer = chosen.invoke(prompt)
        except Exception as exc:
            raise model_failure(exc) from exc
        if memory is not None:
            told = asked_language(_new_messages(state["messages"]))
            memory.remember(config, remembered, remembered.merged(update["customer_name"], told))
        return {"messages": [answer], **update}

    builder = StateGraph(SupportState, context_schema=AgentContext)
    builder.add_node("agent", RunnableLambda(respond_sync, afunc=respond, name="agent"))
    builder.add_edge(START, "agent")
    return builder.compile(checkpointer=checkpointer, name=AGENT_NAME)


def _per_run(
    config: RunnableConfig,
    defaults: RunSettings,
    model: BaseChatModel,
    model_for: Callable[[str], BaseChatModel] | None,
) -> tuple[RunSettings, BaseChatModel]:
    """This run's settings (its assistant's and its own, over the desk's) and the model they name.

    Read at call time, not at build time, so one compiled graph serves every assistant.
    """
    settings = run_settings(config, defaults)
    if settings.model is None or model_for is None:
        return settings, model
    try:
        return settings, model_for(settings.model)
    except Exception as exc:
        raise model_failure(exc) from exc
