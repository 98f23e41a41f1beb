"""Copying a thread's LangGraph checkpoints to another thread, on any saver.

LangGraph's `BaseCheckpointSaver.acopy_thread` is optional and the SQLite
saver does not implement it, so this copies through the methods every saver
has: each checkpoint, oldest first, with its parent link, metadata and pending
writes, keeping its id (as LangGraph's server does when it copies a thread).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver


async def copy_checkpoints(saver: BaseCheckpointSaver, source: str, target: str) -> int:
    """Copy every checkpoint of thread `source` to thread `target`; how many were copied."""
    found = [item async for item in saver.alist({"configurable": {"thread_id": source}})]
    for item in reversed(found):  # oldest first, so each parent exists before its child
        configurable: dict[str, Any] = {
            "thread_id": target,
            "checkpoint_ns": item.config["configurable"].get("checkpoint_ns", ""),
        }
        if item.parent_config is not None:
            configurable["checkpoint_id"] = item.parent_config["configurable"]["checkpoint_id"]
        config: RunnableConfig = {"configurable": configurable}
        stored = await saver.aput(
            config, item.checkpoint, item.metadata, dict(item.checkpoint["channel_versions"])
        )
        writes: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        for task_id, channel, value in item.pending_writes or ():
            writes[task_id].append((channel, value))
        for task_id, task_writes in writes.items():
            await saver.aput_writes(stored, task_writes, task_id)
    return len(found)
