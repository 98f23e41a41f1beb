"""A deterministic chat model that needs no network and no key.

Every answer is a pure function of the messages it is given: the model keeps no
state between calls, so one instance serves every thread, and whatever it
"remembers" must have come from that thread's checkpointed history. That makes
it an honest witness for thread isolation.

Bound to tools (`bind_tools`, as any LangChain chat model), it calls them when
the customer asks for what they do (see `agent.actions`) and answers from their
results; unbound, it never calls one.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from threaddesk.agent.actions import answer_from_results, pending_results, tool_call_for
from threaddesk.agent.handoff import handoff_call, handoff_reason
from threaddesk.agent.profile import introduced_name, name_in_prompt
from threaddesk.agent.reading import Act, Sentence, order_numbers, read
from threaddesk.agent.sentences import message_text

_TOKEN = re.compile(r"\S+\s*|\s+")
_QUOTE_LIMIT = 120
_RECALLED_MESSAGES = 3  # a concern told over several messages in a row is recalled whole, up to this many


def known_name(messages: Sequence[BaseMessage]) -> str | None:
    """The name the model may call the customer: the latest they introduced themselves by in these
    messages, else the one the graph's profile states in the system prompt (it outlives trimming)."""
    told = None
    for message in messages:
        if isinstance(message, SystemMessage):
            told = name_in_prompt(message_text(message)) or told
    return introduced_name(messages) or told


def _quote(text: str) -> str:
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 3] + "..."


def _concerns(sentences: Sequence[Sentence]) -> list[str]:
    out: list[str] = []
    for sentence in sentences:
        if sentence.act is Act.CONCERN and sentence.text not in out:
            out.append(sentence.text)
    return out


def _latest_concern(messages: Sequence[Sequence[Sentence]]) -> str | None:
    """The concern as last told: the concern sentences of the latest messages in a row that state one
    ("My parcel never arrived." then "It was order 1042."), at most `_RECALLED_MESSAGES` of them."""
    told: list[list[str]] = []
    for sentences in reversed(messages):
        concerns = _concerns(sentences)
        if concerns:
            told.insert(0, concerns)
        if told and (not concerns or len(told) == _RECALLED_MESSAGES):
            break
    return " ".join(sentence for concerns in told for sentence in concerns) or None


def _recalled_orders(messages: Sequence[Sequence[Sentence]]) -> list[str]:
    """The order numbers of the latest message of the customer's that gave any."""
    for sentences in reversed(messages):
        numbers = list(dict.fromkeys(n for s in sentences for n in order_numbers(s.text)))
        if numbers:
            return numbers
    return []


def _answer_name_question(question: Sentence, name: str | None) -> str:
    if not name:
        return "I don't know your name yet. What should I call you?"
    if question.form == "yes/no":
        return f"Yes, you're {name}!"
    if question.form == "who":
        return f"You're {name}!"
    return f"Your name is {name}!"


def _answer_name_check(asked: str, name: str | None) -> str:
    if not name:
        return "I don't know your name yet. What should I call you?"
    if asked.casefold() in (name.casefold(), name.split()[0].casefold(), name.split()[-1].casefold()):
        return f"Yes, you're {name}!"
    return f"You told me your name is {name}."


def reply_for(messages: Sequence[BaseMessage]) -> str:
    """The offline agent's answer to the last customer message, from these messages only.

    The message is read sentence by sentence (`reading.read`); the answer is to the first of, in
    this order: a question about the customer's name, order number or concern (answered from what
    the customer wrote, this message included); the concern it states (with a greeting by name if
    it also introduces); an introduction; a feeling; goodbye; thanks; a request for help; a
    greeting; a question about the agent; small talk; an acknowledgement. Anything else gets
    "I'm not sure I understood", quoting the message, never a guess.
    """
    human = [message_text(m) for m in messages if isinstance(m, HumanMessage)]
    if not human:
        return "Hello! How can I help you today?"
    read_messages = [read(text) for text in human]
    said = read_messages[-1]
    acts = {s.act: s for s in reversed(said)}  # the first sentence of each act
    name = known_name(messages)
    you = f", {name}" if name else ""
    introduced = Act.INTRODUCTION in acts
    hey = human[-1].lstrip().lower().startswith("hey")

    if Act.NAME_QUESTION in acts:
        return _answer_name_question(acts[Act.NAME_QUESTION], name)
    if Act.NAME_CHECK in acts:
        return _answer_name_check(acts[Act.NAME_CHECK].name or "", name)
    if Act.ORDER_QUESTION in acts:
        numbers = _recalled_orders(read_messages)
        if not numbers:
            return f"You haven't given me an order number yet{you}. What is it?"
        listed = " and ".join(f"#{n}" for n in numbers)
        return f"You mentioned order {listed}."
    if Act.CONCERN_QUESTION in acts:
        concern = _latest_concern(read_messages)
        if not concern:
            return f"You haven't told me about an issue yet{you}. What can I help with?"
        return f'You told me: "{_quote(concern)}"'
    opening = f"{'Hi' if hey else 'Hello'} {name}!" if introduced and name else None
    concerns = _concerns(said)
    if concerns:
        noted = f'I\'ve noted: "{_quote(" ".join(concerns))}" Can you tell me a bit more so I can help?'
        return f"{opening} {noted}" if opening else f"Thanks{you}. {noted}"
    if opening and Act.FEELING in acts:  # "I'm Alice and I'm frustrated"
        return f"{opening} I'm sorry to hear that. Can you tell me what went wrong?"
    if opening:
        return f"{opening} {'What can I do for you?' if hey else 'How can I help?'}"
    if Act.FEELING in acts:
        return f"I'm sorry to hear that{you}. Can you tell me what went wrong?"
    if Act.GOODBYE in acts:
        return f"Goodbye{you}! Thanks for getting in touch."
    if Act.THANKS in acts:
        return f"You're welcome{you}! Is there anything else I can help with?"
    if Act.HELP in acts:
        return f"Of course{you}! What do you need help with?"
    if Act.GREETING in acts:
        return f"Hello again{you}! How can I help?" if name else "Hello! How can I help you today?"
    if Act.ABOUT_THE_AGENT in acts:
        return f"I'm an automated support assistant{you}. How can I help?"
    if Act.SMALL_TALK in acts:
        return f"I'm well, thank you{you}! How can I help?"
    if Act.ACKNOWLEDGEMENT in acts and len(acts) == 1:
        return f"Alright{you}. Is there anything else I can help with?"
    # The words it did not understand are quoted back, so the customer sees what was read.
    unclear = _quote(human[-1].strip())
    return f'I\'m not sure I understood{you}: "{unclear}" Could you tell me a bit more about what you need?'


def respond(messages: Sequence[BaseMessage], tools: Sequence[str] = ()) -> AIMessage:
    """The offline model's message: the `handoff_to_human` call when the customer should get a
    person (`handoff.handoff_reason`: they asked for one, or said a second time that an answer
    failed them), else a call to one of `tools` if the customer asks for one, the answer from the
    tools' results if the messages end on them, else `reply_for`'s reply."""
    reason = handoff_reason(messages)
    if reason is not None:
        return handoff_call(messages, reason)
    call = tool_call_for(messages, tools)
    if call is not None:
        return AIMessage(content="", tool_calls=[call])
    results = pending_results(messages)
    if results is not None:
        return AIMessage(content=answer_from_results(results, known_name(messages)))
    return AIMessage(content=reply_for(messages))


def _tool_names(kwargs: dict[str, Any]) -> list[str]:
    """The names of the tools bound to the call (OpenAI's format, as `bind_tools` writes them)."""
    return [tool["function"]["name"] for tool in kwargs.get("tools") or ()]


def _chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    """The message as it streams: a tool call in one chunk, text word by word."""
    if message.tool_calls:
        chunks = [
            {"name": call["name"], "args": json.dumps(call["args"]), "id": call["id"], "index": i}
            for i, call in enumerate(message.tool_calls)
        ]
        yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=chunks))  # type: ignore[arg-type]
        return
    for token in _TOKEN.findall(message.text):
        yield ChatGenerationChunk(message=AIMessageChunk(content=token))


class OfflineChatModel(BaseChatModel):
    """`respond` as a LangChain chat model, streaming word by word; it hands over to a human by
    calling the `handoff_to_human` tool whether or not that tool is bound (see `respond`)."""

    @property
    def _llm_type(self) -> str:
        return "threaddesk-offline"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """The model with `tools` bound, as for any provider: each call gets them (OpenAI's format)."""
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=respond(messages, _tool_names(kwargs)))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Pure CPU work of microseconds: no executor hop, unlike the default.
        return self._generate(messages, stop, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in _chunks(respond(messages, _tool_names(kwargs))):
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in _chunks(respond(messages, _tool_names(kwargs))):
            if run_manager:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


# LangChain asks `inspect.signature(model._generate / _agenerate)` on every call (does it take
# `run_manager`?); a signature stored on the function is returned without parsing it again.
for _method in (OfflineChatModel._generate, OfflineChatModel._agenerate):
    _method.__signature__ = inspect.signature(_method)  # type: ignore[union-attr]
