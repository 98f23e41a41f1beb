"""Assistants: saved configurations of a graph (LangGraph's), stored with their versions."""

from threaddesk.assistants.interfaces import AssistantStore
from threaddesk.assistants.manager import AssistantManager, AssistantQuery
from threaddesk.assistants.models import Assistant, AssistantVersion, system_assistant_id

__all__ = [
    "Assistant",
    "AssistantManager",
    "AssistantQuery",
    "AssistantStore",
    "AssistantVersion",
    "system_assistant_id",
]
