"""The support agent: a LangGraph `StateGraph` over a messages state plus a customer profile.

The system prompt is prepended at call time and never stored, so each thread's
checkpoint holds only that customer's conversation. The model sees a trimmed
context (the latest messages, by count and optionally by tokens) so a turn
costs the same on a long thread as on a new one; the customer's name, once
given, rides along in the system prompt. The service keeps the state itself
bounded by moving old messages to an archive (see `SupportDesk`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, trim_messages
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph._internal._runnable import RunnableCallable
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

from threaddesk.agent.handoff import (
    after_agent_to_handoff,
    handoff,
    handoff_to_human,
    human,
    route_start,
)
from threaddesk.agent.memory import CustomerMemory, Remembered, asked_language, with_language
from threaddesk.agent.profile import introduced_name, with_profile
from threaddesk.agent.run_settings import AgentContext, RunSettings, run_settings
from threaddesk.config import DEFAULT_SYSTEM_PROMPT
from threaddesk.errors import ModelUnavailable, ThreadDeskError

AGENT_NAME = "support_agent"
AGENT_DESCRIPTION = "threaddesk's customer-support agent"  # its assistant's, as listed
DEFAULT_CONTEXT_MESSAGES = 40
# Tool rounds in one turn after which the model is asked without its tools, so it must answer
# (a model that keeps calling tools would otherwise run into LangGraph's recursion limit).
MAX_TOOL_ROUNDS = 4


class SupportState(MessagesState):
    """The recent conversation, the customer's name as last given (absent until first looked for),
    and how many older messages were moved to the thread's archive (absent: none); while a person
    of the support team has the conversation, `with_human` (see `threaddesk.agent.handoff`).
    """

    customer_name: str | None
    archived_messages: int
    with_human: bool
    human_agent: str | None


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
    the thread; `max_tokens` (approximate count) trims further. Whole turns only:
    a tool's result never comes first, nor apart from the call that asked for it,
    and the turn under way (its question, calls and results) is always all there,
    whatever the budget.
    """
    turn = _turn_start(messages)
    window = list(messages[min(turn, max(0, len(messages) - max_messages)) :])
    if max_tokens is None:
        # The window holds `max(max_messages, the turn under way)` messages, so this is what
        # `trim_messages(window, max_tokens=len(window), token_counter=len, strategy="last",
        # start_on="human")` returns, without its per-call `inspect.signature` of `len` (~0.2 ms).
        start = next((i for i, message in enumerate(window) if message.type == "human"), len(window))
        context = window[start:]
    else:
        context = trim_messages(
            window, max_tokens=max_tokens, token_counter="approximate", strategy="last", start_on="human"
        )
    if len(context) < len(messages) - turn:  # the turn under way did not fit: it alone, whole
        return list(messages[turn:])
    return context


def _turn_start(messages: Sequence[BaseMessage]) -> int:
    """Where the turn under way starts: its customer message (the end if there is none)."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return i
    return len(messages)


def _tool_rounds(messages: Sequence[BaseMessage]) -> int:
    """How many times the model has called tools in the turn under way."""
    turn = messages[_turn_start(messages) :]
    return sum(1 for m in turn if isinstance(m, AIMessage) and m.tool_calls)


def route_after_agent(state: dict[str, Any]) -> str:
    """Where a turn goes once the agent has spoken: a `handoff_to_human` call to the people, other
    tool calls to the tools, else the turn ends. (One branch per kind of call.)"""
    last = state["messages"][-1] if state.get("messages") else None
    if last is not None and (to := after_agent_to_handoff(last)):
        return to
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    return END


def _bind(model: BaseChatModel, tools: Sequence[Any]) -> Runnable:
    """The model with `tools` bound (`bind_tools`), so a real LLM can call them; a model that binds
    no tools as it is."""
    try:
        return model.bind_tools(list(tools))
    except NotImplementedError:
        return model


def _on_state(node: Callable[[Mapping[str, Any]], dict], name: str) -> RunnableCallable:
    """A node of `threaddesk.agent.handoff` (written for any messages state) as one of this graph's."""

    def run(state: SupportState) -> dict:
        return node(state)

    return _inline(run, name)


def _inline(fn: Callable[[Any], Any], name: str, *, trace: bool = True) -> RunnableCallable:
    """`fn` (quick, pure Python) run where it is called in async runs too: LangGraph sends a
    function with no async twin to the thread pool (`run_in_executor`), two hand-offs a turn for
    the routing alone."""

    async def afn(value: Any) -> Any:
        return fn(value)

    return RunnableCallable(fn, afn, name=name, trace=trace)


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
    tools: Sequence[BaseTool] = (),
    model_for: Callable[[str], BaseChatModel] | None = None,
    memory: CustomerMemory | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile the agent: `agent.invoke({"messages": [...]}, {"configurable": {"thread_id": ...}})`.

    Args:
        context_messages: at most this many of the latest messages go to the model.
        context_tokens: if set, also at most this many tokens (approximate count).
        tools: bound to the model (`bind_tools`) and run by a `tools` node (with `handoff_to_human`,
            which the `handoff` node answers).
        model_for: the chat model for a run whose assistant names one (`provider:model`), cached by
            the caller; without it, every run uses `model`.
        memory: if given, the customer's name and language outlive the thread (opt-in).

    These are the defaults: a run's context (its assistant's, merged with its own) may set the
    prompt, model, context window and tools per run (`run_settings.AgentContext`).
    """
    if context_messages < 1 or (context_tokens is not None and context_tokens < 1):
        raise ValueError("context budgets must be positive")
    defaults = RunSettings(system_prompt, context_messages, context_tokens)
    tools = list(tools)
    bound: dict[tuple[int, tuple[str, ...]], Runnable] = {}  # bind_tools once per model and tool set

    def with_tools(chosen: BaseChatModel, settings: RunSettings, messages: Sequence[BaseMessage]) -> Runnable:
        """The run's model with the tools its settings allow and `handoff_to_human` (which is never
        given to the `ToolNode`: its call goes to the `handoff` node), unless this turn has used up
        its tool rounds: then it must answer."""
        if _tool_rounds(messages) >= MAX_TOOL_ROUNDS:
            return chosen
        allowed = tuple(tool.name for tool in tools if settings.allows(tool.name))
        key = (id(chosen), allowed)
        if key not in bound:
            bound[key] = _bind(chosen, [*(t for t in tools if t.name in allowed), handoff_to_human])
        return bound[key]

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
            answer = await with_tools(chosen, settings, state["messages"]).ainvoke(prompt)
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
            answer = with_tools(chosen, settings, state["messages"]).invoke(prompt)
        except Exception as exc:
            raise model_failure(exc) from exc
        if memory is not None:
            told = asked_language(_new_messages(state["messages"]))
            memory.remember(config, remembered, remembered.merged(update["customer_name"], told))
        return {"messages": [answer], **update}

    builder = StateGraph(SupportState, context_schema=AgentContext)
    # LangGraph's own node wrapper reads the functions' signatures once, here; a `RunnableLambda`
    # would read them again on every call.
    builder.add_node("agent", RunnableCallable(respond_sync, respond, name="agent"))
    builder.add_conditional_edges(
        START, _inline(route_start, "route_start", trace=False), ["agent", "handoff"]
    )
    builder.add_node("handoff", _on_state(handoff, "handoff"))
    builder.add_node("human", _on_state(human, "human"))
    builder.add_edge("handoff", "human")
    builder.add_edge("human", END)
    routed = _inline(route_after_agent, "route_after_agent", trace=False)
    if tools:
        builder.add_node("tools", ToolNode(tools))
        builder.add_conditional_edges("agent", routed, ["handoff", "tools", END])
        builder.add_edge("tools", "agent")
    else:
        builder.add_conditional_edges("agent", routed, ["handoff", END])
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
