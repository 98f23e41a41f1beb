"""Turns per second of N `threaddesk serve` replicas sharing one PostgreSQL.

    python bench/postgres_replicas.py --url postgresql://postgres@127.0.0.1:5432/test --replicas 3

Creates a scratch schema, starts the replicas (offline model), sends
`threads x turns` turns over HTTP with `--concurrency` in flight, each to a
random replica, prints the rate, and drops the schema.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.postgres import postgres_schema  # noqa: E402
from support.replicas import add_user, free_port, running, serve_command  # noqa: E402


async def drive(urls: list[str], token: str, threads: int, turns: int, concurrency: int) -> float:
    rng = random.Random(1)
    ids = [f"bench-{i:05d}" for i in range(threads)]
    limits = httpx.Limits(max_connections=concurrency + 10)
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=300, limits=limits
    ) as client:
        gate = asyncio.Semaphore(concurrency)

        async def call(method: str, path: str, body: dict) -> None:
            async with gate:
                response = await client.request(method, f"{rng.choice(urls)}{path}", json=body)
                response.raise_for_status()

        await asyncio.gather(*(call("POST", "/threads", {"thread_id": t}) for t in ids))
        work = [(t, f"Parcel {n} for {t} is late") for t in ids for n in range(turns)]
        rng.shuffle(work)
        started = time.perf_counter()
        await asyncio.gather(*(call("POST", f"/threads/{t}/messages", {"content": text}) for t, text in work))
        return len(work) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True, help="PostgreSQL server URL")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--threads", type=int, default=300)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=60)
    parser.add_argument("--pool-size", type=int, default=5)
    parser.add_argument("--turn-pool-size", type=int, default=10)
    args = parser.parse_args()

    import support.postgres as pg

    pg.SERVER_URL = args.url
    env = {
        "THREADDESK_PG_POOL_SIZE": str(args.pool_size),
        "THREADDESK_PG_TURN_POOL_SIZE": str(args.turn_pool_size),
    }
    with postgres_schema() as url:
        token = add_user(url, "bench")
        ports = [free_port() for _ in range(args.replicas)]
        with running([(serve_command(url, port), port) for port in ports], env=env) as replicas:
            rate = asyncio.run(
                drive([r.url for r in replicas], token, args.threads, args.turns, args.concurrency)
            )
    print(
        f"replicas={args.replicas} pool={args.pool_size}+{args.turn_pool_size} concurrency={args.concurrency}"
        f" turns={args.threads * args.turns}: {rate:.0f} turns/s"
    )


if __name__ == "__main__":
    main()
