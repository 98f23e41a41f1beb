"""Where messages moved out of a thread's checkpoint live: an append-only archive per thread."""

from threaddesk.threads.archive.base import MessageArchive
from threaddesk.threads.archive.memory import MemoryArchive

__all__ = ["MemoryArchive", "MessageArchive"]
