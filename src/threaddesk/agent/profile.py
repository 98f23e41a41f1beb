"""What the agent keeps about a customer beyond the trimmed context: their name.

The graph stores it in its own state channel (`customer_name`), updated from
each turn's new messages, and tells the model in the system prompt, so a name
given hundreds of turns ago survives context trimming.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.messages import BaseMessage, HumanMessage

_INTRO = re.compile(
    r"\b(?:i['’]m|i am|my name is|my name's|this is|call me|it['’]s)\s+([A-Za-z][A-Za-z'’-]*)",
    re.IGNORECASE,
)
# Capitalised words that follow "I'm" without being names.
_NOT_NAMES = frozenset(
    "Not Sorry Fine Good Great Okay Ok Here Back Just Still Really Very So Also Having "
    "Trying Looking Writing Calling Contacting Unable Interested Confused Happy Glad "
    "New Your The A An Me Me. Afraid Sure Done Ready Waiting".split()
)
_PROFILE_LINE = "The customer's name is {name}."
_PROFILE = re.compile(r"^The customer's name is ([A-Za-z][A-Za-z'’-]*)\.$", re.MULTILINE)


def message_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(
        part if isinstance(part, str) else str(part.get("text", ""))
        for part in content
        if isinstance(part, str) or part.get("type") == "text"
    )


def name_in(text: str) -> str | None:
    """The name a customer gives in `text` ("I'm Alice", "call me Bob"), if any."""
    found = None
    for match in _INTRO.finditer(text):
        candidate = match.group(1).rstrip("'’-")
        if candidate[:1].isupper() and candidate.capitalize() not in _NOT_NAMES:
            found = candidate
    return found


def name_in_messages(messages: Sequence[BaseMessage]) -> str | None:
    """The latest name the customer gave in these messages (their own words only)."""
    name = None
    for message in messages:
        if isinstance(message, HumanMessage):
            name = name_in(message_text(message)) or name
    return name


def with_profile(system_prompt: str, name: str | None) -> str:
    """The system prompt, plus what we know of the customer."""
    return f"{system_prompt}\n\n{_PROFILE_LINE.format(name=name)}" if name else system_prompt


def name_in_prompt(text: str) -> str | None:
    """The customer's name as `with_profile` wrote it into a system prompt, if there."""
    match = _PROFILE.search(text)
    return match.group(1) if match else None
