"""Where a turn's time goes: hand-offs to threads, statements, commits, LangGraph's run vs ours.

Runs `--threads` threads x `--turns` turns through `SupportDesk.send` (the
offline model), one caller, after a warm-up thread, and prints per turn:

- CPU ms (`time.process_time`: every thread of the process) and wall ms;
- worker-thread hand-offs (`asyncio.to_thread` and `loop.run_in_executor` calls);
- SQL statements and commits (SQLite: the connection's trace callback; PostgreSQL:
  psycopg cursor executions, pipelines and transaction blocks);
- wall ms inside LangGraph's graph run (`service._graph_stream`), of which in the
  checkpointer's async methods, and the rest (threaddesk around the graph);
- with `--cprofile`, the top functions by own time.

The same numbers for plain LangGraph (`SqliteSaver`, `durability="exit"`, WAL +
`synchronous=NORMAL`: `bench/inprocess.py`'s `lg-sqlite-tuned`) are printed
beside, so a regression shows as a ratio. Run it after changing the turn path:

    python bench/profile.py                          # SQLite, 200 threads x 2 turns
    python bench/profile.py --cprofile               # and where the CPU goes
    python bench/profile.py --database-url postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import sys

# This file's name shadows the standard library's `profile`, which `cProfile` imports:
# import it with this directory off the path first.
_here = sys.path.pop(0)
import cProfile  # noqa: E402
import pstats  # noqa: E402

sys.path.insert(0, _here)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import functools  # noqa: E402
import io  # noqa: E402
import sqlite3  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import AsyncIterator, Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _contenders import expected_last, open_contender, script  # noqa: E402


class Tally:
    """Counters and timers the patches below add to while a window is open."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.wall: Counter[str] = Counter()
        self.on = False

    def count(self, key: str, n: int = 1) -> None:
        if self.on:
            self.counts[key] += n

    def add_time(self, key: str, seconds: float) -> None:
        if self.on:
            self.wall[key] += seconds


TALLY = Tally()


def patch_handoffs() -> None:
    """Count every hand-off of work to a worker thread."""
    to_thread = asyncio.to_thread

    @functools.wraps(to_thread)
    async def counted_to_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        TALLY.count("to_thread")
        return await to_thread(func, *args, **kwargs)

    asyncio.to_thread = counted_to_thread  # type: ignore[assignment]
    run_in_executor = asyncio.BaseEventLoop.run_in_executor

    def counted_run_in_executor(self: Any, executor: Any, func: Any, *args: Any) -> Any:
        TALLY.count("run_in_executor")
        return run_in_executor(self, executor, func, *args)

    asyncio.BaseEventLoop.run_in_executor = counted_run_in_executor  # type: ignore[method-assign]


def trace_sqlite(conn: sqlite3.Connection) -> None:
    def traced(sql: str) -> None:
        if sql.startswith("--"):  # a statement a trigger (the search index's) runs
            TALLY.count("trigger statements")
            return
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        TALLY.count("statements")
        if head in ("COMMIT", "END"):
            TALLY.count("commits")
        elif head == "BEGIN":
            TALLY.count("begins")

    conn.set_trace_callback(traced)


def patch_psycopg() -> None:
    """Count statements (cursor executions), pipelines and transactions on PostgreSQL."""
    import psycopg

    for cls in (psycopg.AsyncCursor, psycopg.AsyncClientCursor):
        for name in ("execute", "executemany"):
            original = getattr(cls, name)

            def make(original: Any) -> Any:
                @functools.wraps(original)
                async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
                    TALLY.count("statements")
                    return await original(self, *args, **kwargs)

                return counted

            setattr(cls, name, make(original))
    commit = psycopg.AsyncConnection.commit

    async def counted_commit(self: Any) -> None:
        TALLY.count("commits")
        await commit(self)

    psycopg.AsyncConnection.commit = counted_commit  # type: ignore[method-assign]
    exit_ = psycopg.AsyncTransaction.__aexit__

    async def counted_exit(self: Any, *args: Any) -> Any:
        TALLY.count("transactions")
        return await exit_(self, *args)

    psycopg.AsyncTransaction.__aexit__ = counted_exit  # type: ignore[method-assign]
    pipeline = psycopg.AsyncConnection.pipeline

    @contextlib.asynccontextmanager
    async def counted_pipeline(self: Any) -> AsyncIterator[Any]:
        TALLY.count("pipelines")
        async with pipeline(self) as p:
            yield p

    psycopg.AsyncConnection.pipeline = counted_pipeline  # type: ignore[method-assign]


def patch_graph_timer() -> None:
    """Time spent inside LangGraph's graph run, as the service drives it."""
    from threaddesk import service

    original = service._graph_stream

    async def timed(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        parts = original(*args, **kwargs)
        try:
            while True:
                t0 = time.perf_counter()
                try:
                    part = await parts.__anext__()
                except StopAsyncIteration:
                    TALLY.add_time("graph", time.perf_counter() - t0)
                    return
                TALLY.add_time("graph", time.perf_counter() - t0)
                yield part
        finally:
            await parts.aclose()

    service._graph_stream = timed  # type: ignore[assignment]


def patch_saver_timer(saver: Any) -> None:
    """Time the checkpointer's async methods (their round trips) on this saver object."""
    for name in ("aget_tuple", "aput", "aput_writes"):
        original = getattr(saver, name)

        def make(original: Any, name: str) -> Any:
            async def timed(*args: Any, **kwargs: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    TALLY.add_time("saver", time.perf_counter() - t0)
                    TALLY.count(f"saver.{name}")

            return timed

        setattr(saver, name, make(original, name))


async def measure(name: str, url: str | None, threads: int, turns: int, profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="threaddesk-profile-") as tmp:
        settings = {"database_url": url} if url else {}
        async with open_contender(name, Path(tmp), **settings) as c:
            if c.extra and "desk" in c.extra:
                desk = c.extra["desk"]
                db = getattr(desk.threads.registry, "db", None)
                if isinstance(getattr(db, "conn", None), sqlite3.Connection):
                    trace_sqlite(db.conn)
                patch_saver_timer(desk.threads.checkpointer)
            elif c.extra and "conn" in c.extra:
                trace_sqlite(c.extra["conn"])
            scripts = [script(i, turns) for i in range(threads)]
            for text in script(threads, 2):
                await c.turn(threads, "warmup", text) if c.is_async else c.turn(threads, "warmup", text)
            last = [""] * threads
            profiler = cProfile.Profile() if profile else None
            TALLY.counts.clear()
            TALLY.wall.clear()
            TALLY.on = True
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for k in range(turns):
                for i in range(threads):
                    if c.is_async:
                        last[i] = await c.turn(i, f"t{i}", scripts[i][k])
                    else:
                        last[i] = c.turn(i, f"t{i}", scripts[i][k])
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            TALLY.on = False
            if any(last[i] != expected_last(i) for i in range(threads)):
                raise SystemExit(f"{name}: a thread's last reply does not name its customer")
    n = threads * turns
    row: dict[str, Any] = {
        "contender": name,
        "turns": n,
        "cpu_ms": cpu / n * 1000,
        "wall_ms": wall / n * 1000,
        **{key: value / n for key, value in TALLY.counts.items()},
        **{f"{key}_ms": value / n * 1000 for key, value in TALLY.wall.items()},
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        row["cprofile"] = out.getvalue()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--database-url", help="threaddesk's database (default: a SQLite file)")
    parser.add_argument("--baseline", default="lg-sqlite-tuned", help="plain contender beside ('' for none)")
    parser.add_argument("--cprofile", action="store_true", help="print the top functions by own time")
    args = parser.parse_args()
    patch_handoffs()
    patch_graph_timer()
    if args.database_url and args.database_url.startswith("postgres"):
        patch_psycopg()
    names = ["td-postgres" if args.database_url and "postgres" in args.database_url else "td-sqlite"]
    if args.baseline:
        names.append(args.baseline)
    rows = []
    for name in names:
        url = args.database_url if name.startswith("td-") else None
        if name.startswith("lg-postgres") and args.database_url:
            url = args.database_url
        rows.append(asyncio.run(measure(name, url, args.threads, args.turns, args.cprofile)))
    keys = [
        ("cpu_ms", "CPU ms"),
        ("wall_ms", "wall ms"),
        ("graph_ms", "in graph ms"),
        ("saver_ms", "in saver ms"),
        ("to_thread", "to_thread"),
        ("run_in_executor", "executor jobs"),
        ("statements", "statements"),
        ("trigger statements", "  by triggers"),
        ("commits", "commits"),
        ("transactions", "transactions"),
        ("pipelines", "pipelines"),
        ("saver.aget_tuple", "saver reads"),
        ("saver.aput", "saver puts"),
        ("saver.aput_writes", "saver put_writes"),
    ]
    print(f"per turn, {args.threads} threads x {args.turns} turns, one caller")
    print(f"{'':<16}" + "".join(f"{r['contender']:>16}" for r in rows))
    for key, label in keys:
        if not any(key in r for r in rows):
            continue
        print(f"{label:<16}" + "".join(f"{r.get(key, 0):>16.2f}" for r in rows))
    for r in rows:
        if "graph_ms" in r:
            print(
                f"{r['contender']}: around the graph (threaddesk's own)"
                f" {r['wall_ms'] - r['graph_ms']:.2f} ms wall"
            )
    for r in rows:
        if "cprofile" in r:
            print(f"\n--- {r['contender']}: top functions by own time ---\n{r['cprofile']}")


if __name__ == "__main__":
    main()
