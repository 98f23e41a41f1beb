"""An archive in a dict: for the in-memory store; gone with the process."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from threaddesk.threads.archive.base import MessageArchive


class MemoryArchive(MessageArchive):
    def __init__(self) -> None:
        self._threads: dict[str, dict[int, BaseMessage]] = {}

    async def put(self, thread_id: str, start: int, messages: Sequence[BaseMessage]) -> None:
        rows = self._threads.setdefault(thread_id, {})
        for offset, message in enumerate(messages):
            rows[start + offset] = message.model_copy(deep=True)

    async def read(self, thread_id: str, start: int, stop: int) -> list[BaseMessage]:
        rows = self._threads.get(thread_id, {})
        return [rows[p].model_copy(deep=True) for p in range(start, stop) if p in rows]

    async def delete(self, thread_ids: Sequence[str]) -> None:
        for thread_id in thread_ids:
            self._threads.pop(thread_id, None)
