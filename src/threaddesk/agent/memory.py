"""What the agent remembers of a customer across their threads: preferred name and language.

Opt-in (`THREADDESK_MEMORY`): a thread's state already keeps the name given in
it (`profile.py`); this keeps it, and the language the customer asked to be
answered in, in LangGraph's store under the thread owner's own namespace, so
their next conversation starts knowing them. The owner is the run's
`configurable.user_id` (the desk sets it to the thread's owner; LangGraph's
server to the caller); a run without one remembers nothing. Another user's
threads never see it: the namespace is the owner's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.store.base import BaseStore

from threaddesk.agent.sentences import message_text

PROFILE_KEY = "profile"
LANGUAGES = (
    "Arabic Chinese Czech Danish Dutch English Finnish French German Greek Hebrew Hindi Hungarian"
    " Indonesian Italian Japanese Korean Norwegian Polish Portuguese Romanian Russian Spanish Swedish"
    " Thai Turkish Ukrainian Vietnamese"
).split()
_LANGUAGE = "|".join(LANGUAGES)
_ASKED_LANGUAGE = re.compile(
    rf"\b(?:(?:answer|reply|respond|write|talk|speak)(?: to me)? in|(?:i )?prefer)\s+({_LANGUAGE})\b"
    rf"|\bin ({_LANGUAGE}),? please\b",
    re.IGNORECASE,
)


def asked_language(messages: Sequence[BaseMessage]) -> str | None:
    """The language the customer last asked to be answered in ("Please answer in French"), if any."""
    language = None
    for message in messages:
        if isinstance(message, HumanMessage):
            for match in _ASKED_LANGUAGE.finditer(message_text(message)):
                language = (match.group(1) or match.group(2)).capitalize()
    return language


@dataclass(frozen=True, slots=True)
class Remembered:
    """What is known of a customer beyond this thread."""

    name: str | None = None
    language: str | None = None

    def merged(self, name: str | None, language: str | None) -> Remembered:
        return Remembered(name or self.name, language or self.language)


class CustomerMemory:
    """The customer profile in LangGraph's store, one item per owner at `namespace(owner)`/`profile`."""

    def __init__(self, store: BaseStore, namespace: Callable[[str], tuple[str, ...]]) -> None:
        self.store = store
        self.namespace = namespace

    @staticmethod
    def owner(config: Mapping[str, Any]) -> str | None:
        owner = (config.get("configurable") or {}).get("user_id")
        return owner if isinstance(owner, str) and owner else None

    @staticmethod
    def _read(value: Mapping[str, Any] | None) -> Remembered:
        value = value or {}
        name, language = value.get("name"), value.get("language")
        return Remembered(
            name if isinstance(name, str) else None, language if isinstance(language, str) else None
        )

    async def arecall(self, config: Mapping[str, Any]) -> Remembered:
        owner = self.owner(config)
        if owner is None:
            return Remembered()
        item = await self.store.aget(self.namespace(owner), PROFILE_KEY)
        return self._read(item.value if item else None)

    def recall(self, config: Mapping[str, Any]) -> Remembered:
        owner = self.owner(config)
        if owner is None:
            return Remembered()
        item = self.store.get(self.namespace(owner), PROFILE_KEY)
        return self._read(item.value if item else None)

    async def aremember(self, config: Mapping[str, Any], before: Remembered, now: Remembered) -> None:
        """Write `now` if it differs from what was recalled (`before`): most turns write nothing."""
        owner = self.owner(config)
        if owner is not None and now != before:
            await self.store.aput(self.namespace(owner), PROFILE_KEY, _value(now))

    def remember(self, config: Mapping[str, Any], before: Remembered, now: Remembered) -> None:
        owner = self.owner(config)
        if owner is not None and now != before:
            self.store.put(self.namespace(owner), PROFILE_KEY, _value(now))


def _value(remembered: Remembered) -> dict[str, Any]:
    return {
        key: value for key, value in (("name", remembered.name), ("language", remembered.language)) if value
    }


def with_language(system_prompt: str, language: str | None) -> str:
    """The system prompt, plus the language the customer wants to be answered in."""
    return f"{system_prompt}\nAnswer the customer in {language}." if language else system_prompt
