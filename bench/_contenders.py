"""The contenders every benchmark runs side by side, behind one small interface.

threaddesk runs through its public service (`open_desk` -> `SupportDesk.send`),
so every turn pays for the registry, ownership check and per-thread lock.
Plain LangGraph is the tutorial agent: `StateGraph(MessagesState)` with one
node calling the SAME `OfflineChatModel` (with the same system prompt), compiled
with `InMemorySaver`, `AsyncSqliteSaver` or the sync `SqliteSaver`, invoked with
LangGraph's defaults (durability "async").
"""

from __future__ import annotations

import contextlib
import os
import resource
import sqlite3
import string
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import SystemMessage

from threaddesk.agent.offline import OfflineChatModel
from threaddesk.config import DEFAULT_SYSTEM_PROMPT

CONTENDERS = ("td-sqlite", "td-memory", "lg-memory", "lg-aiosqlite", "lg-sqlite")
SQLITE_CONTENDERS = ("td-sqlite", "lg-aiosqlite", "lg-sqlite")


def customer(i: int) -> str:
    """A distinct, letters-only name for customer `i` (what the offline model recognises)."""
    letters = ""
    while True:
        i, r = divmod(i, 26)
        letters = string.ascii_lowercase[r] + letters
        if i == 0:
            break
    return "Cu" + letters


def script(i: int, turns: int) -> list[str]:
    """Customer i's messages: an introduction, an issue, chatter, and finally "What's my name?"."""
    if turns < 2:
        raise ValueError("a script needs at least 2 turns")
    lines = [f"Hi, I'm {customer(i)}."]
    if turns > 2:
        lines.append(f"My order {i} arrived broken.")
    while len(lines) < turns - 1:
        lines.append(f"It was order {i}, the box was crushed ({len(lines)}).")
    lines.append("What's my name?")
    return lines


def expected_last(i: int) -> str:
    return f"Your name is {customer(i)}!"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Contender:
    """`turn(i, thread_id, text) -> reply text`; `is_async` says whether to await it."""

    name: str
    turn: Callable[..., Any]
    is_async: bool
    db_path: Path | None = None
    extra: dict[str, Any] | None = None


def plain_agent(checkpointer: Any) -> Any:
    """The LangGraph tutorial's chatbot, on the same offline model and system prompt."""
    from langgraph.graph import START, MessagesState, StateGraph

    llm = OfflineChatModel()
    system = SystemMessage(content=DEFAULT_SYSTEM_PROMPT)

    async def achatbot(state: MessagesState) -> dict:
        return {"messages": [await llm.ainvoke([system, *state["messages"]])]}

    def chatbot(state: MessagesState) -> dict:
        return {"messages": [llm.invoke([system, *state["messages"]])]}

    from langchain_core.runnables import RunnableLambda

    builder = StateGraph(MessagesState)
    builder.add_node("chatbot", RunnableLambda(chatbot, afunc=achatbot, name="chatbot"))
    builder.add_edge(START, "chatbot")
    return builder.compile(checkpointer=checkpointer)


def _config(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


@contextlib.asynccontextmanager
async def open_contender(name: str, workdir: Path, **settings: Any) -> AsyncIterator[Contender]:
    """Open one contender on a fresh database in `workdir`."""
    db = workdir / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if name.startswith("td-"):
        from threaddesk import open_desk
        from threaddesk.config import Settings

        url = "memory" if name == "td-memory" else str(db)
        async with open_desk(Settings(database_url=url, **settings), model=OfflineChatModel()) as desk:

            async def turn(i: int, thread_id: str, text: str) -> str:
                reply = await desk.send(thread_id, text, user_id=f"user{i}", create=True)
                return reply.text

            yield Contender(name, turn, True, None if url == "memory" else db, {"desk": desk})
    elif name == "lg-memory":
        from langgraph.checkpoint.memory import InMemorySaver

        agent = plain_agent(InMemorySaver())

        async def turn(i: int, thread_id: str, text: str) -> str:
            state = await agent.ainvoke({"messages": [("user", text)]}, _config(thread_id))
            return state["messages"][-1].content

        yield Contender(name, turn, True, None, {"agent": agent})
    elif name == "lg-aiosqlite":
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(str(db)) as saver:
            agent = plain_agent(saver)

            async def turn(i: int, thread_id: str, text: str) -> str:
                state = await agent.ainvoke({"messages": [("user", text)]}, _config(thread_id))
                return state["messages"][-1].content

            yield Contender(name, turn, True, db, {"agent": agent})
    elif name == "lg-sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        conn = sqlite3.connect(str(db), check_same_thread=False)
        try:
            agent = plain_agent(SqliteSaver(conn))

            def turn(i: int, thread_id: str, text: str) -> str:
                state = agent.invoke({"messages": [("user", text)]}, _config(thread_id))
                return state["messages"][-1].content

            yield Contender(name, turn, False, db, {"agent": agent})
        finally:
            conn.close()
    else:
        raise SystemExit(f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}")


def db_stats(db: Path | None) -> dict[str, Any]:
    """Size of a SQLite file (with its WAL) and its checkpoint/write row counts."""
    if db is None or not db.exists():
        return {}
    conn = sqlite3.connect(str(db))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db.stat().st_size
        return {
            "db_bytes": size,
            "checkpoint_rows": conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0],
            "write_rows": conn.execute("SELECT count(*) FROM writes").fetchone()[0],
        }
    finally:
        conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]
