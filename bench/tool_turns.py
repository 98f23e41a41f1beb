"""Turn latency with and without a support tool: a plain turn, a `lookup_order` turn, an
`open_ticket` turn, on each backend (offline model, one thread per customer, sequential).

    python bench/tool_turns.py [--turns 100] [--postgres URL]

A tool turn is two model calls, one tool call (two to three queries: the thread's owner, the
order, the ticket) and four stored messages instead of two.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from threaddesk import open_desk
from threaddesk.agent.orders import DEMO_ORDERS, Order


async def _run(url: str, turns: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"plain": [], "lookup_order": [], "open_ticket": []}
    async with open_desk(database_url=url) as desk:
        orders = [
            Order(10_000 + i, f"u{i}", "Widget", "shipped", "2026-11-01", "UPS", f"T{i}", "2026-12-01")
            for i in range(turns)
        ]
        assert desk.orders is not None
        await desk.orders.put_orders([*DEMO_ORDERS, *orders])
        for i in range(turns):
            await desk.send(f"bench-{i}", "Hi, I'm Ann.", user_id=f"u{i}", create=True)  # warm the thread
            for kind, text in (
                ("plain", "My parcel is late."),
                ("lookup_order", f"Where is my order {10_000 + i}?"),
                ("open_ticket", f"I want a refund for order {10_000 + i}"),
            ):
                started = time.perf_counter()
                await desk.send(f"bench-{i}", text, user_id=f"u{i}")
                timings[kind].append((time.perf_counter() - started) * 1000)
    return timings


def _report(name: str, timings: dict[str, list[float]]) -> None:
    for kind, ms in timings.items():
        ms = sorted(ms)
        p95 = ms[int(len(ms) * 0.95) - 1]
        print(
            f"{name:9} {kind:13} median {statistics.median(ms):6.2f} ms   p95 {p95:6.2f} ms   (n={len(ms)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--postgres", help="a PostgreSQL URL to measure too (its tables are created)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _report("sqlite", asyncio.run(_run(str(Path(tmp) / "bench.sqlite"), args.turns)))
    if args.postgres:
        _report("postgres", asyncio.run(_run(args.postgres, args.turns)))


if __name__ == "__main__":
    main()
