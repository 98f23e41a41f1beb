"""Bench: what a stored assistant costs a turn, and what the opt-in memory costs.

Runs N turns (default 200) on fresh threads of one SQLite desk (offline model) four ways: naming
no assistant, the graph's own assistant, a stored assistant (one lookup per run, its settings merged
into the run's context), and a stored assistant with `THREADDESK_MEMORY` on (a store read, and a
write when the customer gives a name). Prints the median and mean per-turn CPU and wall time.

    python bench/assistants.py
    python bench/assistants.py --turns 500 --database postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from threaddesk import Settings, open_desk
from threaddesk.runs import RunRequest, RunResult

LINES = ["Hi, I'm Maria.", "My parcel never arrived.", "It was order 1042.", "What's my name?"]


async def measure(database: str, turns: int, how: str) -> tuple[float, float, float]:
    settings = Settings(database_url=database, memory=how == "stored + memory", keep_checkpoints=1)
    async with open_desk(settings) as desk:
        assistant_id = None
        if how.startswith("stored"):
            made = await desk.assistants.create(
                "support_agent",
                name="billing",
                context={"system_prompt": "You do billing.", "context_messages": 20},
            )
            assistant_id = made.assistant_id
        elif how == "graph's own":
            assistant_id = "support_agent"
        wall: list[float] = []
        cpu: list[float] = []
        for i in range(turns + 10):
            thread = f"{how.replace(' ', '-').replace('+', 'm').replace(chr(39), '')}-{i // len(LINES)}"
            request = RunRequest.say(LINES[i % len(LINES)], assistant_id=assistant_id)
            t0, c0 = time.perf_counter(), time.process_time()
            async for item in desk.run(thread, request, user_id=f"user{(i // len(LINES)) % 7}", create=True):
                if isinstance(item, RunResult):
                    break
            if i >= 10:  # the first ten warm the caches up
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        return statistics.median(wall), statistics.mean(wall), statistics.median(cpu)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--database", help="a database URL (default: a fresh SQLite file per way)")
    args = parser.parse_args()
    print(f"{'way':<18} {'median ms':>10} {'mean ms':>10} {'cpu ms':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for n, how in enumerate(["no assistant", "graph's own", "stored", "stored + memory"]):
            database = args.database or str(Path(tmp) / f"bench{n}.sqlite")
            median, mean, cpu = await measure(database, args.turns, how)
            print(f"{how:<18} {median * 1000:>10.2f} {mean * 1000:>10.2f} {cpu * 1000:>8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
