"""A deterministic chat model that needs no network and no key.

Every answer is a pure function of the messages it is given: the model keeps no
state between calls, so one instance serves every thread, and whatever it
"remembers" must have come from that thread's checkpointed history. That makes
it an honest witness for thread isolation.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from threaddesk.agent.profile import message_text as _text
from threaddesk.agent.profile import name_in, name_in_prompt
from threaddesk.agent.profile import name_in_messages as said_name

_NAME_QUESTION = re.compile(
    r"what(?:['’]s| is) my name|who am i\b|do you (?:know|remember) (?:who i am|my name|me)"
    r"|(?:remember|recall) (?:my name|who i am)",
    re.IGNORECASE,
)
_CONFIRMING = re.compile(r"^\s*(?:do|did|can|could) you\b|remember", re.IGNORECASE)
_RECALL_QUESTION = re.compile(
    r"what (?:was|is) my (?:issue|problem|question|request|order)"
    r"|what did i (?:say|ask|tell you|need)|remind me|where were we",
    re.IGNORECASE,
)
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|good (?:morning|afternoon|evening)|howdy)\b", re.IGNORECASE)
_HEY = re.compile(r"^\s*hey\b", re.IGNORECASE)
_THANKS = re.compile(r"\b(?:thanks|thank you|cheers)\b", re.IGNORECASE)
_TOKEN = re.compile(r"\S+\s*|\s+")


def customer_name(messages: Sequence[BaseMessage]) -> str | None:
    """The latest name the customer gave in these messages, else the one a system prompt states."""
    told = None
    for message in messages:
        if isinstance(message, SystemMessage):
            told = name_in_prompt(_text(message)) or told
    return said_name(messages) or told


def _is_substantive(text: str) -> bool:
    """A message that states a concern: not an introduction, greeting, thanks or question."""
    stripped = text.strip()
    return bool(stripped) and not (
        name_in(stripped)
        or stripped.endswith("?")
        or _GREETING.match(stripped)
        and len(stripped.split()) <= 3
        or _THANKS.search(stripped)
        and len(stripped.split()) <= 4
    )


def reply_for(messages: Sequence[BaseMessage]) -> str:
    """The offline agent's answer to the last customer message, from these messages only."""
    human = [_text(m) for m in messages if isinstance(m, HumanMessage)]
    if not human:
        return "Hello! How can I help you today?"
    latest = human[-1].strip()
    name = customer_name(messages)
    you = f", {name}" if name else ""

    if _NAME_QUESTION.search(latest):
        if not name:
            return "I don't know your name yet. What should I call you?"
        if _CONFIRMING.search(latest):
            return f"Yes, you're {name}!"
        if re.search(r"who am i", latest, re.IGNORECASE):
            return f"You're {name}!"
        return f"Your name is {name}!"
    if name_in(latest):
        if _HEY.match(latest):
            return f"Hi {name}! What can I do for you?"
        return f"Hello {name}! How can I help?"
    if _RECALL_QUESTION.search(latest):
        concerns = [text.strip() for text in human[:-1] if _is_substantive(text)]
        if not concerns:
            return f"You haven't told me about an issue yet{you}. What can I help with?"
        return f'You told me: "{concerns[-1]}"'
    if _GREETING.match(latest) and len(latest.split()) <= 3:
        return f"Hello again{you}! How can I help?" if name else "Hello! How can I help you today?"
    if _THANKS.search(latest):
        return f"You're welcome{you}! Is there anything else I can help with?"
    snippet = latest if len(latest) <= 120 else latest[:117] + "..."
    return f'Thanks{you}. I\'ve noted: "{snippet}" Can you tell me a bit more so I can help?'


class OfflineChatModel(BaseChatModel):
    """`reply_for` as a LangChain chat model, streaming word by word."""

    @property
    def _llm_type(self) -> str:
        return "threaddesk-offline"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply_for(messages)))])

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
        for token in _TOKEN.findall(reply_for(messages)):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for token in _TOKEN.findall(reply_for(messages)):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
            if run_manager:
                await run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk
