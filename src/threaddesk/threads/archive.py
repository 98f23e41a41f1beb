"""The message archive interface: a thread's oldest messages, by position.

A long thread's checkpoint keeps only its recent messages (see
`SupportDesk`), so a turn reads and writes a bounded state however long the
conversation; the older messages move here, once, in order, and are read back
only for the full history. Position p is the thread's p-th message (from 0).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

# How messages are stored: the same serializer LangGraph's savers use.
SERDE = JsonPlusSerializer()


class MessageArchive(ABC):
    """Append-only message rows keyed by (thread_id, position)."""

    @abstractmethod
    async def put(self, thread_id: str, start: int, messages: Sequence[BaseMessage]) -> None:
        """Store `messages` at positions `start`, `start + 1`, ...

        A position stored again is overwritten, so a move that is retried after
        failing half way leaves one copy of each message.
        """

    @abstractmethod
    async def read(self, thread_id: str, start: int, stop: int) -> list[BaseMessage]:
        """The messages at positions `start` <= p < `stop`, oldest first."""

    @abstractmethod
    async def delete(self, thread_ids: Sequence[str]) -> None:
        """Remove every archived message of these threads."""
