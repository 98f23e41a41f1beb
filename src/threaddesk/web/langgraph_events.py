"""A run's stream in LangGraph's server dialect: its event names, payloads and SSE framing.

`RunEvents` turns the core's `RunChunk`s into the `(event, data)` pairs
LangGraph's server sends for the stream modes a client asked for, the way its
`astream_state` does: `messages-tuple` as `messages` events of `[chunk, metadata]`,
`messages` as `messages/metadata` then `messages/partial` (the message so far)
or `messages/complete`, `debug` checkpoints with `checkpoint`/`parent_checkpoint`,
subgraph events as `mode|namespace`. `frame` writes one of them as LangGraph
does: CRLF lines and compact JSON (orjson, the same serializer), so a client sees
the same bytes from either server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import orjson
from langchain_core.messages import BaseMessage, BaseMessageChunk, message_chunk_to_message
from langgraph.types import Send

from threaddesk.errors import ThreadDeskError
from threaddesk.runs import RunChunk

# The stream modes a LangGraph client may ask for; `messages-tuple` and `events` are the server's own.
STREAM_MODES = (
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "events",
    "custom",
    "debug",
    "tasks",
    "checkpoints",
)


def _default(obj: Any) -> Any:
    """What orjson cannot write by itself, written as LangGraph's server writes it."""
    if isinstance(obj, Send):
        return {"node": obj.node, "args": obj.arg}
    if hasattr(obj, "model_dump") and callable(obj.model_dump) and not isinstance(obj, type):
        return obj.model_dump()
    if hasattr(obj, "_asdict") and callable(obj._asdict) and not isinstance(obj, type):
        return obj._asdict()
    if isinstance(obj, ThreadDeskError):
        return {"error": obj.code, "message": str(obj)}
    if isinstance(obj, BaseException):
        return {"error": type(obj).__name__, "message": "An internal error occurred"}
    if isinstance(obj, set | frozenset):
        return list(obj)
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, uuid.UUID | Path):
        return str(obj)
    return None


def json_bytes(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


def frame(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One SSE event as LangGraph's server frames it."""
    head = b"event: " + event.replace("\r", "").replace("\n", "").encode() + b"\r\ndata: "
    tail = b"\r\n" if event_id is None else b"\r\nid: " + event_id.encode() + b"\r\n"
    return head + json_bytes(data) + tail + b"\r\n"


def graph_modes(modes: list[str]) -> tuple[tuple[str, ...], bool]:
    """The graph stream modes to run for the client's `modes`, and whether the event stream is wanted."""
    wanted = [mode for mode in modes if mode not in ("events", "messages-tuple")]
    if "messages-tuple" in modes and "messages" not in wanted:
        wanted.append("messages")
    return tuple(dict.fromkeys(wanted)), "events" in modes


def checkpoint_of(config: Any) -> dict[str, Any] | None:
    """`{checkpoint_id, thread_id, checkpoint_ns}` of a RunnableConfig, or None without a checkpoint id."""
    configurable = (config or {}).get("configurable") or {}
    if not configurable.get("thread_id") or not configurable.get("checkpoint_id"):
        return None
    checkpoint = {"checkpoint_id": configurable["checkpoint_id"], "thread_id": configurable["thread_id"]}
    if "checkpoint_ns" in configurable:
        checkpoint["checkpoint_ns"] = configurable["checkpoint_ns"] or ""
    if "checkpoint_map" in configurable:
        checkpoint["checkpoint_map"] = configurable["checkpoint_map"]
    return checkpoint


def _debug_checkpoint(payload: dict[str, Any]) -> dict[str, Any]:
    tasks = []
    for task in payload.get("tasks", []):
        state = task.get("state")
        if state and state.get("configurable"):
            task = {key: value for key, value in task.items() if key != "state"}
            task["checkpoint"] = state["configurable"]
        tasks.append(task)
    return {
        **payload,
        "checkpoint": checkpoint_of(payload["config"]),
        "parent_checkpoint": checkpoint_of(payload.get("parent_config")),
        "tasks": tasks,
    }


class RunEvents:
    """Translate one run's chunks, remembering the messages `messages` mode has streamed so far."""

    def __init__(self, modes: list[str]) -> None:
        self.modes = modes
        self.tuples = "messages-tuple" in modes
        self._messages: dict[str | None, BaseMessage] = {}

    def __call__(self, chunk: RunChunk) -> Iterator[tuple[str, Any]]:
        mode, data = chunk.mode, chunk.data
        suffix = "|" + "|".join(chunk.namespace) if chunk.namespace else ""
        if mode == "events":
            yield "events", data
        elif mode == "messages":
            if self.tuples:  # wins over `messages` when both are asked for, as on LangGraph's server
                yield "messages" + suffix, data
            else:
                yield from self._message(*data)
        elif mode in self.modes:
            if mode == "debug" and data.get("type") == "checkpoint":
                data = {**data, "payload": _debug_checkpoint(data["payload"])}
            yield mode + suffix, data

    def _message(self, message: BaseMessage, metadata: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        seen = self._messages.get(message.id)
        if seen is None:
            self._messages[message.id] = message
            yield "messages/metadata", {message.id: {"metadata": metadata}}
        else:
            # chunk + chunk is their concatenation (BaseMessage's `+` is typed for prompt building)
            self._messages[message.id] = cast(BaseMessage, seen + message)
        whole = self._messages[message.id]
        if isinstance(message, BaseMessageChunk):
            yield "messages/partial", [message_chunk_to_message(cast(BaseMessageChunk, whole))]
        else:
            yield "messages/complete", [whole]


def raw_frame(event: str, data: bytes, event_id: str | None = None) -> bytes:
    """`frame` of data already written as JSON (a kept or joined event)."""
    head = b"event: " + event.replace("\r", "").replace("\n", "").encode() + b"\r\ndata: "
    tail = b"\r\n" if event_id is None else b"\r\nid: " + event_id.encode() + b"\r\n"
    return head + data + tail + b"\r\n"


class StreamEncoder:
    """A run's stream as LangGraph's server publishes it for joiners (`threaddesk.runs.events.Encoder`):
    the `metadata` event, then each chunk in the run's stream modes, `error` if it fails."""

    def __init__(self, run_id: str, kwargs: Mapping[str, Any]) -> None:
        modes = kwargs.get("stream_mode") or ["values"]
        self.run_id = run_id
        self.translate = RunEvents([modes] if isinstance(modes, str) else list(modes))

    def start(self) -> list[tuple[str, bytes]]:
        return [("metadata", json_bytes({"run_id": self.run_id, "attempt": 1}))]

    def chunk(self, chunk: RunChunk) -> list[tuple[str, bytes]]:
        return [(event, json_bytes(data)) for event, data in self.translate(chunk)]

    def error(self, exc: BaseException) -> list[tuple[str, bytes]]:
        return [("error", json_bytes(exc))]
