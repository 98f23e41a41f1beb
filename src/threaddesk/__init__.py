"""threaddesk: a support agent serving many customers at once, one isolated memory per thread."""

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

__all__ = [
    "ChatMessage",
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
