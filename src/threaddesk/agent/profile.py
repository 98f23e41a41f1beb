"""What the agent keeps about a customer beyond the trimmed context: their name.

The graph stores it in its own state channel (`customer_name`), updated from
each turn's new messages by `introduced_name`, and tells the model in the system
prompt (`with_profile`), so a name given hundreds of turns ago survives context
trimming. `customer_name` is only ever that channel: the name the customer last
introduced themselves by, for any model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.messages import BaseMessage, HumanMessage

from threaddesk.agent.names import name_in
from threaddesk.agent.sentences import message_text

_PROFILE_LINE = "The customer's name is {name}."
_PROFILE = re.compile(r"^The customer's name is (.+)\.$", re.MULTILINE)


def introduced_name(messages: Sequence[BaseMessage]) -> str | None:
    """The latest name the customer introduced themselves by in these messages (theirs only)."""
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
