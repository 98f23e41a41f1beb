"""Bench: what serving several graphs costs a turn.

The same echo graph (no model: the desk's own work is what is timed) served
three ways on a fresh SQLite file: alone, as one of two graphs with each turn
naming its graph (the HTTP API's runs always do), and as one of two graphs
with turns naming none (the desk reads the thread's row to find its graph).
Prints turns/s and the median and p95 latency of each.

    python bench/graphs.py [--turns 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph

from threaddesk import Settings, open_desk


def _echo() -> StateGraph:
    def answer(state: MessagesState) -> dict:
        return {"messages": [AIMessage(content=f"echo: {state['messages'][-1].text}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    return builder


async def _measure(label: str, graphs: dict, name: str | None, turns: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=str(Path(folder) / "bench.sqlite"))
        async with open_desk(settings, graphs=graphs) as desk:
            await desk.send("warm", "hi", user_id="u", create=True, graph_id=name)
            took = []
            start = time.perf_counter()
            for turn in range(turns):
                began = time.perf_counter()
                await desk.send(f"t{turn % 20}", f"turn {turn}", user_id="u", create=True, graph_id=name)
                took.append(time.perf_counter() - began)
            total = time.perf_counter() - start
    took.sort()
    print(
        f"{label:<42} {turns / total:7.1f} turns/s   median {statistics.median(took) * 1000:6.2f} ms"
        f"   p95 {took[int(len(took) * 0.95)] * 1000:6.2f} ms"
    )


async def main(turns: int) -> None:
    one = {"echo": _echo()}
    two = {"echo": _echo(), "other": _echo()}
    await _measure("one graph", one, None, turns)
    await _measure("two graphs, the turn names its graph", two, "echo", turns)
    await _measure("two graphs, the thread's graph looked up", two, None, turns)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    asyncio.run(main(parser.parse_args().turns))
