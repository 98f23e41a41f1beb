"""Threads: the manager, its value types and the registry backends.

`ThreadManager` is imported on first use, so the value types (`threads.models`)
can be used without loading LangGraph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from threaddesk.threads.models import Thread, ThreadPage, ThreadStatus

if TYPE_CHECKING:
    from threaddesk.threads.manager import ThreadManager

__all__ = ["Thread", "ThreadManager", "ThreadPage", "ThreadStatus"]


def __getattr__(name: str) -> Any:
    if name == "ThreadManager":
        from threaddesk.threads.manager import ThreadManager

        return ThreadManager
    raise AttributeError(f"module 'threaddesk.threads' has no attribute {name!r}")
