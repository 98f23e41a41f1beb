"""A thread's LangGraph state (`ThreadState`) as LangGraph's server writes it, from the core's snapshot."""

from __future__ import annotations

from typing import Any

import orjson
from langgraph.types import Interrupt, StateSnapshot

from threaddesk.web.langgraph_events import checkpoint_of, json_bytes


def _interrupt(interrupt: Interrupt) -> dict[str, Any]:
    return {"id": interrupt.id, "value": interrupt.value}


def thread_interrupts(state: StateSnapshot) -> dict[str, Any]:
    """A thread's pending interrupts as LangGraph's server lists them on the thread: by task id."""
    return {task.id: [_interrupt(i) for i in task.interrupts] for task in state.tasks if task.interrupts}


def thread_state(state: StateSnapshot) -> dict[str, Any]:
    """The snapshot as `ThreadState` (values, next, tasks, checkpoint, metadata, interrupts...)."""
    return {
        "values": state.values,
        "next": state.next,
        "tasks": [
            {
                "id": task.id,
                "name": task.name,
                "path": task.path,
                "error": task.error,
                "interrupts": [_interrupt(i) for i in task.interrupts],
                "checkpoint": task.state["configurable"]
                if task.state is not None and not isinstance(task.state, StateSnapshot)
                else None,
                "state": thread_state(task.state) if isinstance(task.state, StateSnapshot) else None,
                "result": getattr(task, "result", None),
            }
            for task in state.tasks
        ],
        "metadata": state.metadata,
        "created_at": state.created_at,
        "checkpoint": checkpoint_of(state.config),
        "parent_checkpoint": checkpoint_of(state.parent_config),
        "interrupts": [_interrupt(i) for i in state.interrupts],
        "checkpoint_id": (state.config or {}).get("configurable", {}).get("checkpoint_id"),
        "parent_checkpoint_id": (state.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
    }


def as_json(value: Any) -> Any:
    """`value` (messages and all) as the plain JSON LangGraph's server would send."""
    return orjson.loads(json_bytes(value))
