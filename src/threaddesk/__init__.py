"""threaddesk: a support agent serving many customers at once, one isolated memory per thread.

The names below are imported on first use (PEP 562), so `import threaddesk`
(and with it `threaddesk --help`) does not load LangChain and LangGraph.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threaddesk.agent import OfflineChatModel, build_agent, build_model
    from threaddesk.config import Settings
    from threaddesk.errors import (
        InternalError,
        InvalidArgument,
        InvalidDuration,
        InvalidThreadId,
        MessageTooLarge,
        ModelUnavailable,
        StorageUnavailable,
        ThreadBusy,
        ThreadDeskError,
        ThreadExists,
        ThreadNotFound,
    )
    from threaddesk.service import ChatMessage, Reply, SupportDesk, Token, open_desk
    from threaddesk.sync import ThreadDesk
    from threaddesk.threads import Thread, ThreadManager, ThreadPage, ThreadStatus

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "OfflineChatModel": "threaddesk.agent",
    "build_agent": "threaddesk.agent",
    "build_model": "threaddesk.agent",
    "Settings": "threaddesk.config",
    "InternalError": "threaddesk.errors",
    "InvalidArgument": "threaddesk.errors",
    "InvalidDuration": "threaddesk.errors",
    "InvalidThreadId": "threaddesk.errors",
    "MessageTooLarge": "threaddesk.errors",
    "ModelUnavailable": "threaddesk.errors",
    "StorageUnavailable": "threaddesk.errors",
    "ThreadBusy": "threaddesk.errors",
    "ThreadDeskError": "threaddesk.errors",
    "ThreadExists": "threaddesk.errors",
    "ThreadNotFound": "threaddesk.errors",
    "ChatMessage": "threaddesk.service",
    "Reply": "threaddesk.service",
    "SupportDesk": "threaddesk.service",
    "Token": "threaddesk.service",
    "open_desk": "threaddesk.service",
    "ThreadDesk": "threaddesk.sync",
    "Thread": "threaddesk.threads",
    "ThreadManager": "threaddesk.threads",
    "ThreadPage": "threaddesk.threads",
    "ThreadStatus": "threaddesk.threads",
}

__all__ = [
    "ChatMessage",
    "InternalError",
    "InternalError",
    "InvalidArgument",
    "InvalidDuration",
    "InvalidThreadId",
    "MessageTooLarge",
    "ModelUnavailable",
    "OfflineChatModel",
    "Reply",
    "Settings",
    "StorageUnavailable",
    "SupportDesk",
    "Thread",
    "ThreadBusy",
    "ThreadDesk",
    "ThreadDeskError",
    "ThreadExists",
    "ThreadManager",
    "ThreadNotFound",
    "ThreadPage",
    "ThreadStatus",
    "Token",
    "build_agent",
    "build_model",
    "open_desk",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'threaddesk' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
