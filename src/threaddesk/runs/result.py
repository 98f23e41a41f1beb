"""What a run yields while it goes (`RunChunk`s) and once it is done (`RunResult`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threaddesk.threads.models import Thread


@dataclass(frozen=True, slots=True)
class RunChunk:
    """One item of the graph's stream: its mode, its payload, and the subgraph it came from (if any).

    `mode` is one of the graph's stream modes, or `events` for an item of
    LangChain's event stream.
    """

    mode: str
    data: Any
    namespace: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunResult:
    """A finished run: the thread as it left it, the final state values, and whether it paused.

    `interrupted` means the graph stopped before its end (an `interrupt_before`
    or `interrupt_after` node, or an `interrupt()` call) and waits to be resumed.
    """

    run_id: str
    thread: Thread
    values: dict[str, Any]
    interrupted: bool = False
