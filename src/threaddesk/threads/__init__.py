"""Threads: the manager, its value types and the registry backends."""

from threaddesk.threads.manager import ThreadManager
from threaddesk.threads.models import Thread, ThreadPage, ThreadStatus

__all__ = ["Thread", "ThreadManager", "ThreadPage", "ThreadStatus"]
