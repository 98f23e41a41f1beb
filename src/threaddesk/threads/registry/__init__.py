"""Thread registry backends behind one interface."""

from threaddesk.threads.registry.base import ThreadRegistry
from threaddesk.threads.registry.memory import MemoryRegistry
from threaddesk.threads.registry.sqlite import SqliteRegistry

__all__ = ["MemoryRegistry", "SqliteRegistry", "ThreadRegistry"]
