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

CONTENDERS = (
    "td-sqlite",
    "td-memory",
    "lg-memory",
    "lg-aiosqlite",
    "lg-sqlite",
    "lg-aiosqlite-tuned",
    "lg-sqlite-tuned",
)
SQLITE_CONTENDERS = ("td-sqlite", "lg-aiosqlite", "lg-sqlite", "lg-aiosqlite-tuned", "lg-sqlite-tuned")
# PostgreSQL: give a server URL (`--postgres-url`); each contender gets a database of its own.
POSTGRES_CONTENDERS = ("td-postgres", "lg-postgres", "lg-postgres-tuned")
# The tuned contenders run plain LangGraph the way threaddesk runs itself: one checkpoint per
# turn (`durability="exit"`) and, on SQLite, WAL with `synchronous=NORMAL` (no fsync per commit;
# a power failure may lose the last commits, a process crash loses nothing); on PostgreSQL a
# connection pool as large as threaddesk's (`PG_POOL_SIZE`).
TUNED_DURABILITY = "exit"
PG_POOL_SIZE = 10


def customer(i: int) -> str:
    """A distinct, letters-only name for customer `i` (what the offline model recognises).

    It ends in "o": without it some are words the model will not take for a name ("Cuban",
    "Cubed", "Cuing": 32 of the first 20,000), and those threads failed the isolation check.
    """
    letters = ""
    while True:
        i, r = divmod(i, 26)
        letters = string.ascii_lowercase[r] + letters
        if i == 0:
            break
    return "Cu" + letters + "o"


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


def tune_sqlite(conn: sqlite3.Connection) -> None:
    """threaddesk's own SQLite settings: WAL, and no fsync per commit (`synchronous=NORMAL`)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


@contextlib.asynccontextmanager
async def fresh_postgres(server_url: str, name: str) -> AsyncIterator[str]:
    """A new, empty database on the server at `server_url` for one contender; dropped afterwards."""
    import psycopg

    db = f"bench_{name.replace('-', '_')}_{os.getpid()}"
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as admin:
        await admin.execute(f"DROP DATABASE IF EXISTS {db}")
        await admin.execute(f"CREATE DATABASE {db}")
    base, _, _ = server_url.rpartition("/")
    try:
        yield f"{base}/{db}"
    finally:
        async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as admin:
            await admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


@contextlib.asynccontextmanager
async def open_contender(name: str, workdir: Path, **settings: Any) -> AsyncIterator[Contender]:
    """Open one contender on a fresh database in `workdir`."""
    db = workdir / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if name == "td-postgres" or name.startswith("lg-postgres"):
        server = settings.pop("postgres_url", None) or settings.pop("database_url", None)
        if not server:
            raise SystemExit(f"{name} needs a PostgreSQL server URL (--postgres-url)")
        async with fresh_postgres(server, name) as url:
            async with _open_postgres(name, url, settings) as contender:
                yield contender
    elif name.startswith("td-"):
        from threaddesk import open_desk
        from threaddesk.config import Settings

        settings.pop("postgres_url", None)
        url = "memory" if name == "td-memory" else settings.pop("database_url", None) or str(db)
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
    elif name in ("lg-aiosqlite", "lg-aiosqlite-tuned"):
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        tuned = name.endswith("-tuned")
        options = {"durability": TUNED_DURABILITY} if tuned else {}
        async with AsyncSqliteSaver.from_conn_string(str(db)) as saver:
            if tuned:
                await saver.setup()
                await saver.conn.execute("PRAGMA synchronous=NORMAL")  # WAL: the saver's own setup
            agent = plain_agent(saver)

            async def turn(i: int, thread_id: str, text: str) -> str:
                state = await agent.ainvoke({"messages": [("user", text)]}, _config(thread_id), **options)
                return state["messages"][-1].content

            yield Contender(name, turn, True, db, {"agent": agent})
    elif name in ("lg-sqlite", "lg-sqlite-tuned"):
        from langgraph.checkpoint.sqlite import SqliteSaver

        tuned = name.endswith("-tuned")
        options = {"durability": TUNED_DURABILITY} if tuned else {}
        conn = sqlite3.connect(str(db), check_same_thread=False)
        try:
            if tuned:
                tune_sqlite(conn)
            agent = plain_agent(SqliteSaver(conn))

            def turn(i: int, thread_id: str, text: str) -> str:
                state = agent.invoke({"messages": [("user", text)]}, _config(thread_id), **options)
                return state["messages"][-1].content

            yield Contender(name, turn, False, db, {"agent": agent, "conn": conn})
        finally:
            conn.close()
    else:
        raise SystemExit(f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}")


@contextlib.asynccontextmanager
async def _open_postgres(name: str, url: str, settings: dict[str, Any]) -> AsyncIterator[Contender]:
    if name == "td-postgres":
        from threaddesk import open_desk
        from threaddesk.config import Settings

        async with open_desk(Settings(database_url=url, **settings), model=OfflineChatModel()) as desk:

            async def turn(i: int, thread_id: str, text: str) -> str:
                reply = await desk.send(thread_id, text, user_id=f"user{i}", create=True)
                return reply.text

            yield Contender(name, turn, True, None, {"desk": desk})
        return
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    if name == "lg-postgres":  # LangGraph's docs: one connection, default durability
        async with AsyncPostgresSaver.from_conn_string(url) as saver:
            await saver.setup()
            agent = plain_agent(saver)

            async def turn(i: int, thread_id: str, text: str) -> str:
                state = await agent.ainvoke({"messages": [("user", text)]}, _config(thread_id))
                return state["messages"][-1].content

            yield Contender(name, turn, True, None, {"agent": agent})
        return
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    async with AsyncConnectionPool(
        url, min_size=PG_POOL_SIZE, max_size=PG_POOL_SIZE, kwargs=kwargs, open=False
    ) as pool:
        await pool.open(wait=True)
        saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
        await saver.setup()
        agent = plain_agent(saver)

        async def turn(i: int, thread_id: str, text: str) -> str:
            state = await agent.ainvoke(
                {"messages": [("user", text)]}, _config(thread_id), durability=TUNED_DURABILITY
            )
            return state["messages"][-1].content

        yield Contender(name, turn, True, None, {"agent": agent})


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
